"""Start Radicale and Xandikos on free loopback ports for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT = 20.0  # seconds; both servers start in about one on a laptop


@dataclass
class CalDAVServer:
    """A CalDAV server process and the account the tests use on it."""

    name: str
    root_url: str
    principal_url: str
    home_url: str
    username: str
    password: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not listen on port {port}: {log.read_text()}")


def _spawn(args: list[str], folder: Path, port: int) -> subprocess.Popen[bytes]:
    log = folder / "server.log"
    environment = {
        **os.environ,
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    wait_for_port(port, process, log)
    return process


def start_radicale(
    folder: Path, extra_args: Sequence[str] = ("--auth-type", "none")
) -> CalDAVServer:
    """Start Radicale with filesystem storage; by default it checks no login.

    ``extra_args`` replaces the authentication options, for example with an
    htpasswd file, and may add others such as ``--logging-level info``.
    """
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "radicale",
        "--config",
        "",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(folder / "collections"),
        *extra_args,
    ]
    process = _spawn(args, folder, port)
    root = f"http://127.0.0.1:{port}/"
    return CalDAVServer(
        name="radicale",
        root_url=root,
        principal_url=f"{root}mentor/",
        home_url=f"{root}mentor/",
        username="mentor",
        password="any",
        process=process,
    )


def start_xandikos(folder: Path) -> CalDAVServer:
    """Start Xandikos with its default principal, calendar and address book."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "xandikos.web",
        "--defaults",
        "-d",
        str(folder / "collections"),
        "--state-dir",
        str(folder / "state"),
        "-l",
        "127.0.0.1",
        "-p",
        str(port),
        "--no-detect-systemd",
    ]
    process = _spawn(args, folder, port)
    root = f"http://127.0.0.1:{port}/"
    return CalDAVServer(
        name="xandikos",
        root_url=root,
        principal_url=f"{root}user/",
        home_url=f"{root}user/calendars/",
        username="mentor",
        password="any",
        process=process,
    )
