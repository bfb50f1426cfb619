"""The app, or another ASGI factory, under uvicorn on a free loopback port, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_S = 60.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_uvicorn(
    target: str, port: int, env: dict[str, str], cwd: Path, ready_path: str = "/healthz"
) -> subprocess.Popen:
    """uvicorn serving the factory ``target`` with 2 workers and no access log, returned once
    ``ready_path`` answers 200; raises RuntimeError if it does not within ``STARTUP_S``."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=os.environ | env,
        cwd=cwd,
    )
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"uvicorn serving {target} did not start")
        time.sleep(0.2)
