"""Collect one JSON row per fit from a process pool under a deadline (the GPU fit scripts' shared loop).

Rows are appended to a JSON-lines file as fits finish, so a run cut off by the device's time limit keeps what
finished; at the deadline the unfinished fits are reported and their workers killed; when everything finished the
pool is shut down waiting for its workers (they hold GPU memory that the next phase needs).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import as_completed
from pathlib import Path


def enable_crash_log(folder) -> None:
    """In a pool worker: write a Python traceback of a crash (segfault, abort, fatal error) to
    ``folder/worker_<pid>.log``, so a fit that ends the process shows why (the pool itself only reports
    ``BrokenProcessPool``). No-op when ``folder`` is empty. A worker killed by SIGKILL (out of host memory) leaves an
    empty file."""
    if not folder:
        return
    import faulthandler

    os.makedirs(folder, exist_ok=True)
    log = open(os.path.join(folder, f"worker_{os.getpid()}.log"), "w")  # noqa: SIM115 - open for the process's life
    faulthandler.enable(file=log, all_threads=True)


def report_crash_logs(folder, tail: int = 3000) -> int:
    """Print the end of every non-empty worker crash log in ``folder`` (see ``enable_crash_log``); returns how many."""
    crashed = 0
    for path in sorted(Path(folder).glob("worker_*.log")):
        text = path.read_text(errors="replace")
        if text.strip():
            crashed += 1
            print(f"--- {path.name} (a pool worker crashed) ---\n{text[-tail:]}", flush=True)
    return crashed


def collect_rows(pool, futures: dict, timeout: float, rows_path: Path, error_row: Callable[[object, Exception], dict],
                 brief: Callable[[dict], object], t0: float) -> int:
    """Write each finished future's row (or ``error_row(task, exc)``) to ``rows_path``; print ``brief(row)``.
    ``futures``: {future: task}. Returns how many fits finished."""
    finished = 0
    with open(rows_path, "a") as f:
        try:
            for fut in as_completed(futures, timeout=max(1.0, timeout)):
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - one failed fit must not lose the others
                    row = error_row(futures[fut], exc)
                finished += 1
                f.write(json.dumps(row) + "\n")
                f.flush()
                print(brief(row), flush=True)
        except FutureTimeout:
            print(f"deadline: {len(futures) - finished} fits not finished", flush=True)
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
    pool.shutdown(wait=finished == len(futures), cancel_futures=True)
    print(f"fits: {finished}/{len(futures)} in {time.perf_counter() - t0:.1f} s", flush=True)
    return finished
