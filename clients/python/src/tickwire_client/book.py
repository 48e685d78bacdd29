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
