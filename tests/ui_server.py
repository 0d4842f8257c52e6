"""Start ``dagster-webserver`` on localhost for the UI browser test, and always stop it (its whole process group)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# No telemetry (no network) and no first-visit pop-up over the page being screenshotted.
DAGSTER_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


def write_dagster_home(home: Path) -> Path:
    """A fresh DAGSTER_HOME (SQLite storage under it) with telemetry and the first-visit pop-up turned off."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes (zombies left out) whose process group is ``pgid``, read from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def stop_process_group(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """End the process group led by ``proc`` (started with ``start_new_session=True``; for the server: webserver
    and its code-server subprocess): SIGTERM, then SIGKILL to what is still alive after ``grace`` seconds; returns once no member is alive
    (or ``grace`` more seconds have passed)."""
    if not live_group_members(proc.pid) and proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while live_group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if live_group_members(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=grace)
    deadline = time.monotonic() + grace  # SIGKILL is delivered asynchronously: return only once the group is gone
    while live_group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


class Webserver:
    """A started ``dagster-webserver``: its base URL, its log, and a wait for it to serve."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path):
        self.proc, self.url, self.log_path = proc, url, log_path

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def wait_until_serving(self, timeout: float = 180.0) -> None:
        """Poll ``/server_info`` until it answers 200; RuntimeError with the log's tail if the server exits or is
        not up within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not _serves(f"{self.url}/server_info"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                       else f"did not serve within {timeout:.0f} s")
                raise RuntimeError(f"dagster-webserver {why}; log tail:\n{self.log_tail()}")
            time.sleep(0.5)


@contextlib.contextmanager
def dagster_webserver(home: Path, env: dict[str, str], log_path: Path):
    """Start ``dagster-webserver -w workspace.yaml`` (code location ``gasp``) on a free localhost port with
    DAGSTER_HOME=``home``; yield a Webserver at once (call ``wait_until_serving`` before browsing).

    The server's process group (webserver and its code-server subprocess) is stopped on exit, also after a failure.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
           "-p", str(port)]
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield Webserver(proc, f"http://127.0.0.1:{port}", log_path)
    finally:
        stop_process_group(proc)
