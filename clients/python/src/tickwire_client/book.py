"""A local order book kept from ``book_snapshot`` and ``book_update`` levels.

Levels keep the server's wire strings exactly, so the checksum is computed
over the same text the server used; prices are ordered by their exact
``Decimal`` value.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

Level = tuple[str, str]
"""``(price, qty)``, both wire strings; a qty of ``"0"`` removes the level."""

CHECKSUM_DEPTH = 10


def checksum_string(bids: Sequence[Level], asks: Sequence[Level]) -> str:
    """The text the protocol's CRC-32 covers: top 10 bids ``|`` top 10 asks."""

    def side(levels: Sequence[Level]) -> str:
        return ",".join(f"{price}:{qty}" for price, qty in levels[:CHECKSUM_DEPTH])

    return f"{side(bids)}|{side(asks)}"


def book_checksum(bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """CRC-32 (zlib's) of :func:`checksum_string`."""
    return zlib.crc32(checksum_string(bids, asks).encode()) & 0xFFFFFFFF


def _is_zero(qty: str) -> bool:
    return Decimal(qty) == 0


class _Side:
    """Prices sorted best first, and each price's quantity."""

    def __init__(self, descending: bool) -> None:
        self._sign = -1 if descending else 1
        self._keys: list[Decimal] = []
        self._prices: list[str] = []
        self.qty: dict[str, str] = {}

    def clear(self) -> None:
        self._keys.clear()
        self._prices.clear()
        self.qty.clear()

    def set(self, price: str, qty: str) -> None:
        removing = _is_zero(qty)
        key = self._sign * Decimal(price)
        if price in self.qty:
            if removing:
                i = bisect.bisect_left(self._keys, key)
                del self._keys[i]
                del self._prices[i]
                del self.qty[price]
            else:
                self.qty[price] = qty
        elif not removing:
            i = bisect.bisect_left(self._keys, key)
            self._keys.insert(i, key)
            self._prices.insert(i, price)
            self.qty[price] = qty

    def levels(self, depth: int | None = None) -> list[Level]:
        prices = self._prices if depth is None else self._prices[:depth]
        return [(p, self.qty[p]) for p in prices]

    def __len__(self) -> int:
        return len(self._prices)


class OrderBook:
    """One symbol's book: bids best (highest) first, asks best (lowest) first."""

    def __init__(self) -> None:
        self._bids = _Side(descending=True)
        self._asks = _Side(descending=False)

    def reset(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Replaces the whole book with a snapshot's levels."""
        self._bids.clear()
        self._asks.clear()
        self.apply(bids, asks)

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Applies an update: each level's new total; ``"0"`` removes it."""
        for price, qty in bids:
            self._bids.set(price, qty)
        for price, qty in asks:
            self._asks.set(price, qty)

    def bids(self, depth: int | None = None) -> list[Level]:
        return self._bids.levels(depth)

    def asks(self, depth: int | None = None) -> list[Level]:
        return self._asks.levels(depth)

    def best_bid(self) -> Level | None:
        top = self._bids.levels(1)
        return top[0] if top else None

    def best_ask(self) -> Level | None:
        top = self._asks.levels(1)
        return top[0] if top else None

    def checksum(self) -> int:
        return book_checksum(self.bids(CHECKSUM_DEPTH), self.asks(CHECKSUM_DEPTH))

    def equals(self, bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> bool:
        """Whether the book holds exactly these levels (a snapshot's)."""
        return self.bids() == [(p, q) for p, q in bids] and self.asks() == [(p, q) for p, q in asks]


# The book streams of v1.1: the whole book or a view of it.

BookKey = tuple[str, int | None, str | None]
"""A book stream: (symbol, depth, interval); None, None is the whole book."""

_BOOK_INTERVALS = ("100ms", "1s")


def book_key(symbol: str, channels: list[str], depth: int | None, interval: str | None) -> BookKey:
    """The book stream a subscribe names: ``interval`` is the book's unless
    it is the candles' (``1s``/``1m`` with ``candles`` among the channels),
    as the server reads it."""
    candles = "candles" in channels and interval in ("1s", "1m")
    throttle = interval if interval in _BOOK_INTERVALS and not candles else None
    return (symbol, depth, throttle)


def message_key(m: dict[str, Any]) -> BookKey:
    depth = m.get("depth")
    interval = m.get("interval")
    return (
        str(m["symbol"]),
        depth if isinstance(depth, int) else None,
        interval if isinstance(interval, str) else None,
    )


def heartbeat_key(depth: int | None, interval: str | None) -> str:
    """A book stream's name in a heartbeat's ``last_seq``: ``book``,
    ``book_10``, ``book_25_100ms``."""
    key = "book"
    if depth is not None:
        key += f"_{depth}"
    if interval is not None:
        key += f"_{interval}"
    return key
