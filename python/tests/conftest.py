"""Runs the tests against a real gpucmdd, as tests/harness.c does: the
build's daemon on a temporary socket with an empty configuration file, its
own pipeline cache and the Vulkan validation layer on (--validate). The
daemon serves the whole run and is stopped with SIGTERM at the end; its exit
status must be 0, which it is only when the validation layer never spoke
and nothing leaked. After each test the daemon must be back where it
started: no buffer, session or client of the test left, no validation
message.

The build directory is $GPUCMD_BUILD (else build/ of the source tree); the
package loads that build's libgpucmd through $GPUCMD_LIBRARY.
"""
from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("GPUCMD_BUILD") or ROOT / "build")
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
os.environ.setdefault("GPUCMD_LIBRARY", str(BUILD / "libgpucmd.so.0"))
sys.path.insert(0, str(ROOT / "python"))

import gpucmd  # noqa: E402


class Daemon:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gpucmd-pytest."))
        self.socket = str(self.dir / "s.sock")
        self.log = self.dir / "daemon.log"
        config = self.dir / "gpucmdd.conf"
        config.write_text("")  # never the machine's /etc/gpucmd/gpucmdd.conf
        argv = [str(BUILD / "gpucmdd"), "--socket", self.socket, "--config", str(config), "--validate",
                "--cache-dir", str(self.dir / "cache")]
        with open(self.log, "wb") as log:
            # Its own claim on the device, beside any other daemon on it.
            env = dict(os.environ, RUNTIME_DIRECTORY=str(self.dir))
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
        for _ in range(600):  # until it accepts a connection (12 s)
            if self.proc.poll() is not None:
                raise RuntimeError(f"gpucmdd exited during start-up ({self.proc.returncode}):\n{self.log_text()}")
            try:
                gpucmd.connect(self.socket).close()
                return
            except gpucmd.ConnectError:
                time.sleep(0.02)
        raise RuntimeError(f"gpucmdd did not listen on {self.socket} within 12 s")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


@pytest.fixture(scope="session")
def daemon():
    d = Daemon()
    os.environ["GPUCMD_SOCKET"] = d.socket  # connect() with no argument, here and in workers
    yield d
    with gpucmd.connect(d.socket) as c:
        info = c.info()
    status = d.stop()
    if status != 0 or info.validation_messages:
        sys.stderr.write(d.log_text())
    assert info.validation, "the validation layer is not on in the daemon"
    assert info.validation_messages == 0
    assert status == 0, f"gpucmdd exited with status {status} (3: validation messages, 4: leaked objects)"
    shutil.rmtree(d.dir, ignore_errors=True)


def wait_for(pred, what: str, tries: int = 1000):
    """Polls pred() every 10 ms until true (10 s at most): a wait on state."""
    for _ in range(tries):
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f"still not {what} after 10 s")


@pytest.fixture(autouse=True)
def back_to_baseline(daemon):
    """After each test: the daemon holds nothing of it and heard no
    validation message."""
    yield
    gc.collect()
    with gpucmd.connect(daemon.socket) as c:
        def idle():
            i = c.info()
            return i if (i.clients, i.live_buffers, i.live_sessions) == (1, 0, 0) else None
        try:
            info = wait_for(idle, "back to no client, buffer or session")
        except AssertionError:
            i = c.info()
            raise AssertionError(f"daemon not back to baseline: {i.clients} clients, {i.live_buffers} buffers, "
                                 f"{i.live_sessions} sessions")
        assert info.validation_messages == 0, daemon.log_text()


@pytest.fixture
def gpu(daemon):
    with gpucmd.connect() as c:
        yield c


def spirv(name: str) -> bytes:
    """A test module the build compiled (build/tests/spirv/NAME.spv)."""
    return (BUILD / "tests" / "spirv" / f"{name}.spv").read_bytes()
