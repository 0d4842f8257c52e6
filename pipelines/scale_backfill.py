"""``gasp backfill``: fit a list of subjects in a list of settings as one Dagster backfill (one run per partition).

The subjects are added to the dynamic ``subjects`` partitions of the instance in ``$DAGSTER_HOME`` (PostgreSQL at
scale, SQLite otherwise), then Dagster's own ``dagster job backfill -w workspace.yaml`` submits one run per
``setting|subject`` partition of the job; the run coordinator queues them and ``dagster-daemon`` launches them. With
``avatar_fitting_celery`` each run's steps go to Celery workers (``gpu`` queue), so N runs spread over the workers.
"""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from assets_defs.partitions import SETTINGS, register_subjects
from gasp_ops.errors import GaspInputError
from gasp_ops.io.safe_paths import check_key

DEFAULT_JOB = "avatar_fitting_celery"
#: The daemon and the webserver load the code location ``gasp`` from here; runs submitted under another location
#: name (e.g. ``-m pipelines.definitions``) are refused by the daemon ("Location ... does not exist in workspace").
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"
BACKFILL_JOBS = ("avatar_fitting_celery", "avatar_fitting")


def _split(name: str, text: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise GaspInputError(name, "empty list (comma-separated values expected)")
    if len(set(items)) != len(items):
        raise GaspInputError(name, f"repeated values in {text!r}")
    return items


def parse_subjects(subjects: str) -> list[str]:
    """``"036,037"`` -> ``["036", "037"]`` (one-line error naming ``--subjects`` on empty/repeated ids and on ids
    that are not keys: ``gasp_ops.io.safe_paths.KEY_PATTERN``, so no '|', '/' or '..' reaches a partition)."""
    subject_list = _split("--subjects", subjects)
    bad = [s for s in subject_list if "|" in s]
    if bad:
        raise GaspInputError("--subjects", f"subject ids may not contain '|': {bad}")
    for s in subject_list:
        check_key("--subjects", s)
    return subject_list


def partition_keys(subjects: str, settings: str) -> list[str]:
    """Multi-partition keys (``setting|subject``) of every subject in every setting, subjects first-major.

    ``subjects``/``settings``: comma-separated lists, e.g. ``"036,037"`` and ``"monocular,single_image"``."""
    subject_list = parse_subjects(subjects)
    setting_list = _split("--settings", settings)
    unknown = [s for s in setting_list if s not in SETTINGS]
    if unknown:
        raise GaspInputError("--settings", f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    return [str(dg.MultiPartitionKey({"subject": s, "setting": t})) for s in subject_list for t in setting_list]


def backfill_command(job: str, keys: list[str], tags: dict[str, str] | None = None) -> list[str]:
    """The ``dagster job backfill`` command line that submits ``keys`` of ``job`` (no prompt)."""
    if job not in BACKFILL_JOBS:
        raise GaspInputError("--job", f"{job!r} is not a subject x setting job; "
                             f"choose one of {', '.join(BACKFILL_JOBS)}")
    if not WORKSPACE.is_file():
        raise GaspInputError("workspace.yaml", f"{WORKSPACE} not found; the backfill's runs must name the code "
                             "location that dagster-daemon loads from it (location 'gasp')")
    cmd = [sys.executable, "-m", "dagster", "job", "backfill", "-w", str(WORKSPACE), "-j", job,
           "--partitions", ",".join(keys), "--noprompt"]
    return cmd + (["--tags", json.dumps(tags)] if tags else [])


def submit_backfill(subjects: str, settings: str, job: str = DEFAULT_JOB, tags: dict[str, str] | None = None) -> int:
    """Register the subjects in the instance's ``subjects`` partitions and submit the backfill; returns the
    exit code of ``dagster job backfill``."""
    keys = partition_keys(subjects, settings)
    cmd = backfill_command(job, keys, tags)
    subject_list = parse_subjects(subjects)
    with dg.DagsterInstance.get() as instance:
        new = register_subjects(instance, subject_list)
        print(f"gasp backfill: {len(keys)} partitions of {job} ({len(new)} new subjects) on instance "
              f"{instance.root_directory}", flush=True)
    return subprocess.call(cmd)
