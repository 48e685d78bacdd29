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
    then compared with a fresh fetch_order_book: the same levels, allowing
    for the updates in flight between the two."""
    await exchange.load_markets()
    deadline = time.monotonic() + 30
    book: Any = None
    updates = 0
    while time.monotonic() < deadline:
        book = await exchange.watch_order_book("BTC/USD")
        updates += 1
    assert updates > 100, f"only {updates} updates in 30 s"
    exact = 0
    for _ in range(10):
        fresh = await exchange.fetch_order_book("BTC/USD", 1000)
        watched = await exchange.watch_order_book("BTC/USD")
        while watched["nonce"] < fresh["nonce"]:
            watched = await exchange.watch_order_book("BTC/USD")
        assert watched["bids"][0][0] < watched["asks"][0][0], "the kept book crossed"
        if watched["nonce"] == fresh["nonce"]:
            assert watched["bids"][:50] == fresh["bids"][:50]
            assert watched["asks"][:50] == fresh["asks"][:50]
            exact += 1
        else:
            # The book moved in the 100 ms between the two: most of the top
            # levels are still the same, price and quantity.
            for side in ("bids", "asks"):
                kept = {tuple(level) for level in watched[side][:20]}
                same = sum(1 for level in fresh[side][:20] if tuple(level) in kept)
                assert same >= 10, f"{side}: {same} of 20 levels agree"
    assert book is not None


async def test_watch_trades_follow_the_trades_stream(exchange: Any) -> None:
    await exchange.load_markets()
    seen: list[int] = []
    while len(seen) < 20:
        trades = await exchange.watch_trades("BTC/USD")
        seen.extend(int(t["id"]) for t in trades if int(t["id"]) not in seen)
    assert seen == sorted(seen)
    assert seen == list(range(seen[0], seen[0] + len(seen))), "no trade missing"
