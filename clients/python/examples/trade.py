"""Place a resting limit order below the market, list the open orders, then
cancel it.

    python clients/python/examples/trade.py --url ws://127.0.0.1:8080/ws --token TOKEN --symbol BTC-USD
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from decimal import Decimal

from tickwire_client import Client, TickwireError


async def trade(url: str, token: str, symbol: str) -> int:
    try:
        async with Client(url, token=token) as client:
            instrument = client.instruments[symbol]
            book = await client.watch_book(symbol, heartbeat=False)
            best_bid = book.best_bid()
            if best_bid is None:
                print(f"error: {symbol} has no bids to price the order from", file=sys.stderr)
                return 1
            tick = Decimal(instrument.tick_size)
            # 50 ticks under the best bid: it rests, it does not trade.
            price = Decimal(best_bid[0]) - 50 * tick
            accepted = await client.order(
                symbol, "buy", instrument.lot_size, f"{price:.{instrument.price_decimals}f}"
            )
            print(f"accepted {accepted.order_id}: buy {accepted.qty} {symbol} @ {accepted.price}")
            for order in await client.open_orders(symbol):
                print(f"open     {order.order_id}: {order.side} {order.leaves_qty} @ {order.price}")
            done = await client.cancel(symbol, accepted.order_id)
            print(f"done     {done.order_id}: {done.reason}, filled {done.filled_qty}")
            return 0
    except TickwireError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot connect to {url}: {error}", file=sys.stderr)
        return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--token", default=os.environ.get("TICKWIRE_TOKEN"))
    parser.add_argument("--symbol", default="BTC-USD")
    args = parser.parse_args()
    if args.token is None:
        parser.error("--token (or TICKWIRE_TOKEN) is needed to trade")
    return asyncio.run(trade(args.url, args.token, args.symbol))


if __name__ == "__main__":
    sys.exit(main())
