"""Find Debian's Chromium for the UI browser test, installing it with apt-get when it is absent.

Playwright's own browser download needs the internet; this project's machines reach only PyPI and Debian apt,
so the test drives Debian's ``chromium`` package through ``executable_path``.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

# Flags that keep Chromium off the network and working as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class ChromiumUnavailable(RuntimeError):
    """Chromium is absent and could not be installed here."""


def _apt(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, timeout=timeout, env=env)


def _tail(proc: subprocess.CompletedProcess, n: int = 1500) -> str:
    return (proc.stdout + proc.stderr)[-n:]


def ensure_chromium(timeout: float = 900.0) -> tuple[Path, float]:
    """Path of Debian's chromium and the seconds spent installing it (0.0 when it was already there).

    Runs ``apt-get install chromium`` (after ``apt-get update`` if the first try fails) when the binary is missing.
    Raises ChromiumUnavailable with apt's output when that is impossible (not root, no apt, no repository access).
    """
    if CHROMIUM.exists():
        return CHROMIUM, 0.0
    if shutil.which("apt-get") is None:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and there is no apt-get to install Debian's chromium")
    if os.geteuid() != 0:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and installing it with apt-get needs root "
                                  "(run `apt-get install -y chromium` once, then rerun the test)")
    t0 = time.perf_counter()
    install = ["install", "-y", "--no-install-recommends", "chromium"]
    proc = _apt(install, timeout)
    if proc.returncode != 0:
        update = _apt(["update"], timeout)
        if update.returncode != 0:
            raise ChromiumUnavailable(f"apt-get update failed:\n{_tail(update)}")
        proc = _apt(install, timeout)
    if proc.returncode != 0 or not CHROMIUM.exists():
        raise ChromiumUnavailable(f"apt-get install chromium failed (rc {proc.returncode}):\n{_tail(proc)}")
    return CHROMIUM, time.perf_counter() - t0
