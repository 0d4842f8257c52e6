"""Scale-out on PostgreSQL + Redis + Celery, end to end on localhost.

The test installs PostgreSQL and Redis with apt when they are missing (root + apt needed, else it fails saying
so), starts private servers on free ports in a temp dir, points a Dagster instance at PostgreSQL
(pipelines/instance/dagster_postgres.yaml), starts two Celery workers, runs 4 identity shards of
``synthetic_renders`` (tiny preset) as 4 runs of ``synthetic_renders_celery``, SIGKILLs the worker that runs the
first step while it runs, and checks that the step is run again by the other worker and that every partition's
output and materialisation exists exactly once, with every run RUN_SUCCESS in the PostgreSQL run storage.
Runtime ~2.5-3 min on 2 cores (most of it is the Redis redelivery window after the kill, set to 60 s here).
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARDS = ["shard_00", "shard_01", "shard_02", "shard_03"]  # tiny preset: identity i is in shard i (8 identities)
VIEWS_PER_IDENTITY = 12
VISIBILITY_TIMEOUT_S = 60  # redelivery window after a worker is lost; must exceed one step (~10 s here)
JOB = "synthetic_renders_celery"


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return cands[-1] if cands else None


def _ensure_installed() -> None:
    """PostgreSQL and Redis binaries, installed with apt-get when missing; pytest.fail with the reason if not."""
    missing = [n for n in ("initdb", "pg_ctl", "redis-server") if _tool(n) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{missing} not installed and cannot install them (needs root and apt-get): "
                    "apt-get install -y postgresql redis-server")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql", "redis-server"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    still = [n for n in ("initdb", "pg_ctl", "redis-server") if _tool(n) is None]
    if r.returncode != 0 or still:
        pytest.fail(f"apt-get install postgresql redis-server failed (rc {r.returncode}, missing {still}): "
                    f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout_s: float, what: str, poll_s: float = 0.3):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Servers:
    """A private PostgreSQL cluster and Redis server in a temp dir (stopped by ``stop``, also after failures)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gasp-scale-"))
        self.pg_port, self.redis_port = _free_port(), _free_port()
        self.pg_data = self.dir / "pg"
        self.redis = None
        self.pg_started = False
        self.as_postgres = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run its tools as the postgres OS user
            shutil.chown(self.dir, user="postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]

    def start(self) -> None:
        pg = lambda *a: subprocess.run(self.as_postgres + list(a), capture_output=True, text=True, check=True)
        pg(_tool("initdb"), "-D", str(self.pg_data), "-U", "gasp", "--auth=trust", "-E", "UTF8")
        pg(_tool("pg_ctl"), "-D", str(self.pg_data), "-l", str(self.dir / "pg.log"), "-w", "-t", "60", "-o",
           f"-p {self.pg_port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
           "start")
        self.pg_started = True
        createdb = str(Path(_tool("initdb")).resolve().parent / "createdb")
        pg(createdb, "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "gasp", "dagster")
        self.redis = subprocess.Popen([_tool("redis-server"), "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                      stdout=open(self.dir / "redis.log", "w"), stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis_port)

        def ping():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False
        _wait(ping, 30, "redis-server")

    def env(self) -> dict[str, str]:
        return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.pg_port), "DAGSTER_PG_USER": "gasp",
                "DAGSTER_PG_PASSWORD": "unused-trust-auth", "DAGSTER_PG_DB": "dagster",
                "GASP_CELERY_BROKER": f"redis://127.0.0.1:{self.redis_port}/0",
                "GASP_CELERY_BACKEND": f"redis://127.0.0.1:{self.redis_port}/1"}

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()
        if self.pg_started:
            subprocess.run(self.as_postgres + [_tool("pg_ctl"), "-D", str(self.pg_data), "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Procs:
    """Subprocesses in their own sessions, killed as process groups at the end."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.procs = env, logs, {}

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        p = self.procs[name]
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()

    def kill_all(self) -> None:
        for name in list(self.procs):
            try:
                self.kill(name)
            except ProcessLookupError:
                pass


@pytest.fixture
def scale_env(tmp_path, monkeypatch):
    _ensure_installed()
    servers = Servers()
    try:
        servers.start()
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "pipelines" / "instance" / "dagster_postgres.yaml", home / "dagster.yaml")
        worker_yaml = yaml.safe_load((REPO / "pipelines" / "instance" / "celery_worker.yaml").read_text())
        transport = worker_yaml["execution"]["config"]["config_source"]["broker_transport_options"]
        transport.update(visibility_timeout=VISIBILITY_TIMEOUT_S, unacked_restore_interval=2)
        (tmp_path / "celery_worker.yaml").write_text(yaml.safe_dump(worker_yaml))
        env = dict(os.environ, **servers.env(), DAGSTER_HOME=str(home), GASP_DATA_ROOT=str(tmp_path / "data"),
                   GASP_PRESET="tiny", PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        for k, v in servers.env().items():
            monkeypatch.setenv(k, v)
        procs = Procs(env, tmp_path)
        yield tmp_path, env, procs
    finally:
        if "procs" in locals():
            procs.kill_all()
        servers.stop()


def _worker_of(event) -> str | None:
    """The Celery worker named in the engine event a worker writes when it starts a step."""
    if "in celery worker" not in (event.message or "") or event.dagster_event is None:
        return None
    meta = event.dagster_event.event_specific_data.metadata
    value = meta.get("Celery worker")
    return getattr(value, "value", getattr(value, "text", None))


def test_celery_workers_postgres_instance_survive_a_killed_worker(scale_env):
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.storage.dagster_run import RunsFilter
    from dagster_postgres import PostgresRunStorage

    tmp_path, env, procs = scale_env
    t0 = time.monotonic()
    dagster = [sys.executable, "-m", "dagster"]
    dagster_celery = [sys.executable, "-c", "from dagster_celery.cli import main; main()"]  # = dagster-celery
    # upstream tables, on the same PostgreSQL instance, before the workers start: the first process to open the fresh
    # database creates Dagster's schema, and two doing it at once can fail ("type run_tags already exists": a worker
    # died of it once on a clean clone, 2026-12-02)
    up = subprocess.run(dagster + ["asset", "materialize", "-m", "pipelines.definitions", "--select",
                                   "synthetic_identities,synthetic_views"], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=300)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    for name in ("w1", "w2"):
        procs.start(name, dagster_celery + ["worker", "start", "-A", "dagster_celery.app", "-y",
                                            str(tmp_path / "celery_worker.yaml"), "-q", "dagster", "-q", "gpu",
                                            "-n", name, "--", "--concurrency=1", "--pool=prefork"])
    for name in ("w1", "w2"):
        _wait(lambda: " ready." in procs.log(name) or procs.procs[name].poll() is not None, 120, f"worker {name}")
        assert procs.procs[name].poll() is None, procs.log(name)[-3000:]
    t_ready = time.monotonic()
    for shard in SHARDS:
        procs.start(f"run_{shard}", dagster + ["job", "execute", "-m", "pipelines.definitions", "-j", JOB,
                                               "--tags", json.dumps({"dagster/partition": shard})])

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)

        def a_step_running_on_a_worker():
            for run in instance.get_runs(RunsFilter(job_name=JOB)):
                events = instance.all_logs(run.run_id)
                workers = [w for w in map(_worker_of, events) if w]
                types = {ev.dagster_event_type for ev in events}
                if workers and dg.DagsterEventType.STEP_START in types \
                        and dg.DagsterEventType.STEP_SUCCESS not in types:
                    return run, workers[-1]
            return None
        victim_run, victim = _wait(a_step_running_on_a_worker, 180, "a step running on a celery worker", 0.2)
        victim_name = victim.split("@")[0]
        done_before_kill = instance.all_logs(victim_run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        procs.kill(victim_name)  # SIGKILL the worker (main process and its pool child) while the step runs
        t_kill = time.monotonic()
        assert not done_before_kill, "the step finished before the worker could be killed"

        for shard in SHARDS:
            p = procs.procs[f"run_{shard}"]
            _wait(lambda: p.poll() is not None, 300, f"run of {shard}")
            assert p.returncode == 0, procs.log(f"run_{shard}")[-4000:]
        t_done = time.monotonic()

        runs = instance.get_runs(RunsFilter(job_name=JOB))
        assert sorted(r.tags["dagster/partition"] for r in runs) == SHARDS  # one run per partition
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [(r.run_id, r.status) for r in runs]

        # the killed step was started again, on the surviving worker, and finished once
        workers_of_victim = [w for w in map(_worker_of, instance.all_logs(victim_run.run_id)) if w]
        assert len(workers_of_victim) == 2 and workers_of_victim[0] == victim and workers_of_victim[1] != victim, \
            workers_of_victim
        starts = instance.all_logs(victim_run.run_id, of_type=dg.DagsterEventType.STEP_START)
        successes = instance.all_logs(victim_run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        assert (len(starts), len(successes)) == (2, 1)
        used = {w.split("@")[0] for r in runs for w in map(_worker_of, instance.all_logs(r.run_id)) if w}
        assert used == {"w1", "w2"}, used  # the partitions were spread over both workers

        # one materialisation per partition in the PostgreSQL event log, nothing duplicated
        key = dg.AssetKey("synthetic_renders")
        for shard in SHARDS:
            mats = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[shard]), limit=10).records
            assert len(mats) == 1, (shard, len(mats))

        # and in the runs table itself, queried with SQL
        import psycopg2

        with psycopg2.connect(host="127.0.0.1", port=env["DAGSTER_PG_PORT"], user="gasp", dbname="dagster") as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT status, count(*) FROM runs WHERE pipeline_name = %s GROUP BY status", (JOB,))
                assert cur.fetchall() == [("SUCCESS", len(SHARDS))]
    finally:
        instance.dispose()

    # every partition's files exist exactly once
    root = Path(env["GASP_DATA_ROOT"]) / "tiny" / "synthetic"
    manifests = sorted(p.name for p in (root / "manifests").iterdir() if not p.name.startswith("."))
    assert manifests == [f"syn_{i:05d}.json" for i in range(len(SHARDS))]
    for i in range(len(SHARDS)):
        for kind in ("images", "masks", "faceids"):
            files = [p for p in (root / kind / f"syn_{i:05d}").iterdir() if not p.name.startswith(".")]
            assert len(files) == VIEWS_PER_IDENTITY, (kind, i, len(files))
    timings = {"workers_ready_s": t_ready - t0, "kill_after_launch_s": t_kill - t_ready,
               "recovered_after_kill_s": t_done - t_kill, "total_s": time.monotonic() - t0}
    print("scale-out timings:", json.dumps({k: round(v, 1) for k, v in timings.items()}))


def test_backfill_arguments(capsys):
    from gasp_ops.errors import GaspInputError
    from pipelines.cli import main
    from pipelines.scale_backfill import backfill_command, partition_keys

    keys = partition_keys("036, 037", "monocular,single_image")
    assert keys == ["monocular|036", "single_image|036", "monocular|037", "single_image|037"]
    for subjects, settings, field in [("", "monocular", "--subjects"), ("1,1", "monocular", "--subjects"),
                                      ("a|b", "monocular", "--subjects"), ("1", "bogus", "--settings")]:
        with pytest.raises(GaspInputError, match=f"^{field}: "):
            partition_keys(subjects, settings)
    with pytest.raises(GaspInputError, match="^--job: "):
        backfill_command("gasp_main", keys)
    cmd = backfill_command("avatar_fitting", keys)
    assert cmd[cmd.index("-j") + 1] == "avatar_fitting" and cmd[cmd.index("--partitions") + 1] == ",".join(keys)
    assert main(["backfill", "--subjects", "036", "--settings", "telepathy"]) == 2
    assert "gasp: error: --settings: unknown settings ['telepathy']" in capsys.readouterr().err


def test_backfill_command_submits_one_queued_run_per_partition(tmp_path):
    """`gasp backfill` on a SQLite instance with a queued run coordinator (no daemon: runs stay QUEUED). ~40 s."""
    import dagster as dg
    from dagster._core.storage.dagster_run import RunsFilter

    home = tmp_path / "home"
    home.mkdir()
    instance_yaml = yaml.safe_load((REPO / "pipelines" / "instance" / "dagster_postgres.yaml").read_text())
    (home / "dagster.yaml").write_text(yaml.safe_dump({"run_coordinator": instance_yaml["run_coordinator"]}))
    env = dict(os.environ, DAGSTER_HOME=str(home),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "pipelines.cli", "backfill", "--subjects", "036,037", "--settings",
           "monocular,single_image"]
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert set(instance.get_dynamic_partitions("subjects")) == {"036", "037"}
        backfills = instance.get_backfills()
        assert len(backfills) == 1
        runs = instance.get_runs(RunsFilter(job_name="avatar_fitting_celery"))
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(
            ["monocular|036", "single_image|036", "monocular|037", "single_image|037"])
        assert all(r.status == dg.DagsterRunStatus.QUEUED for r in runs)
        assert {r.remote_job_origin.location_name for r in runs} == {"gasp"}  # the daemon's workspace location
        assert {r.tags["dagster/backfill"] for r in runs} == {backfills[0].backfill_id}


def test_celery_settings_come_from_the_worker_yaml(monkeypatch):
    """The jobs' executor reads the workers' yaml; unset broker variables are a one-line error naming them."""
    import dagster as dg

    from pipelines.scale import WORKER_CONFIG, celery_settings, synthetic_renders_celery

    monkeypatch.delenv("GASP_CELERY_BROKER", raising=False)
    monkeypatch.setenv("GASP_CELERY_BACKEND", "redis://127.0.0.1:1/1")
    with pytest.raises(dg.DagsterInvariantViolationError,
                       match=r"celery_worker.yaml: .*; set GASP_CELERY_BROKER \(e.g."):
        celery_settings()
    monkeypatch.setenv("GASP_CELERY_BROKER", "redis://127.0.0.1:1/0")
    cfg = celery_settings(WORKER_CONFIG)
    assert cfg["broker"] == "redis://127.0.0.1:1/0"
    assert cfg["config_source"]["task_acks_late"] and cfg["config_source"]["task_reject_on_worker_lost"]
    assert synthetic_renders_celery.executor_def.name == "celery_redis"
