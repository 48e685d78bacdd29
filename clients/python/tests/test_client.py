"""The client against real servers: verified books, forced resyncs, trading
with typed errors, and the two examples as a user runs them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from conftest import ACCOUNTS, ROOT, Server, start_server, stop, until

from tickwire_client import (
    BookUpdated,
    Client,
    DuplicateClientOrderIdError,
    Fill,
    InvalidPriceError,
    NotAuthenticatedError,
    OrderDone,
    PostOnlyWouldCrossError,
    ReplayModeError,
    Resync,
    TickwireError,
    UnknownOrderError,
)

EXAMPLES = ROOT / "clients" / "python" / "examples"


async def test_a_book_stays_exact_through_thousands_of_updates(server: Server) -> None:
    async with Client(server.url) as client:
        await client.watch_book("BTC-USD")
        await until("5,000 updates", lambda: client.stats.book_updates >= 5000, 60)
        client.resync("BTC-USD")
        await until("the check snapshot", lambda: client.stats.snapshots_verified == 1)
        s = client.stats
        assert (s.gaps, s.checksum_mismatches) == (0, 0)
        assert s.checksums_verified == s.book_updates


async def test_book_views_are_books_of_their_own_each_the_top_of_the_book(
    server: Server,
) -> None:
    async with Client(server.url) as client:
        events = client.events()
        # Every event counted comes after this: the rate bound below holds
        # however slow the machine is.
        loop = asyncio.get_running_loop()
        started = loop.time()
        whole = await client.watch_book("SOL-USD")
        top10 = await client.watch_book("SOL-USD", depth=10)
        slow = await client.watch_book("SOL-USD", depth=25, interval="100ms")
        assert whole is not top10 and top10 is not slow
        top_updates = slow_updates = 0
        whole_seq = 0
        async for event in events:
            if not isinstance(event, BookUpdated) or event.symbol != "SOL-USD":
                continue
            if (event.depth, event.interval) == (None, None):
                whole_seq = event.seq
            elif (event.depth, event.interval) == (10, None):
                top_updates += 1
                # Events are queued: the live books may have moved on. When
                # neither has, the view is the top of the book (each view
                # update follows the book's); its checksum is verified always.
                if (
                    client.book_seq("SOL-USD") == whole_seq
                    and client.book_seq("SOL-USD", depth=10) == event.seq
                ):
                    assert top10.bids() == whole.bids(10)
                    assert top10.asks() == whole.asks(10)
            elif (event.depth, event.interval) == (25, "100ms"):
                slow_updates += 1
            if top_updates >= 20 and slow_updates >= 5:
                break
        await events.aclose()
        seconds = loop.time() - started
        assert len(top10.bids()) <= 10 and len(slow.asks()) <= 25
        # The snapshot, then at most one update per 100 ms tick.
        assert slow_updates <= seconds * 10 + 2, "at most ten a second"
        assert (client.stats.gaps, client.stats.checksum_mismatches) == (0, 0)
        assert client.book_seq("SOL-USD") > client.book_seq("SOL-USD", depth=10) > 0


async def test_a_dropped_update_is_noticed_and_resynced(server: Server) -> None:
    dropped: list[int] = []

    def drop(message: dict[str, Any]) -> bool:
        if not dropped and message.get("type") == "book_update":
            dropped.append(int(message["seq"]))
            return True
        return False

    async with Client(server.url, drop_inbound=drop) as client:
        events = client.events()
        await client.watch_book("ETH-USD")
        resync = None
        async for event in events:
            if isinstance(event, Resync):
                resync = event
            if resync is not None and isinstance(event, BookUpdated):
                break
        await events.aclose()
        assert resync == Resync("ETH-USD", "gap")
        assert client.stats.gaps == 1
        before = client.stats.checksums_verified
        await until(
            "updates after the resync", lambda: client.stats.checksums_verified > before + 20
        )
        assert client.stats.checksum_mismatches == 0


async def test_a_corrupted_update_fails_its_checksum_and_is_resynced(server: Server) -> None:
    corrupted: list[int] = []

    def corrupt(message: dict[str, Any]) -> bool:
        # A bid above every other becomes the best bid: the top 10 the
        # checksum covers has changed for sure.
        if message.get("type") == "book_update" and not corrupted:
            corrupted.append(int(message["seq"]))
            message["bids"].append(["999999.99", "1.0000"])
        return False

    async with Client(server.url, drop_inbound=corrupt) as client:
        await client.watch_book("BTC-USD")
        await until(
            "the resync",
            lambda: client.stats.resyncs == 1 and client.stats.checksum_mismatches == 1,
        )
        await until("verified updates after it", lambda: client.stats.checksums_verified > 50)
        assert client.stats.checksum_mismatches == 1


async def test_orders_fills_and_cancels(server: Server) -> None:
    async with Client(server.url, token=ACCOUNTS["alice"]) as client:
        assert client.account_name == "alice"
        book = await client.watch_book("BTC-USD")
        bid = book.best_bid()
        assert bid is not None
        price = f"{Decimal(bid[0]) - Decimal('5.00'):.2f}"
        accepted = await client.order("BTC-USD", "buy", "0.0100", price, client_order_id="py-1")
        assert (accepted.price, accepted.qty, accepted.tif) == (price, "0.0100", "gtc")
        assert accepted.order_id in [o.order_id for o in await client.open_orders("BTC-USD")]
        done = await client.cancel("BTC-USD", accepted.order_id)
        assert (done.reason, done.filled_qty) == ("canceled", "0.0000")

        events = client.events()
        market = await client.order("BTC-USD", "sell", "0.0100")
        fills: list[Fill] = []
        async for event in events:
            if isinstance(event, Fill) and event.order_id == market.order_id:
                fills.append(event)
            if isinstance(event, OrderDone) and event.order_id == market.order_id:
                assert event.reason == "filled"
                break
        await events.aclose()
        assert sum(Decimal(f.qty) for f in fills) == Decimal("0.0100")
        account = await client.account()
        position = next(p for p in account.positions if p.symbol == "BTC-USD")
        assert position.position == fills[-1].position


async def test_every_refusal_is_its_own_class(server: Server) -> None:
    async with Client(server.url, token=ACCOUNTS["bob"]) as client:
        book = await client.watch_book("BTC-USD")
        ask = book.best_ask()
        assert ask is not None
        with pytest.raises(InvalidPriceError) as off_tick:
            await client.order("BTC-USD", "buy", "0.0100", "64000.005")
        assert "tick size" in off_tick.value.message
        with pytest.raises(PostOnlyWouldCrossError):
            await client.order("BTC-USD", "buy", "0.0100", ask[0], post_only=True)
        with pytest.raises(UnknownOrderError):
            await client.cancel("BTC-USD", "BTC-USD:999999999")
        price = f"{Decimal(ask[0]) - Decimal('50.00'):.2f}"
        first = await client.order("BTC-USD", "buy", "0.0010", price, client_order_id="py-dup")
        with pytest.raises(DuplicateClientOrderIdError) as duplicate:
            await client.order("BTC-USD", "buy", "0.0010", price, client_order_id="py-dup")
        assert (duplicate.value.order_id, duplicate.value.status) == (first.order_id, "open")
        assert await client.cancel_all() == 1
        with pytest.raises(TickwireError) as band:
            await client.order("BTC-USD", "buy", "0.0010", "1.00")
        assert band.value.code == "price_out_of_band"
    async with Client(server.url) as anonymous:
        with pytest.raises(NotAuthenticatedError):
            await anonymous.open_orders()


async def test_replay_refuses_orders() -> None:
    replay = start_server("replay", str(ROOT / "feeds/recordings/sample-30s.jsonl.zst"))
    try:
        async with Client(replay.url, token=ACCOUNTS["alice"]) as client:
            assert client.mode == "replay"
            with pytest.raises(ReplayModeError):
                await client.order("BTC-USD", "buy", "0.0100")
    finally:
        stop(replay)


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_book_example_prints_the_top_and_what_it_verified(server: Server) -> None:
    done = run_example(
        str(EXAMPLES / "book.py"), "--url", server.url, "--symbol", "SOL-USD", "--seconds", "3"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("seq ") and " bid " in line and " ask " in line for line in lines)
    last = lines[-1].split()
    assert last[0] == "verified" and int(last[1]) > 0, lines[-1]
    assert lines[-1].endswith(" 0 resyncs")


def test_the_book_example_says_when_the_server_is_unreachable() -> None:
    done = run_example(str(EXAMPLES / "book.py"), "--url", "ws://127.0.0.1:9/ws", "--seconds", "1")
    assert done.returncode == 1
    assert "cannot connect to ws://127.0.0.1:9/ws" in done.stderr


def test_the_trade_example_places_lists_and_cancels(server: Server) -> None:
    done = run_example(
        str(EXAMPLES / "trade.py"), "--url", server.url, "--token", ACCOUNTS["alice"]
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("accepted BTC-USD:")
    order_id = lines[0].split()[1].rstrip(":")
    assert any(line.startswith(f"open     {order_id}:") for line in lines)
    assert lines[-1] == f"done     {order_id}: canceled, filled 0.0000"
