"""Watch one symbol's book: print the top of book each time it changes and,
at the end, how much was verified.

    python clients/python/examples/book.py --url ws://127.0.0.1:8080/ws --symbol BTC-USD --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tickwire_client import BookUpdated, Client, Resync


async def watch(url: str, symbol: str, seconds: float) -> int:
    try:
        client = Client(url)
        await client.connect()
    except OSError as error:
        print(f"error: cannot connect to {url}: {error}", file=sys.stderr)
        return 1
    async with client:
        if symbol not in client.instruments:
            known = ", ".join(client.instruments)
            print(f"error: unknown symbol {symbol} (the server has {known})", file=sys.stderr)
            return 1
        await client.watch_book(symbol)
        last_top = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        events = client.events()
        while (left := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(anext(events), left)
            except (TimeoutError, StopAsyncIteration):
                break
            if isinstance(event, Resync):
                print(f"resync {event.symbol} ({event.reason})")
            elif isinstance(event, BookUpdated) and event.symbol == symbol:
                bid, ask = event.book.best_bid(), event.book.best_ask()
                top = (bid, ask)
                if top != last_top:
                    last_top = top
                    print(f"seq {event.seq:>8}  bid {_level(bid):>24}  |  ask {_level(ask):<24}")
        await events.aclose()
        if not client.connected:
            print(f"error: the connection closed: {client.close_reason}", file=sys.stderr)
        s = client.stats
        print(
            f"verified {s.book_updates} updates, {s.checksums_verified} checksums, {s.resyncs} resyncs"
        )
        return 0 if s.checksum_mismatches == 0 and client.connected else 1


def _level(level: tuple[str, str] | None) -> str:
    return "-" if level is None else f"{level[0]} x {level[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--symbol", default="BTC-USD")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    return asyncio.run(watch(args.url, args.symbol, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
