"""Typed messages: what the client hands back from requests and yields from
:meth:`Client.events`. Decimal values stay the protocol's exact strings."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from .book import OrderBook

T = TypeVar("T")


def build(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` from a message's fields (extra fields ignored, missing ones None)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: data.get(name) for name in names})


@dataclass(frozen=True)
class Instrument:
    symbol: str
    tick_size: str
    lot_size: str
    price_decimals: int
    qty_decimals: int
    max_qty: str
    band: str


@dataclass(frozen=True)
class OrderAccepted:
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    price: str | None
    qty: str
    tif: str
    ts: int
    seq: int = 0
    """The account's private sequence number (gap-free, durable)."""


@dataclass(frozen=True)
class Fill:
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    price: str
    qty: str
    liquidity: str
    trade_id: str
    leaves_qty: str
    position: str
    ts: int
    seq: int = 0


@dataclass(frozen=True)
class OrderDone:
    order_id: str
    client_order_id: str | None
    symbol: str
    reason: str
    filled_qty: str
    ts: int
    seq: int = 0


@dataclass(frozen=True)
class PrivateGap:
    """Private events were missed (a ``seq`` gap, or a client resumed
    from an earlier one's ``last_private_seq``). The fills missed follow as
    :class:`Fill` events, from ``fills``; the state of orders is in
    :meth:`Client.open_orders`."""

    after: int
    recovered_fills: int


@dataclass(frozen=True)
class OpenOrder:
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    price: str | None
    qty: str
    leaves_qty: str
    tif: str
    ts: int


@dataclass(frozen=True)
class OrderAmended(OpenOrder):
    """The order with its new ``price``, total ``qty`` and ``leaves_qty``;
    ``ts`` is the amend's."""

    seq: int = 0


@dataclass(frozen=True)
class OrderStatus(OpenOrder):
    """An order open now or done within 24 hours (``order_status``)."""

    status: str = "open"
    filled_qty: str = "0"


@dataclass(frozen=True)
class Position:
    symbol: str
    position: str
    avg_price: str
    realized_pnl: str


@dataclass(frozen=True)
class Account:
    account: str
    cash: str
    positions: list[Position]


@dataclass(frozen=True)
class Trade:
    symbol: str
    seq: int
    ts: int
    trade_id: str
    price: str
    qty: str
    side: str


@dataclass(frozen=True)
class BookUpdated:
    """A book changed (a snapshot or an update, verified); ``book`` is the
    live book itself, so read it before awaiting anything else. ``depth``
    and ``interval`` name the view of the book (v1.1) it is, if any."""

    symbol: str
    seq: int
    book: OrderBook
    depth: int | None = None
    interval: str | None = None


@dataclass(frozen=True)
class Resync:
    """The client asked for a fresh snapshot of ``symbol``'s book."""

    symbol: str
    reason: str


@dataclass(frozen=True)
class Notice:
    """Any other message (ticker, candle, heartbeat, lagged, shutdown,
    replay notices), as received."""

    type: str
    data: dict[str, Any]


Event = (
    BookUpdated
    | Trade
    | Resync
    | OrderAccepted
    | OrderAmended
    | Fill
    | OrderDone
    | PrivateGap
    | Notice
)


@dataclass
class Stats:
    """What the client counts about the feed's integrity."""

    book_updates: int = 0
    checksums_verified: int = 0
    snapshots_verified: int = 0
    gaps: int = 0
    checksum_mismatches: int = 0
    resyncs: int = 0
    lagged: int = 0
    trades_missed: int = 0
    events_dropped: int = 0
    private_gaps: int = 0
    fills_recovered: int = 0
    extra: dict[str, int] = field(default_factory=dict)
