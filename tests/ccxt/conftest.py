"""A real tickwire server for the ccxt suite: the release binary (or the one
TICKWIRE_BIN names) on a free loopback port, stopped after the tests
whatever happens."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TICKWIRE_BIN", ROOT / "target" / "release" / "tickwire"))


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


def wait_for_port(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    """Returns once `port` takes connections; raises if `process` ended or
    20 s passed."""
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tickwire(*args: str) -> subprocess.Popen[bytes]:
    if not BINARY.exists():
        raise RuntimeError(
            f"{BINARY} is missing: run cargo build --release first (or set TICKWIRE_BIN)"
        )
    return subprocess.Popen(
        [str(BINARY), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"},
    )


def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    accounts = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    accounts.write_text(ACCOUNTS)
    return str(accounts)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (host:port) of a live tickwire serving the default
    instruments, with one account whose Binance key is `API_KEY`."""
    accounts = accounts_file(tmp_path_factory)
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = tickwire(
        "serve", "--ephemeral", "--accounts", accounts, "--listen", address
    )
    try:
        wait_for_port(process, port, "tickwire")
        yield address
    finally:
        stop(process)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same markets and account in cluster mode (docs/cluster.md): a
    nats-server, an engine and a gateway, each on a free loopback port;
    the address of the gateway."""
    accounts = accounts_file(tmp_path_factory)
    nats_port, gateway_port = free_port(), free_port()
    url = f"nats://127.0.0.1:{nats_port}"
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(
            subprocess.Popen(
                ["nats-server", "-a", "127.0.0.1", "-p", str(nats_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for_port(started[0], nats_port, "nats-server")
        started.append(
            tickwire(
                "engine",
                "--nats",
                url,
                "--ephemeral",
                "--accounts",
                accounts,
                "--listen",
                "127.0.0.1:0",
            )
        )
        address = f"127.0.0.1:{gateway_port}"
        started.append(tickwire("gateway", "--nats", url, "--listen", address))
        wait_for_port(started[2], gateway_port, "tickwire gateway")
        yield address
    finally:
        for process in reversed(started):
            stop(process)


@pytest.fixture(params=["serve", "gateway"])
def venue(request: pytest.FixtureRequest) -> str:
    """Each signed test runs against `serve` and against a cluster gateway
    (the Binance dialect's trading goes through the engine there)."""
    address: str = request.getfixturevalue(
        "server" if request.param == "serve" else "gateway"
    )
    return address
