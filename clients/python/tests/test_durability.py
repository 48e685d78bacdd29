"""Amend, order status and fills against a server with a data directory;
fills lost in transit recovered from the private ``seq`` gap; and a client
resuming from an earlier one's ``last_private_seq`` after the server was
killed and restarted on the same directory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import ACCOUNTS, Server, start_server, stop

from tickwire_client import (
    Client,
    Fill,
    OrderAccepted,
    PrivateGap,
    UnknownOrderError,
)


@pytest.fixture()
def durable(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    data = tmp_path / "data"
    running = start_server("serve", "--seed", "62", "--rate-scale", "5", "--data-dir", str(data))
    try:
        yield running, data
    finally:
        stop(running)


async def resting_price(client: Client, ticks_below: int) -> str:
    book = await client.watch_book("BTC-USD")
    bid = book.best_bid()
    assert bid is not None
    return f"{Decimal(bid[0]) - Decimal(ticks_below) * Decimal('0.01'):.2f}"


async def test_amend_status_and_fills(durable: tuple[Server, Path]) -> None:
    server, _ = durable
    async with Client(server.url, token=ACCOUNTS["alice"]) as client:
        price = await resting_price(client, 300)
        accepted = await client.order("BTC-USD", "buy", "0.0300", price, client_order_id="py-a")
        assert accepted.seq > 0
        amended = await client.amend("BTC-USD", accepted.order_id, qty="0.0200")
        assert (amended.qty, amended.leaves_qty, amended.price) == ("0.0200", "0.0200", price)
        assert amended.seq == accepted.seq + 1
        status = await client.order_status("BTC-USD", client_order_id="py-a")
        assert (status.status, status.filled_qty, status.qty) == ("open", "0.0000", "0.0200")
        await client.cancel("BTC-USD", accepted.order_id)
        assert (await client.order_status("BTC-USD", accepted.order_id)).status == "canceled"
        with pytest.raises(UnknownOrderError):
            await client.order_status("BTC-USD", "BTC-USD:999999999")
        market = await client.order("BTC-USD", "buy", "0.0010")
        fills = await client.fills(accepted.seq)
        assert market.order_id in [f.order_id for f in fills]
        assert all(f.seq > accepted.seq for f in fills)


async def test_fills_lost_in_transit_come_back_once(durable: tuple[Server, Path]) -> None:
    server, _ = durable

    def drop(m: dict[str, Any]) -> bool:
        return m.get("type") == "fill"

    async with Client(server.url, token=ACCOUNTS["bob"], drop_inbound=drop) as client:
        events = client.events()
        ids = [(await client.order("BTC-USD", "sell", "0.0010")).order_id for _ in range(3)]
        received: list[Fill] = []
        gaps: list[PrivateGap] = []
        async with asyncio.timeout(30):
            async for event in events:
                if isinstance(event, Fill):
                    received.append(event)
                if isinstance(event, PrivateGap):
                    gaps.append(event)
                if all(any(f.order_id == i for f in received) for i in ids):
                    break
        await events.aclose()
        assert gaps
        seqs = [f.seq for f in received]
        assert len(set(seqs)) == len(seqs)
        assert client.stats.fills_recovered >= 3


async def test_a_new_client_resumes_after_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ("serve", "--seed", "63", "--rate-scale", "5", "--data-dir", str(data))
    server = start_server(*args)
    try:
        async with Client(server.url, token=ACCOUNTS["alice"]) as first:
            book = await first.watch_book("BTC-USD")
            ask = book.best_ask()
            assert ask is not None
            # A sell a little above the touch, which bob will sweep to.
            price = f"{Decimal(ask[0]) + Decimal('0.03'):.2f}"
            kept = await first.order("BTC-USD", "sell", "0.0100", price)
            events = first.events()
            market = await first.order("BTC-USD", "buy", "0.0010")
            async with asyncio.timeout(30):
                async for event in events:
                    if isinstance(event, Fill) and event.order_id == market.order_id:
                        break
            await events.aclose()
            resume = first.last_private_seq
        assert resume is not None
    finally:
        stop(server)  # SIGKILL: a crash
    server = start_server(*args)
    try:
        # Bob takes alice's resting order while she is away.
        async with Client(server.url, token=ACCOUNTS["bob"]) as bob:
            await bob.order("BTC-USD", "buy", "20.0000", price, tif="ioc")
        async with Client(server.url, token=ACCOUNTS["alice"], resume_private_seq=resume) as second:
            assert isinstance(kept, OrderAccepted)
            status = await second.order_status("BTC-USD", kept.order_id)
            assert status.status == "filled"
            missed = await second.fills(resume)
            assert {f.order_id for f in missed} == {kept.order_id}
            assert sum(Decimal(f.qty) for f in missed) == Decimal("0.0100")
            assert second.stats.fills_recovered == len(missed)
            assert second.last_private_seq is not None
            assert second.last_private_seq > resume
    finally:
        stop(server)
