"""The client on a cluster gateway: a real nats-server (installed by
.ci/deps), a real engine and a real gateway. The book stays verified, and
when NATS goes away and comes back the client hears `stream_interrupted`
and `stream_resumed`, and the book is live again from a fresh snapshot."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from conftest import ACCOUNTS, BINARY, Server, start_server, stop, until

from tickwire_client import Client, Notice

LISTEN = ("--listen", "127.0.0.1:0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nats(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("nats-server did not start") from None
            time.sleep(0.02)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(timeout=10)


class Cluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.nats = start_nats(self.port)
        url = f"nats://127.0.0.1:{self.port}"
        self.engine = subprocess.Popen(
            [str(BINARY), "engine", "--nats", url, "--ephemeral", "--seed", "9", *LISTEN],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={
                "TICKWIRE_ACCOUNTS": ",".join(f"{n}={t}" for n, t in ACCOUNTS.items()),
                "RUST_LOG": "warn",
            },
        )
        self.gateway: Server = start_server("gateway", "--nats", url)

    def close(self) -> None:
        stop(self.gateway)
        kill(self.engine)
        kill(self.nats)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        yield running
    finally:
        running.close()


async def test_the_bus_going_away_and_back_is_told_and_the_book_resumes(
    cluster: Cluster,
) -> None:
    async with Client(cluster.gateway.url, token=ACCOUNTS["alice"]) as client:
        events = client.events()
        await client.watch_book("BTC-USD")
        await until("a live book", lambda: client.book_live("BTC-USD"))
        kill(cluster.nats)
        kinds: list[str] = []
        async for event in events:
            if isinstance(event, Notice) and event.type == "stream_interrupted":
                assert event.data["reason"] == "bus"
                kinds.append(event.type)
                break
        assert not client.book_live("BTC-USD"), "not live while interrupted"
        before = client.book_seq("BTC-USD")
        cluster.nats = start_nats(cluster.port)
        async for event in events:
            if isinstance(event, Notice) and event.type == "stream_resumed":
                kinds.append(event.type)
                break
        await until(
            "a live book again",
            lambda: client.book_live("BTC-USD") and client.book_seq("BTC-USD") > before,
        )
        assert kinds == ["stream_interrupted", "stream_resumed"]
        assert (client.stats.checksum_mismatches, client.stats.gaps) == (0, 0)
        order = await client.order("BTC-USD", "buy", "0.0100", order_type="market")
        assert order.symbol == "BTC-USD"
