"""Debian's Firefox (firefox-esr) without a screen, driven through its built-in Marionette remote protocol.

Playwright's Firefox is a patched build that must be downloaded (impossible here) and Debian ships no geckodriver,
so this speaks Marionette directly: length-prefixed JSON over TCP (``len:[0, id, command, params]``, answers
``[1, id, error, result]``), the WebDriver commands Firefox implements (NewSession, Navigate, ExecuteScript,
TakeScreenshot). ``ensure_firefox`` installs ``firefox-esr`` with apt-get when it is missing.

WebGL: Firefox's own ``--headless`` mode finds no GL driver on a machine without a GPU (the context fails with
FEATURE_FAILURE_WEBGL_EXHAUSTED_DRIVERS), so for WebGL pages Firefox runs in its normal mode on a virtual X display
(``virtual_display``: Debian's Xvfb, installed with apt-get when missing), where Mesa's llvmpipe serves WebGL2.
Nothing is shown on any screen either way.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

FIREFOX = Path("/usr/bin/firefox")


class FirefoxUnavailable(RuntimeError):
    """Firefox is absent and could not be installed here."""


def ensure_firefox(timeout: float = 900.0) -> Path:
    """Path of Debian's firefox, installed with apt-get (as root) when absent."""
    return _apt_install("firefox-esr", FIREFOX, timeout)


def _apt_install(package: str, binary: Path, timeout: float) -> Path:
    if binary.exists():
        return binary
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise FirefoxUnavailable(f"{binary} is missing; install Debian's {package} (apt-get install {package})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", package]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=timeout, env=env)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0 or not binary.exists():
        raise FirefoxUnavailable(f"apt-get install {package} failed: {(proc.stdout + proc.stderr)[-800:]}")
    return binary


@contextlib.contextmanager
def virtual_display(width: int = 1280, height: int = 800, timeout: float = 900.0):
    """Start Xvfb on a free display number; yields the DISPLAY string (e.g. ":1")."""
    xvfb = _apt_install("xvfb", Path("/usr/bin/Xvfb"), timeout)
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([str(xvfb), "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as fh:
            number = fh.readline().strip()
        if not number:
            raise FirefoxUnavailable(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


class Marionette:
    """Firefox with a fresh profile in ``profile_dir``: ``--headless``, or on X display ``display`` (e.g. from
    ``virtual_display``); use as a context manager."""

    def __init__(self, profile_dir: Path, width: int = 1000, height: int = 700, timeout: float = 120.0,
                 display: str | None = None):
        self.display = display
        self.profile = Path(profile_dir)
        self.profile.mkdir(parents=True, exist_ok=True)
        prefs = {"marionette.port": 0, "browser.shell.checkDefaultBrowser": False, "app.update.enabled": False,
                 "browser.startup.homepage_override.mstone": "ignore", "datareporting.policy.dataSubmissionEnabled": False,
                 "toolkit.telemetry.reportingpolicy.firstRun": False, "network.proxy.type": 0,
                 # WebGL without a GPU: Mesa's llvmpipe (software), which headless Firefox otherwise refuses
                 "webgl.force-enabled": True, "webgl.disable-fail-if-major-performance-caveat": True}
        (self.profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                                      for k, v in prefs.items()))
        self.timeout = timeout
        self.size = (width, height)
        self.proc = None
        self.sock = None
        self._id = 0

    def __enter__(self) -> "Marionette":
        exe = ensure_firefox()
        env = {**os.environ, "DISPLAY": self.display} if self.display else {**os.environ, "MOZ_HEADLESS": "1"}
        mode = [] if self.display else ["--headless"]
        self.proc = subprocess.Popen([str(exe), *mode, "--marionette", "--no-remote", "--profile",
                                      str(self.profile), f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        port_file = self.profile / "MarionetteActivePort"
        deadline = time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None:
                raise FirefoxUnavailable(f"firefox exited with code {self.proc.returncode} before Marionette started")
            if time.monotonic() > deadline:
                raise FirefoxUnavailable("Marionette did not start (no MarionetteActivePort file)")
            time.sleep(0.2)
        self.sock = socket.create_connection(("127.0.0.1", int(port_file.read_text().strip())), timeout=self.timeout)
        self._read()  # the server's hello
        self.command("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})
        self.command("WebDriver:SetWindowRect", {"width": self.size[0], "height": self.size[1]})
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.sock is not None:
                try:
                    self.command("Marionette:Quit", {"flags": ["eForceQuit"]})
                except (OSError, RuntimeError):
                    pass
                self.sock.close()
        finally:
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=20)

    def _read(self):
        head = b""
        while not head.endswith(b":"):
            c = self.sock.recv(1)
            if not c:
                raise RuntimeError("Marionette closed the connection")
            head += c
        n = int(head[:-1])
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("Marionette closed the connection")
            data += chunk
        return json.loads(data)

    def command(self, name: str, params: dict | None = None):
        self._id += 1
        msg = json.dumps([0, self._id, name, params or {}]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        while True:
            reply = self._read()
            if isinstance(reply, list) and reply[0] == 1 and reply[1] == self._id:
                break
        if reply[2]:
            raise RuntimeError(f"{name}: {reply[2].get('error')}: {reply[2].get('message')}")
        result = reply[3]
        return result.get("value") if isinstance(result, dict) and "value" in result else result

    def goto(self, url: str) -> None:
        self.command("WebDriver:Navigate", {"url": url})

    def evaluate(self, script: str, args: list | None = None):
        """Run ``script`` (a function body: use ``return``) in the page; returns its JSON-serialisable result."""
        return self.command("WebDriver:ExecuteScript", {"script": script, "args": args or []})

    def wait_for(self, script: str, timeout: float = 120.0, poll: float = 0.25):
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s: {script}")
            time.sleep(poll)

    def screenshot_png(self) -> bytes:
        return base64.b64decode(self.command("WebDriver:TakeScreenshot", {"full": False}))
