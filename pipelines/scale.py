"""Scale-out on existing engines: jobs whose steps run on Celery workers (Redis broker), one step per task.

The instance (runs, event log, schedules) lives in PostgreSQL (``pipelines/instance/dagster_postgres.yaml``); the
Celery settings live in ``pipelines/instance/celery_worker.yaml``, the same file the workers start with, so the
job side and the worker side cannot drift apart. Steps of GPU assets carry the tag ``dagster-celery/queue: gpu``
(``assets_defs/step_tags.py``) and go to workers started with ``-q gpu``; every other step goes to ``dagster``.

A partition is one run, one step per asset: ``synthetic_renders_celery`` renders one identity shard per run and
``avatar_fitting_celery`` fits one subject|setting per run, so a backfill of N partitions spreads over the workers.
The default jobs (``gasp_main`` ...) keep Dagster's default executor and the embedded SQLite instance.

Needs the ``scale`` extra (``pip install -e ".[scale]"``); without it these jobs fail at launch naming the extra.
"""

import os
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.execution.retries import RetryMode

WORKER_CONFIG = Path(__file__).resolve().parent / "instance" / "celery_worker.yaml"


def celery_settings(config_yaml: str | Path = WORKER_CONFIG) -> dict:
    """The validated ``execution.config`` block of a dagster-celery worker yaml (env sources resolved).

    Raises a one-line error naming the file and the missing variable (e.g. ``GASP_CELERY_BROKER``)."""
    try:
        from dagster_celery.cli import get_validated_config
    except ImportError as exc:
        raise dg.DagsterInvariantViolationError(
            'the *_celery jobs need the scale extra: pip install -e ".[scale]" (dagster-celery, redis, '
            f"dagster-postgres) - {exc}") from exc
    path = Path(config_yaml)
    if not path.is_file():
        raise dg.DagsterInvariantViolationError(f"{path}: celery worker config not found")
    try:
        cfg = get_validated_config(str(path))
    except Exception as exc:  # bad key or type: dagster's message names the field
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise dg.DagsterInvariantViolationError(f"{path}: {first}") from exc
    if not cfg or not cfg.get("broker"):  # an unset env source comes back as None, not as an error
        unset = [v["env"] for v in _env_sources(path) if not os.environ.get(v["env"])]
        raise dg.DagsterInvariantViolationError(
            f"{path}: broker/backend not resolved; set {', '.join(unset) or 'execution.config.broker'} "
            "(e.g. redis://localhost:6379/0)")
    return cfg


def _env_sources(path: Path) -> list[dict]:
    config = (yaml.safe_load(path.read_text()) or {}).get("execution", {}).get("config", {})
    return [v for v in config.values() if isinstance(v, dict) and set(v) == {"env"}]


@dg.executor(
    name="celery_redis",
    config_schema={"config_yaml": dg.Field(str, default_value=str(WORKER_CONFIG),
                                           description="dagster-celery worker yaml (broker, backend, settings)")},
    requirements=dg.multiple_process_executor_requirements(),
)
def celery_redis_executor(init_context: dg.InitExecutorContext):
    """dagster-celery's executor configured from the workers' yaml: one Celery task per step, routed by the
    step's ``dagster-celery/queue`` tag; late acknowledgement so a step whose worker died is run again."""
    from dagster_celery.executor import CeleryExecutor

    cfg = celery_settings(init_context.executor_config["config_yaml"])
    return CeleryExecutor(retries=RetryMode.from_config(cfg["retries"]), broker=cfg.get("broker"),
                          backend=cfg.get("backend"), include=cfg.get("include"),
                          config_source=cfg.get("config_source"))


synthetic_renders_celery = dg.define_asset_job(
    "synthetic_renders_celery",
    selection=dg.AssetSelection.assets("synthetic_renders"),
    executor_def=celery_redis_executor,
    description="One identity shard of the synthetic renders per run, on a Celery worker of the gpu queue.",
)

avatar_fitting_celery = dg.define_asset_job(
    "avatar_fitting_celery",
    selection=dg.AssetSelection.groups("fitting"),
    executor_def=celery_redis_executor,
    description="avatar_fit -> avatar_renders for one subject|setting per run, steps on Celery workers.",
)

SCALE_JOBS = [synthetic_renders_celery, avatar_fitting_celery]
