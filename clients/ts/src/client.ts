/**
 * `connect(url, options)`: one tickwire connection that stays up.
 *
 * - Reconnects with exponential backoff and jitter; on each new connection
 *   it asks for the instruments, authenticates again (if it has a token),
 *   subscribes to every stream still wanted, and reconciles the account's
 *   open orders.
 * - Notices a dead connection: every message counts as life; when the feed
 *   is quiet it sends `ping`, and with nothing for `idleTimeoutMs` it drops
 *   the socket and reconnects.
 * - Market data goes to reference-counted streams (`book()`, `trades()`,
 *   `ticker()`, `candles()`) that check every `seq` and checksum and resync
 *   themselves; heartbeats are subscribed alongside, so a quiet stream can
 *   still prove it missed nothing.
 * - Requests are promises resolved by the response with the request's `id`
 *   and rejected with a typed error; private events also arrive as events
 *   and in `orders`. Orders are never queued: without an open connection
 *   they fail at once with `NotConnectedError`.
 */

import { backoffDelay } from "./backoff.js";
import {
  ClosedError,
  DisconnectedError,
  NotConnectedError,
  TickwireError,
  fromErrorMessage,
} from "./errors.js";
import { IntegrityCounters, type IntegrityStats } from "./integrity.js";
import { MarketData } from "./market.js";
import { Emitter, Value, type Observable } from "./observable.js";
import type {
  ClientEvents,
  ClientOptions,
  ConnectionInfo,
  ConnectionState,
  ServerInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./options.js";
import { OrdersStore } from "./orders.js";
import { PrivateSequence } from "./private.js";
import type {
  AccountState,
  AmendParams,
  Authenticated,
  CancelParams,
  Fill,
  FillsParams,
  FillsResponse,
  OrderAmended,
  OrderRef,
  OrderStatusEntry,
  OrderStatusResponse,
  BookViewOptions,
  CandleInterval,
  Instrument,
  InstrumentsResponse,
  OpenOrder,
  OrderAccepted,
  OrderDone,
  OrderParams,
  Pong,
  FaultsSet,
  PrivateEvent,
  Request,
  ServerMessage,
} from "./protocol.js";
import { RequestTable, type WithoutId } from "./requests.js";
import type {
  BookStream,
  CandlesStream,
  MarketStream,
  TickerStream,
  TradesStream,
} from "./streams.js";

export type {
  ClientEvents,
  ClientOptions,
  ConnectionInfo,
  ConnectionState,
  ServerInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./options.js";

const OPEN = 1;

export class TickwireClient {
  /** Connection state, observable. */
  readonly connection: Value<ConnectionInfo>;
  /** The server's mode and instruments (null until the first connection). */
  readonly server = new Value<ServerInfo | null>(null);
  /** Integrity counters: gaps, checksums, resyncs, lags, reconnects. */
  readonly stats = new IntegrityCounters();
  /** Open orders, fills and positions of the authenticated account. */
  readonly orders = new OrdersStore();
  private readonly events = new Emitter<ClientEvents>();
  private readonly requests: RequestTable;
  private readonly market: MarketData;
  private readonly options: ClientOptions;
  private socket: WebSocketLike | null = null;
  private attempt = 0;
  private opened = false;
  private closedByUser = false;
  private token: string | undefined;
  private cancelOnDisconnect: boolean;
  private lastMessageAt = 0;
  private lastPingAt = 0;
  private idleTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private accountTimer: ReturnType<typeof setTimeout> | null = null;
  private lastClose: ConnectionInfo["lastClose"] = null;
  /** The account's private `seq`, to notice missed events. */
  private readonly sequence = new PrivateSequence();
  private recovering = false;
  /**
   * The highest private `seq` applied when the last `fills` answer arrived:
   * every fill up to it is in that answer or came live. (A socket can
   * deliver several messages before the awaiting code resumes.)
   */
  private fillsHorizon: number | null = null;

  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    this.options = options;
    this.token = options.token;
    this.cancelOnDisconnect = options.cancelOnDisconnect ?? false;
    this.connection = new Value<ConnectionInfo>(this.info("connecting"));
    this.requests = new RequestTable(() => options.requestTimeoutMs ?? 10_000);
    this.market = new MarketData(options, {
      connected: () => this.socket?.readyState === OPEN,
      request: (request) => this.send(request, true),
      stats: this.stats,
      events: this.events,
    });
    this.open();
  }

  // ------------------------------------------------------------ lifecycle

  /** Closes the connection for good (no reconnect); pending requests fail. */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    this.detach();
    socket?.close(1000, "closed by the client");
    this.requests.failAll(new ClosedError("the client was closed"));
    this.lastClose = { code: 1000, reason: "closed by the client", at: Date.now() };
    this.setState("closed");
  }

  /** Subscribes `handler` to an event; returns the unsubscriber. */
  on<K extends keyof ClientEvents>(
    name: K,
    handler: (payload: ClientEvents[K]) => void,
  ): () => void {
    return this.events.on(name, handler);
  }

  /** The instrument for `symbol`, once the instruments are known. */
  instrument(symbol: string): Instrument | undefined {
    return this.server.get()?.instruments.find((i) => i.symbol === symbol);
  }

  private info(state: ConnectionState): ConnectionInfo {
    return {
      state,
      attempt: this.attempt,
      lastClose: this.lastClose,
      since: Date.now(),
      account: this.orders.get().account,
      authError: null,
    };
  }

  private setState(state: ConnectionState, patch: Partial<ConnectionInfo> = {}): void {
    const before = this.connection.get();
    this.connection.set({
      ...this.info(state),
      authError: before.authError,
      ...(before.state === state ? { since: before.since } : {}),
      ...patch,
    });
  }

  private open(): void {
    if (this.closedByUser) return;
    const Ctor =
      this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) {
      this.lastClose = {
        code: 0,
        reason: "no WebSocket implementation: pass options.WebSocket (e.g. the ws package)",
        at: Date.now(),
      };
      this.setState("closed");
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = new Ctor(this.url);
    } catch (error) {
      // A malformed URL: retrying will not help.
      this.lastClose = {
        code: 0,
        reason: `cannot connect to ${this.url}: ${String(error)}`,
        at: Date.now(),
      };
      this.setState("closed");
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.onOpen(socket);
    };
    socket.onmessage = (event) => {
      if (this.socket === socket && typeof event.data === "string") this.onText(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.onClose(event.code, event.reason);
    };
    socket.onerror = () => {
      // The close event that follows says what happened.
    };
  }

  private onOpen(socket: WebSocketLike): void {
    if (this.socket !== socket) return;
    this.lastMessageAt = Date.now();
    this.idleTimer ??= setInterval(
      () => {
        this.checkIdle();
      },
      Math.min(1000, this.pingInterval()),
    );
    this.market.connected();
    void this.handshake(socket);
  }

  /** Instruments and authentication before the connection counts as open. */
  private async handshake(socket: WebSocketLike): Promise<void> {
    try {
      const answer = await this.send<InstrumentsResponse>({ op: "instruments" }, true);
      const previous = this.server.get();
      this.server.set({
        mode: answer.mode,
        file: answer.file ?? null,
        speed: answer.speed ?? null,
        instruments: answer.instruments,
        replayEnded: previous?.replayEnded ?? false,
        replayPass: previous?.replayPass ?? 1,
      });
      let account: string | null = null;
      let authError: string | null = null;
      if (this.token !== undefined) {
        try {
          account = (await this.sendAuth(this.token, true)).account;
        } catch (error) {
          if (!(error instanceof TickwireError) || error.code === "disconnected") throw error;
          authError = error.message;
          this.events.emit("error", error);
        }
      }
      if (this.socket !== socket) return;
      if (this.opened) this.stats.count("reconnects");
      this.opened = true;
      this.attempt = 0;
      this.setState("open", { account, authError });
      if (account !== null) void this.afterAuth();
    } catch {
      // The connection dropped during the handshake: onClose reconnects.
    }
  }

  private onClose(code: number, reason: string): void {
    this.detach();
    this.lastClose = { code, reason: this.closeReason(code, reason), at: Date.now() };
    this.requests.failAll(
      new DisconnectedError(
        `the connection closed (${code}${reason ? ` ${reason}` : ""}) before the answer came; ` +
          "if it was an order, check open_orders or resend it with the same client_order_id",
      ),
    );
    if (this.closedByUser) return;
    if (this.options.reconnect === false) {
      this.setState("closed");
      return;
    }
    this.attempt++;
    const delay = backoffDelay(this.attempt - 1, this.options.backoff);
    this.setState("reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }

  private closeReason(code: number, reason: string): string {
    if (reason) return reason;
    if (code === 1006) return "the connection was lost";
    return "";
  }

  /** Forgets the current socket (its later events are ignored). */
  private detach(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
    }
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    this.idleTimer = null;
    this.setState(this.connection.get().state, { account: null });
  }

  private pingInterval(): number {
    return this.options.pingIntervalMs ?? 5000;
  }

  private checkIdle(): void {
    const socket = this.socket;
    if (socket === null || socket.readyState !== OPEN) return;
    const now = Date.now();
    const quiet = now - this.lastMessageAt;
    const idleTimeout = this.options.idleTimeoutMs ?? 20_000;
    if (quiet >= idleTimeout) {
      // Nothing at all, not even a pong: the connection is dead even if the
      // socket has not noticed. Give it up and reconnect.
      const reason = `nothing received for ${Math.round(quiet / 1000)} s`;
      this.detach();
      socket.close(4000, "idle");
      this.onClose(4000, reason);
      return;
    }
    if (quiet >= this.pingInterval() && now - this.lastPingAt >= this.pingInterval()) {
      this.lastPingAt = now;
      this.send<Pong>({ op: "ping" }, true).catch(() => {});
    }
  }

  // ------------------------------------------------------------- messages

  private onText(text: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      this.events.emit(
        "error",
        new TickwireError(
          "internal",
          `the server sent a frame that is not JSON: ${text.slice(0, 80)}`,
        ),
      );
      return;
    }
    if (this.options.dropInbound?.(message) === true) return;
    this.lastMessageAt = Date.now();
    this.events.emit("message", message);
    this.route(message);
  }

  private route(m: ServerMessage): void {
    if (this.market.route(m)) return;
    if (m.type === "fills") this.fillsHorizon = this.sequence.highest;
    switch (m.type) {
      case "lagged":
        this.market.lagged(m);
        this.events.emit("lagged", m);
        return;
      case "shutdown":
        this.lastClose = { code: 1001, reason: "server shutting down", at: Date.now() };
        this.events.emit("shutdown", m);
        return;
      case "replay_end":
        this.patchServer({ replayEnded: true });
        this.events.emit("replay_end", m);
        return;
      case "replay_loop":
        this.market.replayLoop();
        this.patchServer({ replayPass: m.pass, replayEnded: false });
        this.events.emit("replay_loop", { pass: m.pass });
        return;
      case "stream_interrupted":
        this.market.interrupted(m.symbol);
        this.events.emit("stream_interrupted", { symbol: m.symbol, reason: m.reason });
        return;
      case "stream_resumed":
        this.events.emit("stream_resumed", { symbol: m.symbol });
        return;
      case "order_accepted":
      case "order_amended":
      case "fill":
      case "order_done":
        this.privateEvent(m);
        break;
      default:
        break;
    }
    if (!this.requests.answer(m) && m.type === "error") {
      // An error that answers no request of ours.
      this.events.emit("error", fromErrorMessage(m));
    }
  }

  /**
   * Applies a private event once (a fill recovered with `fills` may also
   * arrive live), and notices when some were missed.
   */
  private privateEvent(m: PrivateEvent): void {
    if (!this.sequence.observe(m.seq)) return;
    this.applyPrivate(m);
    if (this.sequence.hasGap) void this.recoverPrivate();
  }

  private applyPrivate(m: PrivateEvent): void {
    switch (m.type) {
      case "order_accepted":
        this.orders.onAccepted(m);
        this.events.emit("order_accepted", m);
        break;
      case "order_amended":
        this.orders.onAmended(m);
        this.events.emit("order_amended", m);
        break;
      case "fill":
        this.orders.onFill(m);
        this.events.emit("fill", m);
        this.refreshAccountSoon();
        break;
      case "order_done":
        this.orders.onDone(m);
        this.events.emit("order_done", m);
        break;
    }
    this.events.emit("private", m);
  }

  /**
   * Private events were missed: every fill since the last `seq` applied
   * comes from `fills` (as `fill` events), then open orders and the
   * account are reconciled (accepted, amended and done events are not
   * kept by the server; their effect is in the open orders).
   */
  private async recoverPrivate(): Promise<void> {
    const from = this.sequence.last;
    if (from === null || this.recovering) return;
    this.recovering = true;
    this.stats.count("privateGaps");
    try {
      let since = from;
      let to: number | null = null;
      let horizon = from;
      for (;;) {
        const page = await this.send<FillsResponse>({ op: "fills", since }, true);
        horizon = Math.max(horizon, this.fillsHorizon ?? from);
        for (const fill of page.fills) {
          since = Math.max(since, fill.seq);
          to = since;
          if (this.sequence.observe(fill.seq)) {
            this.stats.count("fillsRecovered");
            this.applyPrivate(fill);
          }
        }
        if (!page.more || page.fills.length === 0) break;
      }
      this.sequence.settle(Math.max(horizon, since));
      this.events.emit("private_gap", { from, to });
      await this.reconcileOrders();
    } catch {
      // Disconnected again: the next connection recovers.
      return;
    } finally {
      this.recovering = false;
    }
    // Missed while this recovery was finishing: once more.
    if (this.sequence.hasGap) await this.recoverPrivate();
  }

  private patchServer(patch: Partial<ServerInfo>): void {
    const server = this.server.get();
    if (server !== null) this.server.set({ ...server, ...patch });
  }

  // ------------------------------------------------------------- requests

  private send<T extends ServerMessage>(request: WithoutId<Request>, internal = false): Promise<T> {
    const socket = this.socket;
    const state = this.connection.get().state;
    if (socket === null || socket.readyState !== OPEN || (!internal && state !== "open")) {
      return Promise.reject(
        new NotConnectedError(
          `not connected (${state}): ${request.op} was not sent` +
            (request.op === "order"
              ? "; orders are never queued, send it again once connected"
              : ""),
          request.op,
        ),
      );
    }
    return this.requests.issue<T>(request, (text) => {
      socket.send(text);
    });
  }

  /** Sends any request and resolves with its answer (for what has no method). */
  request<T extends ServerMessage = ServerMessage>(request: WithoutId<Request>): Promise<T> {
    return this.send<T>(request);
  }

  /** Round trip to the server; resolves with its clock. */
  ping(): Promise<Pong> {
    return this.send<Pong>({ op: "ping" });
  }

  /**
   * Sets faults on this connection's market data (`""` clears them), to
   * prove that an application recovers from each: only on a server started
   * with `--allow-fault-requests` (docs/testing.md has the spec). They end
   * with the connection: a reconnect starts clean.
   */
  faults(spec: string): Promise<FaultsSet> {
    return this.send<FaultsSet>({ op: "faults", spec });
  }

  // -------------------------------------------------------------- trading

  /**
   * Authenticates this connection (and every later one: the token is kept
   * for reconnects).
   */
  async auth(
    token: string,
    options: { cancelOnDisconnect?: boolean } = {},
  ): Promise<Authenticated> {
    const answer = await this.sendAuth(token, false, options.cancelOnDisconnect);
    this.token = token;
    this.cancelOnDisconnect = options.cancelOnDisconnect ?? false;
    this.setState(this.connection.get().state, { account: answer.account, authError: null });
    void this.afterAuth();
    return answer;
  }

  private async sendAuth(
    token: string,
    internal: boolean,
    cancelOnDisconnect = this.cancelOnDisconnect,
  ): Promise<Authenticated> {
    const answer = await this.send<Authenticated>(
      { op: "auth", token, ...(cancelOnDisconnect ? { cancel_on_disconnect: true } : {}) },
      internal,
    );
    if (this.orders.get().account !== answer.account) this.sequence.reset();
    this.orders.setAccount(answer.account);
    return answer;
  }

  /** Places an order; resolves with its `order_accepted`. */
  order(params: OrderParams): Promise<OrderAccepted> {
    return this.send<OrderAccepted>({ op: "order", ...params });
  }

  /** Cancels an order; resolves with its `order_done` (`reason: "canceled"`). */
  cancel(params: CancelParams): Promise<OrderDone> {
    return this.send<OrderDone>({ op: "cancel", ...params });
  }

  /**
   * Changes a resting order's total quantity and/or price; resolves with
   * its `order_amended`. A lower quantity keeps the order's queue priority.
   */
  amend(params: AmendParams): Promise<OrderAmended> {
    return this.send<OrderAmended>({ op: "amend", ...params });
  }

  /** An order open now or done within 24 hours, with `status` and `filled_qty`. */
  async orderStatus(params: OrderRef): Promise<OrderStatusEntry> {
    const answer = await this.send<OrderStatusResponse>({ op: "order_status", ...params });
    return answer.order;
  }

  /**
   * The account's fills after private `seq` `since` (or from `since_ts`),
   * oldest first, every page of them (the server answers 1,000 at a time).
   */
  async fills(params: FillsParams = {}): Promise<Fill[]> {
    const all: Fill[] = [];
    let request: FillsParams = params;
    for (;;) {
      const page = await this.send<FillsResponse>({ op: "fills", ...request });
      all.push(...page.fills);
      const last = page.fills.at(-1);
      if (!page.more || last === undefined) return all;
      request = {
        since: last.seq,
        ...(params.symbol === undefined ? {} : { symbol: params.symbol }),
      };
    }
  }

  /** Cancels every open order (of `symbol`); resolves with the count. */
  async cancelAll(symbol?: string): Promise<number> {
    const answer = await this.send<{ type: "canceled_all"; count: number }>(
      symbol === undefined ? { op: "cancel_all" } : { op: "cancel_all", symbol },
    );
    return answer.count;
  }

  /** The account's open orders (of `symbol`). */
  async openOrders(symbol?: string): Promise<OpenOrder[]> {
    const answer = await this.send<{ type: "open_orders"; orders: OpenOrder[] }>(
      symbol === undefined ? { op: "open_orders" } : { op: "open_orders", symbol },
    );
    return answer.orders;
  }

  /** Cash, positions and realised P&L. */
  async account(): Promise<AccountState> {
    const answer = await this.send<AccountState>({ op: "account" });
    this.orders.onAccount(answer);
    return answer;
  }

  /**
   * After a (re)authentication: fills missed while away (if this client had
   * seen private events before), then `orders` in line with the server.
   */
  private async afterAuth(): Promise<void> {
    if (this.sequence.last !== null) {
      await this.recoverPrivate();
    } else {
      await this.reconcileOrders();
    }
  }

  /** Brings `orders` in line with the server. */
  private async reconcileOrders(): Promise<void> {
    try {
      const answer = await this.send<{ type: "open_orders"; orders: OpenOrder[] }>(
        { op: "open_orders" },
        true,
      );
      this.orders.reconcile(answer.orders);
      this.orders.onAccount(await this.send<AccountState>({ op: "account" }, true));
    } catch {
      // Disconnected again: the next connection reconciles.
    }
  }

  /** Fills change cash and P&L, which only `account` tells: ask, at most 4 times a second. */
  private refreshAccountSoon(): void {
    if (this.accountTimer !== null) return;
    this.accountTimer = setTimeout(() => {
      this.accountTimer = null;
      this.send<AccountState>({ op: "account" }, true)
        .then((state) => {
          this.orders.onAccount(state);
        })
        .catch(() => {});
    }, 250);
  }

  // ---------------------------------------------------------- market data

  /**
   * The order book of `symbol`, kept and verified. Each call is one more
   * user of the shared subscription; call `release(stream)` when done.
   * `view` asks for a view of the book (v1.1): its top `depth` levels (10,
   * 25, 100), at most once per `interval` (`100ms`, `1s`); each view is a
   * stream of its own, verified the same way.
   */
  book(symbol: string, view: BookViewOptions = {}): BookStream {
    return this.market.book(symbol, view);
  }

  /** The last trades of `symbol`, newest first. */
  trades(symbol: string): TradesStream {
    return this.market.trades(symbol);
  }

  /** The newest ticker of `symbol`. */
  ticker(symbol: string): TickerStream {
    return this.market.ticker(symbol);
  }

  /** Candles of `symbol` at `interval`, from the snapshot's history on. */
  candles(symbol: string, interval: CandleInterval = "1m"): CandlesStream {
    return this.market.candles(symbol, interval);
  }

  /** One user of `stream` fewer; the last unsubscribes. */
  release(stream: MarketStream): void {
    this.market.release(stream);
  }

  /** Integrity counters, observable. */
  integrity(): Observable<IntegrityStats> {
    return this.stats;
  }
}

/** Opens a client to `url` (`ws://host:port/ws`); it connects at once and stays connected. */
export function connect(url: string, options: ClientOptions = {}): TickwireClient {
  return new TickwireClient(url, options);
}
