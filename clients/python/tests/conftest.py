"""Real tickwire servers for the tests: the release binary on 127.0.0.1:0,
killed when the test (or the session) ends, even when it fails."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BINARY = Path(os.environ.get("TICKWIRE_BIN", ROOT / "target" / "release" / "tickwire"))
ACCOUNTS = {"alice": "alice-token-1", "bob": "bob-token-22"}


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[str]


def start_server(*args: str) -> Server:
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} does not exist: build it first (cargo build --release)")
    env = {
        **os.environ,
        "TICKWIRE_ACCOUNTS": ",".join(f"{n}={t}" for n, t in ACCOUNTS.items()),
        "RUST_LOG": "warn",
    }
    # A test server keeps nothing unless the test gives it a data directory.
    keep = not args or args[0] != "serve" or "--data-dir" in args
    extra = [] if keep else ["--ephemeral"]
    process = subprocess.Popen(
        [str(BINARY), *args, *extra, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"WebSocket\s+ws://127\.0\.0\.1:(\d+)/ws", line)
        if match:
            port = int(match.group(1))
            return Server(url=f"ws://127.0.0.1:{port}/ws", port=port, process=process)
    process.kill()
    raise RuntimeError("tickwire did not start:\n" + "".join(seen))


def stop(server: Server) -> None:
    server.process.kill()
    server.process.wait(timeout=10)
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A live server at ten times the default rates."""
    running = start_server("serve", "--seed", "61", "--rate-scale", "10")
    try:
        yield running
    finally:
        stop(running)


async def until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Waits until ``check()`` is true; fails after ``timeout`` s saying ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
