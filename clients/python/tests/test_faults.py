"""Server-side faults (``--allow-fault-requests``, the client's own
``faults()``): the client recovers from each fault in the stream, reports
each closed connection with its code so a new client can go on, and a
bystander on the same server sees nothing of them.

Recovery is shown the strongest way there is: after the fault, a manual
resync's snapshot, which arrives in sequence, must equal the book the
client kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Server, start_server, stop, until

from tickwire_client import Client, Notice, Stats, TickwireError


@pytest.fixture(scope="module")
def faulty() -> Iterator[Server]:
    running = start_server("serve", "--seed", "62", "--rate-scale", "10", "--allow-fault-requests")
    try:
        yield running
    finally:
        stop(running)


async def recovered(client: Client, mismatches: int) -> None:
    """The book is live and verified again, and equal to a fresh snapshot."""
    verified = client.stats.checksums_verified
    await until(
        "updates verified after the fault",
        lambda: client.stats.checksums_verified > verified + 20,
    )
    snapshots = client.stats.snapshots_verified
    client.resync("BTC-USD")
    await until("a snapshot equal to the book", lambda: client.stats.snapshots_verified > snapshots)
    assert client.stats.checksum_mismatches == mismatches


IN_STREAM: list[tuple[str, Callable[[Stats], bool]]] = [
    ("drop:book:3@after=3", lambda s: s.gaps == 1),
    ("corrupt@after=3", lambda s: s.checksum_mismatches == 1),
    ("duplicate:book@after=3", lambda s: s.gaps == 0),
    ("reorder:book@after=3", lambda s: s.gaps == 1),
    ("stall:400ms@after=3", lambda s: s.gaps == 0),
    ("lagged@after=3", lambda s: s.lagged == 1),
]


@pytest.mark.parametrize(("spec", "check"), IN_STREAM, ids=[s for s, _ in IN_STREAM])
async def test_the_client_recovers_from_each_fault_in_the_stream(
    faulty: Server, spec: str, check: Callable[[Stats], bool]
) -> None:
    async with Client(faulty.url) as client:
        await client.watch_book("BTC-USD")
        answer = await client.faults(spec)
        assert (answer["spec"], answer["seed"]) == (spec, 1)
        await recovered(client, 1 if spec.startswith("corrupt") else 0)
        assert check(client.stats), client.stats


CLOSES = [
    ("close:abrupt@after=3", "the connection was lost"),
    ("close:4001@after=3", "4001 closed by a fault"),
    ("shutdown@after=3", "1001 server shutting down"),
]


@pytest.mark.parametrize(("spec", "reason"), CLOSES, ids=[s for s, _ in CLOSES])
async def test_a_closed_connection_says_why_and_a_new_client_goes_on(
    faulty: Server, spec: str, reason: str
) -> None:
    client = Client(faulty.url)
    await client.connect()
    notices: list[str] = []
    events = client.events()

    async def read() -> None:
        async for event in events:
            if isinstance(event, Notice):
                notices.append(event.type)

    reading = asyncio.create_task(read())
    await client.watch_book("BTC-USD")
    await client.faults(spec)
    await asyncio.wait_for(client.wait_closed(), 10)
    await asyncio.wait_for(reading, 10)
    assert client.close_reason == reason
    if spec.startswith("shutdown"):
        assert "shutdown" in notices
    with pytest.raises(TickwireError) as refused:
        await client.ping()
    assert refused.value.code == "not_connected"
    # As the client's documentation says: a new client goes on, clean.
    async with Client(faulty.url) as again:
        await again.watch_book("BTC-USD")
        await recovered(again, 0)


async def test_faults_stay_on_their_connection(faulty: Server) -> None:
    async with Client(faulty.url) as bystander, Client(faulty.url) as victim:
        await bystander.watch_book("BTC-USD")
        await victim.watch_book("BTC-USD")
        await victim.faults("seed=4;drop:book@p=0.05;corrupt@every=40;duplicate:book@p=0.05")
        await until("faults applied", lambda: victim.stats.gaps >= 3, 30)
        await until("the bystander verifies", lambda: bystander.stats.checksums_verified > 200, 30)
        s = bystander.stats
        assert (s.gaps, s.checksum_mismatches, s.lagged, s.resyncs) == (0, 0, 0, 0)


async def test_a_server_without_the_flag_refuses_fault_requests() -> None:
    plain = start_server("serve", "--seed", "63")
    try:
        async with Client(plain.url) as client:
            with pytest.raises(TickwireError) as refused:
                await client.faults("drop")
            assert refused.value.code == "unauthorized"
            message: Any = refused.value
            assert "--allow-fault-requests" in str(message)
    finally:
        stop(plain)
