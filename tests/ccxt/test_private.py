"""ccxt's signed methods against a live tickwire through the Binance
dialect: orders, balances and trades of the account `alice` (conftest.py),
and the refusals of a wrong signature and a stale timestamp; each against
`serve` and against a cluster gateway (`venue`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import ccxt
import pytest
import pytest_asyncio

from conftest import API_KEY, API_SECRET
from pointing import pointed_at


@pytest_asyncio.fixture
async def alice(venue: str) -> AsyncIterator[Any]:
    ex = pointed_at(venue, API_KEY, API_SECRET)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


def free(balance: Any, asset: str) -> float:
    return float(balance[asset]["free"])


async def test_limit_order_rests_is_listed_and_canceled(alice: Any) -> None:
    book = await alice.fetch_order_book("BTC/USD", 5)
    price = round(book["bids"][0][0] * 0.95, 2)  # far below the touch: rests
    before = await alice.fetch_balance()
    order = await alice.create_order(
        "BTC/USD", "limit", "buy", 0.01, price, {"newClientOrderId": "rest-1"}
    )
    assert order["status"] == "open"
    assert order["clientOrderId"] == "rest-1"
    assert order["filled"] == 0 and order["amount"] == 0.01 and order["price"] == price
    locked = await alice.fetch_balance()
    assert locked["USD"]["used"] == pytest.approx(before["USD"]["used"] + price * 0.01)
    open_orders = await alice.fetch_open_orders("BTC/USD")
    assert order["id"] in [o["id"] for o in open_orders]
    fetched = await alice.fetch_order(order["id"], "BTC/USD")
    assert fetched["status"] == "open" and fetched["clientOrderId"] == "rest-1"
    canceled = await alice.cancel_order(order["id"], "BTC/USD")
    assert canceled["status"] == "canceled"
    assert order["id"] not in [
        o["id"] for o in await alice.fetch_open_orders("BTC/USD")
    ]
    with pytest.raises(ccxt.OrderNotFound):
        await alice.cancel_order(order["id"], "BTC/USD")
    after = await alice.fetch_balance()
    assert after["USD"]["used"] == pytest.approx(before["USD"]["used"])
    orders = await alice.fetch_orders("BTC/USD")
    assert [o["status"] for o in orders if o["id"] == order["id"]] == ["canceled"]


async def test_market_order_fills_and_moves_balances_and_trades(alice: Any) -> None:
    before = await alice.fetch_balance()
    order = await alice.create_order("BTC/USD", "market", "buy", 0.05)
    assert order["status"] == "closed", order
    assert order["filled"] == pytest.approx(0.05)
    assert order["cost"] > 0 and order["average"] > 0
    assert len(order["trades"]) >= 1
    after = await alice.fetch_balance()
    assert free(after, "BTC") == pytest.approx(free(before, "BTC") + 0.05)
    assert free(after, "USD") == pytest.approx(free(before, "USD") - order["cost"])
    trades = await alice.fetch_my_trades("BTC/USD")
    mine = [t for t in trades if t["order"] == order["id"]]
    assert sum(t["amount"] for t in mine) == pytest.approx(0.05)
    assert all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in mine)


async def test_selling_more_than_the_balance_is_binance_insufficient_balance(
    alice: Any,
) -> None:
    balance = await alice.fetch_balance()
    too_much = round(free(balance, "BTC") + 1, 4)
    with pytest.raises(ccxt.InsufficientFunds):
        await alice.create_order("BTC/USD", "market", "sell", too_much)
    assert free(await alice.fetch_balance(), "BTC") == pytest.approx(
        free(balance, "BTC")
    )


async def test_off_tick_price_is_a_filter_failure(alice: Any) -> None:
    book = await alice.fetch_order_book("BTC/USD", 5)
    off_tick = f"{book['bids'][0][0] - 10:.2f}5"  # create_order would round it
    request = {
        "symbol": "BTCUSD",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": off_tick,
    }
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await alice.private_post_order(request)


async def test_wrong_signature_and_stale_timestamp_are_refused(venue: str) -> None:
    wrong = pointed_at(venue, API_KEY, "not-the-secret-at-all")
    try:
        await wrong.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await wrong.fetch_balance()
    finally:
        await wrong.close()
    stale = pointed_at(venue, API_KEY, API_SECRET)
    try:
        await stale.load_markets()
        stale.nonce = lambda: stale.milliseconds() - 60_000
        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            await stale.fetch_balance()
    finally:
        await stale.close()


async def closed_on_the_stream(ex: Any, waiting: Any, order_id: str) -> Any:
    """The order as ccxt's `watch_orders` has it once the user data stream
    said it is closed. `waiting` is a `watch_orders` task started before the
    order was placed.

    ccxt resolves a watch only on a message that arrives while it waits. A
    message that comes between two calls is not lost (ccxt keeps it in its
    cache, `ex.orders`), but the next call returns it only when a further
    message comes, and a filled market order's fill may be its last. So each
    new watch is registered before the cache is read: every report is then
    either in the cache or wakes the watch, whatever the scheduling."""
    async with asyncio.timeout(10):
        while True:
            await waiting
            waiting = asyncio.ensure_future(ex.watch_orders("BTC/USD"))
            # One step of the task registers the watch: ccxt's `watch` is synchronous.
            await asyncio.sleep(0)
            mine = [o for o in ex.orders if o["id"] == order_id]
            if mine and mine[-1]["status"] == "closed":
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
                return mine[-1]


async def test_watch_orders_receives_the_fill_of_a_marketable_order(alice: Any) -> None:
    # The user data subscription, confirmed before the order is placed.
    await alice.authenticate()
    first = asyncio.ensure_future(alice.watch_orders("BTC/USD"))
    await asyncio.sleep(0)  # the watch is waiting before the order
    order = await alice.create_order("BTC/USD", "market", "buy", 0.02)
    mine = await closed_on_the_stream(alice, first, order["id"])
    assert mine["filled"] == pytest.approx(0.02)
    assert mine["side"] == "buy" and mine["type"] == "market"


async def test_watch_my_trades_and_balance_follow_a_fill(alice: Any) -> None:
    await alice.authenticate()
    trades_task = asyncio.ensure_future(alice.watch_my_trades("BTC/USD"))
    balance_task = asyncio.ensure_future(alice.watch_balance())
    await asyncio.sleep(0)  # both are waiting before the order
    order = await alice.create_order("BTC/USD", "market", "buy", 0.01)
    trades = await asyncio.wait_for(trades_task, 10)
    while not any(t["order"] == order["id"] for t in trades):
        trades = await asyncio.wait_for(alice.watch_my_trades("BTC/USD"), 10)
    balance = await asyncio.wait_for(balance_task, 10)
    rest = await alice.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(rest["BTC"]["free"])


async def test_orders_through_the_websocket_api(alice: Any) -> None:
    book = await alice.fetch_order_book("BTC/USD", 5)
    price = round(book["bids"][0][0] * 0.95, 2)
    order = await alice.create_order_ws("BTC/USD", "limit", "buy", 0.01, price)
    assert order["status"] == "open" and order["price"] == price
    canceled = await alice.cancel_order_ws(order["id"], "BTC/USD")
    assert canceled["status"] == "canceled"
    filled = await alice.create_order_ws("BTC/USD", "market", "buy", 0.01)
    assert filled["status"] == "closed" and filled["filled"] == pytest.approx(0.01)
