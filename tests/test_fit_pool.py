"""The GPU fit scripts' pool loop: a worker that dies mid-fit leaves its traceback, and the other fits' rows stay."""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

from benchmarks.fit_pool import collect_rows, enable_crash_log, report_crash_logs


def _fit(n: int) -> dict:
    if n == 1:
        ctypes.string_at(0)  # a segfault, as a crashing extension would cause
    return {"n": n}


def test_a_crashed_worker_leaves_its_traceback(tmp_path, capsys):
    crash = tmp_path / "crash"
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=enable_crash_log,
                               initargs=(str(crash),))
    first = pool.submit(_fit, 0)
    assert first.result(timeout=60) == {"n": 0}
    futures = {pool.submit(_fit, 1): 1}
    rows = tmp_path / "rows.jsonl"
    collect_rows(pool, futures, 60, rows, lambda task, exc: {"n": task, "error": type(exc).__name__}, str,
                 time.perf_counter())
    assert json.loads(rows.read_text()) == {"n": 1, "error": "BrokenProcessPool"}
    assert report_crash_logs(crash) == 1
    out = capsys.readouterr().out
    assert "Segmentation fault" in out and "_fit" in out


def test_no_crash_log_without_a_folder(tmp_path):
    enable_crash_log("")
    assert report_crash_logs(tmp_path) == 0
