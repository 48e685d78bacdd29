"""A real tickwire server for the ccxt suite: the release binary on a free
loopback port, stopped after the tests whatever happens."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "tickwire"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


API_KEY = "alice-binance-key-0001"
API_SECRET = "alice-binance-secret-0001"

ACCOUNTS = f"""
[[account]]
name = "alice"
token = "alice-native-token-0001"
api_key = "{API_KEY}"
api_secret = "{API_SECRET}"
balances = {{ USD = "1000000", BTC = "2" }}
"""


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (host:port) of a live tickwire serving the default
    instruments, with one account whose Binance key is `API_KEY`."""
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run cargo build --release first")
    accounts = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    accounts.write_text(ACCOUNTS)
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            str(BINARY),
            "serve",
            "--ephemeral",
            "--accounts",
            str(accounts),
            "--listen",
            address,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("tickwire did not start") from None
                time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
