"""The asyncio client.

::

    async with Client("ws://127.0.0.1:8080/ws", token=TOKEN) as client:
        book = await client.watch_book("BTC-USD")
        async for event in client.events():
            if isinstance(event, BookUpdated):
                print(event.book.best_bid(), event.book.best_ask())

One background task reads the socket: it answers requests (futures keyed by
the request ``id``), keeps each watched book (every ``seq`` checked, every
checksum recomputed; a gap, a mismatch, or a heartbeat naming a later
``seq`` sends a new subscribe for that symbol alone), and hands events to
whoever iterates :meth:`events`. Private events are never dropped; market
events are dropped (and counted) only for an iterator that falls more than
``event_backlog`` behind. There is no automatic reconnect: when the
connection drops, pending requests fail with :class:`DisconnectedError` and
:meth:`events` ends; open a new client to go on, passing the old one's
``last_private_seq`` as ``resume_private_seq`` so the fills missed in
between come first.

Private events carry the account's ``seq`` (gap-free, durable across server
restarts). A gap means events were missed: the client asks ``fills`` for
the fills after the last ``seq`` it has, emits a :class:`PrivateGap`, then
each missed fill as a :class:`Fill`; every event is delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .book import BookKey, OrderBook, book_key, heartbeat_key, message_key
from .errors import (
    DisconnectedError,
    NotConnectedError,
    RequestTimeoutError,
    TickwireError,
    from_error_message,
)
from .messages import (
    Account,
    BookUpdated,
    Event,
    Fill,
    Instrument,
    Notice,
    OpenOrder,
    OrderAccepted,
    OrderAmended,
    OrderDone,
    OrderStatus,
    Position,
    PrivateGap,
    Resync,
    Stats,
    Trade,
    build,
)

# What each request's successful answer is called.
_ANSWER = {
    "subscribe": "subscribed",
    "unsubscribe": "unsubscribed",
    "instruments": "instruments",
    "auth": "authenticated",
    "order": "order_accepted",
    "cancel": "order_done",
    "cancel_all": "canceled_all",
    "open_orders": "open_orders",
    "account": "account",
    "amend": "order_amended",
    "order_status": "order_status",
    "fills": "fills",
    "faults": "faults",
    "ping": "pong",
}

_PRIVATE = {
    "order_accepted": OrderAccepted,
    "order_amended": OrderAmended,
    "fill": Fill,
    "order_done": OrderDone,
}


class PrivateSequence:
    """The account's private ``seq`` as applied: which events are new, and
    whether some were missed."""

    def __init__(self, last: int | None = None) -> None:
        self.last = last
        """The highest ``seq`` with every one before it applied."""
        self._ahead: set[int] = set()

    @property
    def has_gap(self) -> bool:
        return bool(self._ahead)

    def observe(self, seq: int) -> bool:
        """False if ``seq`` was applied already; the first sets the base."""
        if self.last is None:
            self.last = seq
            return True
        if seq <= self.last or seq in self._ahead:
            return False
        self._ahead.add(seq)
        while self.last + 1 in self._ahead:
            self._ahead.remove(self.last + 1)
            self.last += 1
        return True

    @property
    def highest(self) -> int | None:
        """The highest ``seq`` applied, gaps or not."""
        if self.last is None:
            return None
        return max(self.last, *self._ahead) if self._ahead else self.last

    def settle(self, up_to: int) -> None:
        """What was missing up to ``up_to`` is accounted for another way:
        go on from there (gaps above it stay gaps)."""
        if self.last is None or up_to <= self.last:
            return
        self.last = up_to
        self._ahead = {seq for seq in self._ahead if seq > up_to}
        while self.last + 1 in self._ahead:
            self._ahead.remove(self.last + 1)
            self.last += 1


class _BookState:
    def __init__(self) -> None:
        self.book = OrderBook()
        self.seq = 0
        self.live = False
        self.resync_pending = False
        # Set once the first snapshot has been applied.
        self.ready = asyncio.Event()


class Client:
    """A tickwire connection. Use ``async with`` (or :meth:`connect` and
    :meth:`close`)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        cancel_on_disconnect: bool = False,
        verify_checksums: bool = True,
        request_timeout: float = 10.0,
        event_backlog: int = 10_000,
        drop_inbound: Callable[[dict[str, Any]], bool] | None = None,
        resume_private_seq: int | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.cancel_on_disconnect = cancel_on_disconnect
        self.verify_checksums = verify_checksums
        self.request_timeout = request_timeout
        self.event_backlog = event_backlog
        self.drop_inbound = drop_inbound
        """For tests of the integrity checks: return True to drop a message."""
        self.stats = Stats()
        self.instruments: dict[str, Instrument] = {}
        self.mode = "live"
        self.account_name: str | None = None
        self.halted: set[str] = set()
        """v1.1: the symbols whose market is halted (from ``status``
        messages of the ticker stream); orders on them raise
        :class:`MarketHaltedError`."""
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._next_id = 1
        # Each book stream: the whole book (depth and interval None) or a
        # view of it (v1.1), by (symbol, depth, interval).
        self._books: dict[BookKey, _BookState] = {}
        self._trade_seq: dict[str, int] = {}
        self._queues: list[asyncio.Queue[Event | None]] = []
        self._closed = asyncio.Event()
        self.close_reason: str | None = None
        self._sequence = PrivateSequence(resume_private_seq)
        self._recovering = False
        # The highest private seq applied when the last `fills` answer came:
        # every fill up to it is in that answer or was received live.
        self._fills_horizon: int | None = None
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Opens the connection, learns the instruments, authenticates if a
        token was given. Raises ``OSError`` if the server is unreachable."""
        self._ws = await connect(self.url, max_size=None, open_timeout=self.request_timeout)
        self._reader = asyncio.create_task(self._read(self._ws))
        answer = await self._request({"op": "instruments"})
        self.mode = str(answer.get("mode", "live"))
        self.instruments = {i["symbol"]: build(Instrument, i) for i in answer["instruments"]}
        if self.token is not None:
            await self.auth(self.token, cancel_on_disconnect=self.cancel_on_disconnect)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------- requests

    async def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        ws = self._ws
        op = str(request["op"])
        if ws is None or self._closed.is_set():
            raise NotConnectedError(f"not connected: {op} was not sent", op)
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (op, future)
        try:
            await ws.send(json.dumps({**request, "id": request_id}))
            return await asyncio.wait_for(future, self.request_timeout)
        except ConnectionClosed as closed:
            raise DisconnectedError(
                f"the connection closed before {op} was answered", op
            ) from closed
        except TimeoutError as late:
            raise RequestTimeoutError(
                f"no answer to {op} within {self.request_timeout} s", op
            ) from late
        finally:
            self._pending.pop(request_id, None)

    async def ping(self) -> int:
        """The server's clock (ns since the Unix epoch)."""
        return int((await self._request({"op": "ping"}))["ts"])

    async def faults(self, spec: str) -> dict[str, Any]:
        """Sets faults on this connection's market data (``""`` clears
        them), to prove an application recovers from each: only on a server
        started with ``--allow-fault-requests`` (docs/testing.md has the
        spec). Returns the answer (``spec`` and ``seed``). They end with the
        connection."""
        return await self._request({"op": "faults", "spec": spec})

    async def subscribe(
        self,
        channels: list[str],
        symbols: list[str],
        interval: str | None = None,
        *,
        depth: int | None = None,
    ) -> list[dict[str, Any]]:
        """Subscribes; returns the connection's whole set of subscriptions.
        ``interval`` is the candles' (``1s``, ``1m``) or, for the book, a
        view's (``100ms``, ``1s``; with ``candles`` among the channels it is
        the candles'); ``depth`` (10, 25, 100) asks for a view of the book."""
        request: dict[str, Any] = {"op": "subscribe", "channels": channels, "symbols": symbols}
        if interval is not None:
            request["interval"] = interval
        if depth is not None:
            request["depth"] = depth
        for symbol in symbols:
            if "book" in channels:
                key = book_key(symbol, channels, depth, interval)
                self._books.setdefault(key, _BookState()).live = False
        subscriptions: list[dict[str, Any]] = (await self._request(request))["subscriptions"]
        return subscriptions

    async def watch_book(
        self,
        symbol: str,
        heartbeat: bool = True,
        *,
        depth: int | None = None,
        interval: str | None = None,
    ) -> OrderBook:
        """Subscribes to ``symbol``'s book (and heartbeat, so that a quiet
        book can still prove it missed nothing) and returns the book once
        its snapshot has arrived. The book is kept up to date in place.
        ``depth`` (10, 25, 100) and ``interval`` (``100ms``, ``1s``) ask for
        a view of the book (v1.1): its top levels, at most once per
        interval; each view is a book of its own, verified the same way."""
        key = (symbol, depth, interval)
        state = self._books.setdefault(key, _BookState())
        await self.subscribe(
            ["book", "heartbeat"] if heartbeat else ["book"], [symbol], interval, depth=depth
        )
        ready = asyncio.ensure_future(state.ready.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        await asyncio.wait([ready, closed], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        closed.cancel()
        if not state.ready.is_set():
            raise DisconnectedError(f"the connection closed before {symbol}'s snapshot")
        return state.book

    def book(
        self, symbol: str, *, depth: int | None = None, interval: str | None = None
    ) -> OrderBook | None:
        state = self._books.get((symbol, depth, interval))
        return state.book if state is not None else None

    def book_live(
        self, symbol: str, *, depth: int | None = None, interval: str | None = None
    ) -> bool:
        """Whether the book is in sequence now (false while a fresh snapshot
        is awaited: at the start, after a gap or a lag, and while a cluster
        gateway's streams are interrupted)."""
        state = self._books.get((symbol, depth, interval))
        return state is not None and state.live

    def book_seq(
        self, symbol: str, *, depth: int | None = None, interval: str | None = None
    ) -> int:
        state = self._books.get((symbol, depth, interval))
        return state.seq if state is not None else 0

    def resync(
        self,
        symbol: str,
        reason: str = "manual",
        *,
        depth: int | None = None,
        interval: str | None = None,
    ) -> None:
        """Asks for a fresh snapshot of ``symbol``'s book (or of a view of
        it). Asked for by hand on a live book, it is a check: the snapshot
        must equal the book."""
        state = self._books.get((symbol, depth, interval))
        if state is None or self._closed.is_set():
            return
        if reason != "manual":
            state.live = False
            if state.resync_pending:
                return
        state.resync_pending = True
        self.stats.resyncs += 1
        self._emit(Resync(symbol, reason))
        request: dict[str, Any] = {"op": "subscribe", "channels": ["book"], "symbols": [symbol]}
        if depth is not None:
            request["depth"] = depth
        if interval is not None:
            request["interval"] = interval
        task = asyncio.get_running_loop().create_task(self._request(request))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # -------------------------------------------------------------- trading

    async def auth(self, token: str, *, cancel_on_disconnect: bool = False) -> str:
        request: dict[str, Any] = {"op": "auth", "token": token}
        if cancel_on_disconnect:
            request["cancel_on_disconnect"] = True
        account = str((await self._request(request))["account"])
        if self.account_name is not None and account != self.account_name:
            self._sequence = PrivateSequence()
        self.account_name = account
        self.token = token
        if self._sequence.last is not None:
            await self._recover_private()
        return self.account_name

    @property
    def last_private_seq(self) -> int | None:
        """The last private ``seq`` applied with none missing before it: a
        new client resumes from it (``resume_private_seq``)."""
        return self._sequence.last

    async def order(
        self,
        symbol: str,
        side: str,
        qty: str,
        price: str | None = None,
        *,
        order_type: str | None = None,
        tif: str | None = None,
        post_only: bool | None = None,
        client_order_id: str | None = None,
    ) -> OrderAccepted:
        """Places an order (a limit order when ``price`` is given, else a
        market order) and returns its acknowledgement."""
        request: dict[str, Any] = {
            "op": "order",
            "symbol": symbol,
            "side": side,
            "qty": qty,
            "order_type": order_type or ("limit" if price is not None else "market"),
        }
        for name, value in (
            ("price", price),
            ("tif", tif),
            ("post_only", post_only),
            ("client_order_id", client_order_id),
        ):
            if value is not None:
                request[name] = value
        return build(OrderAccepted, await self._request(request))

    async def cancel(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> OrderDone:
        request: dict[str, Any] = {"op": "cancel", "symbol": symbol}
        if order_id is not None:
            request["order_id"] = order_id
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        return build(OrderDone, await self._request(request))

    async def amend(
        self,
        symbol: str,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        qty: str | None = None,
        price: str | None = None,
    ) -> OrderAmended:
        """A resting order's new total ``qty`` and/or ``price``. A lower
        quantity keeps queue priority; a price change or more loses it."""
        request: dict[str, Any] = {"op": "amend", "symbol": symbol}
        for name, value in (
            ("order_id", order_id),
            ("client_order_id", client_order_id),
            ("qty", qty),
            ("price", price),
        ):
            if value is not None:
                request[name] = value
        return build(OrderAmended, await self._request(request))

    async def order_status(
        self, symbol: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> OrderStatus:
        """An order open now or done within 24 hours."""
        request: dict[str, Any] = {"op": "order_status", "symbol": symbol}
        if order_id is not None:
            request["order_id"] = order_id
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        return build(OrderStatus, (await self._request(request))["order"])

    async def fills(
        self,
        since: int | None = None,
        *,
        since_ts: int | None = None,
        symbol: str | None = None,
    ) -> list[Fill]:
        """The account's fills after private ``seq`` ``since`` (or from
        ``since_ts``), oldest first, every page of them."""
        request: dict[str, Any] = {"op": "fills"}
        if since is not None:
            request["since"] = since
        if since_ts is not None:
            request["since_ts"] = since_ts
        if symbol is not None:
            request["symbol"] = symbol
        found: list[Fill] = []
        while True:
            answer = await self._request(request)
            page = [build(Fill, f) for f in answer["fills"]]
            found.extend(page)
            if not answer.get("more") or not page:
                return found
            request = {"op": "fills", "since": page[-1].seq}
            if symbol is not None:
                request["symbol"] = symbol

    async def _recover_private(self) -> None:
        """Fills missed since the last ``seq`` applied, each once."""
        after = self._sequence.last
        if after is None or self._recovering:
            return
        self._recovering = True
        self.stats.private_gaps += 1
        try:
            found = await self.fills(after)
            horizon = self._fills_horizon
            missed = [f for f in found if self._sequence.observe(f.seq)]
            self._sequence.settle(max(horizon or after, *(f.seq for f in found), after))
            self._emit(PrivateGap(after=after, recovered_fills=len(missed)), private=True)
            for fill in missed:
                self.stats.fills_recovered += 1
                self._emit(fill, private=True)
        finally:
            self._recovering = False
        if self._sequence.has_gap:
            await self._recover_private()

    async def cancel_all(self, symbol: str | None = None) -> int:
        request: dict[str, Any] = {"op": "cancel_all"}
        if symbol is not None:
            request["symbol"] = symbol
        return int((await self._request(request))["count"])

    async def open_orders(self, symbol: str | None = None) -> list[OpenOrder]:
        request: dict[str, Any] = {"op": "open_orders"}
        if symbol is not None:
            request["symbol"] = symbol
        return [build(OpenOrder, o) for o in (await self._request(request))["orders"]]

    async def account(self) -> Account:
        answer = await self._request({"op": "account"})
        positions = [build(Position, p) for p in answer["positions"]]
        return Account(account=answer["account"], cash=answer["cash"], positions=positions)

    # --------------------------------------------------------------- events

    def events(self) -> EventStream:
        """Every event from this call on, until the connection closes (the
        stream listens from the moment it is made, not from the first
        ``await``, so nothing between is missed). ``aclose()`` it when done."""
        return EventStream(self)

    def _emit(self, event: Event, private: bool = False) -> None:
        for queue in self._queues:
            if private or queue.qsize() < self.event_backlog:
                queue.put_nowait(event)
            else:
                self.stats.events_dropped += 1

    # ------------------------------------------------------------- reading

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                if not isinstance(text, str):
                    continue
                message: dict[str, Any] = json.loads(text)
                if self.drop_inbound is not None and self.drop_inbound(message):
                    continue
                self._handle(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_reason = _close_reason(ws)
            self._closed.set()
            for _op, future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        DisconnectedError(
                            f"the connection closed ({self.close_reason}) before the answer came"
                        )
                    )
            for queue in self._queues:
                queue.put_nowait(None)

    def _handle(self, m: dict[str, Any]) -> None:
        kind = m.get("type")
        if kind == "fills":
            self._fills_horizon = self._sequence.highest
        if kind == "book_snapshot":
            self._on_snapshot(m)
        elif kind == "book_update":
            self._on_update(m)
        elif kind == "trade":
            self._on_trade(m)
        elif kind == "status":
            symbol = str(m.get("symbol"))
            if m.get("status") == "halted":
                self.halted.add(symbol)
            else:
                self.halted.discard(symbol)
            self._emit(Notice("status", m))
        elif kind == "heartbeat":
            self._on_heartbeat(m)
            self._emit(Notice("heartbeat", m))
        elif kind in ("lagged", "replay_loop"):
            self._on_fresh_state_coming(m)
            self._emit(Notice(str(kind), m))
        elif kind == "stream_interrupted":
            # Cluster mode: a gateway stopped this symbol's streams; its book
            # is not live until the fresh snapshot after `stream_resumed`.
            symbol = str(m.get("symbol"))
            for key, state in self._books.items():
                if key[0] == symbol:
                    state.live = False
            self._emit(Notice(str(kind), m))
        elif isinstance(kind, str) and kind in _PRIVATE:
            self._on_private(m, kind)
        elif kind not in ("error", *_ANSWER.values()):
            self._emit(Notice(str(kind), m))
        self._answer(m)

    def _on_private(self, m: dict[str, Any], kind: str) -> None:
        seq = m.get("seq")
        if isinstance(seq, int) and not self._sequence.observe(seq):
            return
        self._emit(build(_PRIVATE[kind], m), private=True)
        if self._sequence.has_gap and not self._recovering:
            task = asyncio.get_running_loop().create_task(self._recover_private())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _answer(self, m: dict[str, Any]) -> None:
        request_id = m.get("id")
        if not isinstance(request_id, int) or request_id not in self._pending:
            return
        op, future = self._pending[request_id]
        if future.done():
            return
        if m.get("type") == "error":
            future.set_exception(from_error_message(m))
        elif m.get("type") == _ANSWER.get(op):
            future.set_result(m)

    def _on_snapshot(self, m: dict[str, Any]) -> None:
        symbol, depth, interval = key = message_key(m)
        state = self._books.get(key)
        if state is None:
            return
        if state.live and m["seq"] == state.seq:
            if state.book.equals(m["bids"], m["asks"]):
                self.stats.snapshots_verified += 1
            else:
                self.stats.checksum_mismatches += 1
        state.book.reset(m["bids"], m["asks"])
        state.seq = int(m["seq"])
        state.live = True
        state.resync_pending = False
        state.ready.set()
        if self.verify_checksums and state.book.checksum() != m["checksum"]:
            self.stats.checksum_mismatches += 1
            self.resync(symbol, "checksum", depth=depth, interval=interval)
            return
        self._emit(BookUpdated(symbol, state.seq, state.book, depth, interval))

    def _on_update(self, m: dict[str, Any]) -> None:
        symbol, depth, interval = key = message_key(m)
        state = self._books.get(key)
        seq = int(m["seq"])
        if state is None or not state.live or seq <= state.seq:
            return
        if seq != state.seq + 1:
            self.stats.gaps += 1
            self.resync(symbol, "gap", depth=depth, interval=interval)
            return
        state.book.apply(m["bids"], m["asks"])
        state.seq = seq
        self.stats.book_updates += 1
        if self.verify_checksums:
            if state.book.checksum() != m["checksum"]:
                self.stats.checksum_mismatches += 1
                self.resync(symbol, "checksum", depth=depth, interval=interval)
                return
            self.stats.checksums_verified += 1
        self._emit(BookUpdated(symbol, seq, state.book, depth, interval))

    def _on_trade(self, m: dict[str, Any]) -> None:
        symbol = str(m["symbol"])
        seq = int(m["seq"])
        last = self._trade_seq.get(symbol, 0)
        if last and seq > last + 1:
            self.stats.gaps += 1
            self.stats.trades_missed += seq - last - 1
        self._trade_seq[symbol] = seq
        self._emit(build(Trade, m))

    def _on_heartbeat(self, m: dict[str, Any]) -> None:
        symbol = str(m["symbol"])
        last_seq = m.get("last_seq", {})
        for (name, depth, interval), state in list(self._books.items()):
            if name != symbol:
                continue
            last = last_seq.get(heartbeat_key(depth, interval), 0)
            if state.live and isinstance(last, int) and last > state.seq:
                self.stats.gaps += 1
                self.resync(symbol, "heartbeat", depth=depth, interval=interval)

    def _on_fresh_state_coming(self, m: dict[str, Any]) -> None:
        # After `lagged` the server sends fresh snapshots of every book; after
        # `replay_loop` every sequence starts again with fresh state.
        if m.get("type") == "lagged":
            self.stats.lagged += 1
        else:
            self._trade_seq.clear()
        for state in self._books.values():
            state.live = False


class EventStream:
    """An async iterator over a client's events; see :meth:`Client.events`."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._open = True
        client._queues.append(self._queue)
        if client._closed.is_set():
            self._queue.put_nowait(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if not self._open:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            await self.aclose()
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._client._queues.remove(self._queue)


def _close_reason(ws: ClientConnection) -> str:
    code = ws.close_code
    if code is None or code == 1006:
        return "the connection was lost"
    return f"{code} {ws.close_reason or ''}".strip()


__all__ = ["Client", "TickwireError"]
