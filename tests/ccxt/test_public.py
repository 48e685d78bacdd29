"""ccxt (pinned in requirements.txt) against a live tickwire, changing only
its base URLs: the public REST methods and the market streams of ccxt.pro.
docs/binance.md reports which ccxt methods work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from pointing import pointed_at


@pytest_asyncio.fixture
async def exchange(server: str) -> AsyncIterator[Any]:
    ex = pointed_at(server)
    try:
        yield ex
    finally:
        await ex.close()


async def test_load_markets_reads_every_instrument(exchange: Any) -> None:
    markets = await exchange.load_markets()
    assert set(markets) == {"BTC/USD", "ETH/USD", "SOL/USD", "AAPL/USD"}
    btc = markets["BTC/USD"]
    assert (btc["id"], btc["base"], btc["quote"], btc["spot"]) == (
        "BTCUSD",
        "BTC",
        "USD",
        True,
    )
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.0001
    assert btc["limits"]["amount"]["max"] == 100.0


async def test_fetch_order_book_trades_ohlcv_and_ticker(exchange: Any) -> None:
    await asyncio.sleep(1.5)
    book = await exchange.fetch_order_book("BTC/USD", 20)
    assert 0 < len(book["bids"]) <= 20 and 0 < len(book["asks"]) <= 20
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["nonce"] > 0

    trades = await exchange.fetch_trades("BTC/USD", limit=10)
    assert 0 < len(trades) <= 10
    assert all(t["side"] in ("buy", "sell") and t["amount"] > 0 for t in trades)
    ids = [int(t["id"]) for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))

    bars = await exchange.fetch_ohlcv("BTC/USD", "1s", limit=5)
    assert 0 < len(bars) <= 5
    for start, o, h, lo, c, v in bars:
        assert start % 1000 == 0 and lo <= min(o, c) <= max(o, c) <= h and v >= 0
    with pytest.raises(Exception, match="-1120|Invalid interval|timeframe"):
        await exchange.fetch_ohlcv("BTC/USD", "5m", limit=5)

    ticker = await exchange.fetch_ticker("ETH/USD")
    assert ticker["symbol"] == "ETH/USD"
    assert ticker["bid"] is not None and ticker["ask"] is not None
    assert ticker["bid"] < ticker["ask"]


async def test_watch_order_book_stays_equal_to_fresh_snapshots_for_30s(
    exchange: Any,
) -> None:
    """Kept for 30 s from REST depth and @depth@100ms diffs by ccxt itself,
    then compared with fresh fetch_order_books taken at the same update id:
    the same top 50 levels, price and quantity."""
    await exchange.load_markets()
    deadline = time.monotonic() + 30
    book: Any = None
    updates = 0
    while time.monotonic() < deadline:
        book = await exchange.watch_order_book("BTC/USD")
        updates += 1
    assert updates > 100, f"only {updates} updates in 30 s"
    # ccxt spaces requests by their weight (500 ms for this depth): unspaced,
    # the snapshot is taken a few ms after the diff, often before the next
    # book change, so both are at the same update id.
    exchange.enableRateLimit = False
    exact = 0
    tries = 0
    while exact < 5 and tries < 100:
        tries += 1
        watched = await exchange.watch_order_book("BTC/USD")
        # ccxt keeps updating the same object while the fetch is awaited:
        # copy what it holds now, at this update id.
        nonce = watched["nonce"]
        bids = [list(level) for level in watched["bids"][:50]]
        asks = [list(level) for level in watched["asks"][:50]]
        assert bids[0][0] < asks[0][0], "the kept book crossed"
        fresh = await exchange.fetch_order_book("BTC/USD", 1000)
        assert fresh["nonce"] >= nonce, "a fresh snapshot older than the stream"
        if fresh["nonce"] == nonce:
            # Nothing changed between the diff and the snapshot: the kept book
            # must be exactly the server's.
            assert bids == [list(level) for level in fresh["bids"][:50]]
            assert asks == [list(level) for level in fresh["asks"][:50]]
            exact += 1
    assert exact >= 1, f"no snapshot at the stream's update id in {tries} tries"
    assert book is not None


async def test_watch_trades_follow_the_trades_stream(exchange: Any) -> None:
    await exchange.load_markets()
    seen: list[int] = []
    while len(seen) < 20:
        trades = await exchange.watch_trades("BTC/USD")
        seen.extend(int(t["id"]) for t in trades if int(t["id"]) not in seen)
    assert seen == sorted(seen)
    assert seen == list(range(seen[0], seen[0] + len(seen))), "no trade missing"
