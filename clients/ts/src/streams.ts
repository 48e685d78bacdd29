/**
 * One class per kind of market-data stream, each checking the protocol's
 * integrity rules for its messages:
 *
 * - `BookStream`: `book_snapshot` then `book_update`s with `seq` = last + 1
 *   and a CRC-32 checksum after each; any gap or mismatch, or a heartbeat
 *   that names a later `seq`, resyncs that symbol alone (a new subscribe,
 *   answered by a fresh snapshot in sequence).
 * - `TradesStream`: the last trades, newest first; a `seq` gap counts the
 *   trades missed (the server keeps no trade history to resend).
 * - `TickerStream`: the newest ticker (conflatable, so gaps are not errors).
 * - `CandlesStream`: bars from a `candles_snapshot` and `candle`s; a gap
 *   resyncs the stream.
 *
 * Streams know nothing about sockets: the client (`client.ts`) feeds them
 * messages and does what they ask through `StreamHost`.
 */

import { OrderBook } from "./book.js";
import type { IntegrityStats, ResyncReason } from "./integrity.js";
import { Listeners, type Listener, type Observable } from "./observable.js";
import type {
  BookSnapshot,
  BookUpdate,
  Candle,
  CandleBar,
  CandleInterval,
  CandlesSnapshot,
  MarketStatus,
  BookDepth,
  BookInterval,
  BookViewOptions,
  Channel,
  Level,
  StreamRef,
  Ticker,
  Trade,
} from "./protocol.js";

/** What a stream asks of the client that feeds it. */
export interface StreamHost {
  /** Ask the server again for the stream's initial state. */
  resync(stream: MarketStream, reason: ResyncReason): void;
  count(counter: keyof IntegrityStats, n?: number): void;
}

/** `book:BTC-USD`, `book:BTC-USD:25:100ms`, `candles:BTC-USD:1m`: one key per stream. */
export function streamKey(ref: StreamRef): string {
  if (ref.channel === "candles") return `candles:${ref.symbol}:${ref.interval ?? "1m"}`;
  if (ref.channel === "book" && (ref.depth !== undefined || ref.interval !== undefined)) {
    return `book:${ref.symbol}:${ref.depth ?? ""}:${ref.interval ?? ""}`;
  }
  return `${ref.channel}:${ref.symbol}`;
}

/** A book view's name in a heartbeat's `last_seq` (`book_25_100ms`). */
export function heartbeatKey(ref: StreamRef): string {
  if (ref.channel !== "book") return ref.channel;
  let key = "book";
  if (ref.depth !== undefined) key += `_${ref.depth}`;
  if (ref.interval !== undefined) key += `_${ref.interval}`;
  return key;
}

/**
 * `syncing`: waiting for the stream's initial state (at the start, after a
 * resync, a lag, a reconnect); `live`: in sequence; `error`: the server
 * refused the subscription (`error` says why).
 */
export type StreamStatus = "syncing" | "live" | "error";

export abstract class MarketStream<V = unknown> implements Observable<V> {
  readonly key: string;
  readonly ref: StreamRef;
  status: StreamStatus = "syncing";
  /** Why the subscription was refused, when `status` is `error`. */
  error: string | null = null;
  /** The `seq` of the last message applied (0: none yet). */
  seq = 0;
  /** The `ts` of the last message applied. */
  ts = 0;
  private readonly listeners = new Listeners();
  private version = 0;
  private viewVersion = -1;
  private cached: V | undefined;

  constructor(
    readonly channel: Channel,
    readonly symbol: string,
    protected readonly host: StreamHost,
    readonly interval?: CandleInterval | BookInterval,
    readonly depth?: BookDepth,
  ) {
    const ref: StreamRef = { channel, symbol };
    if (interval !== undefined) ref.interval = interval;
    if (depth !== undefined) ref.depth = depth;
    this.ref = ref;
    this.key = streamKey(this.ref);
  }

  /** The stream's state as an immutable value, rebuilt only after changes. */
  get(): V {
    if (this.viewVersion !== this.version || this.cached === undefined) {
      this.cached = this.view();
      this.viewVersion = this.version;
    }
    return this.cached;
  }

  subscribe(listener: Listener): () => void {
    return this.listeners.add(listener);
  }

  protected abstract view(): V;

  protected changed(): void {
    this.version++;
    this.listeners.notify();
  }

  /**
   * The server will send fresh initial state (after `lagged`, a reconnect,
   * a replay loop): wait for it before trusting sequence numbers again.
   */
  expectFresh(notify = false): void {
    if (this.status !== "error") this.status = "syncing";
    if (notify) this.changed();
  }

  /** The server refused the subscription. */
  fail(message: string): void {
    this.status = "error";
    this.error = message;
    this.changed();
  }

  /** A heartbeat's `last_seq` for this stream (book, trades, ticker). */
  checkLastSeq(_lastSeq: number): void {}
}

export interface BookView {
  symbol: string;
  status: StreamStatus;
  seq: number;
  ts: number;
  /** Every bid level, best (highest) first. */
  bids: Level[];
  /** Every ask level, best (lowest) first. */
  asks: Level[];
  checksum: number;
}

export class BookStream extends MarketStream<BookView> {
  /** The book itself, for reading levels without building a view. */
  readonly book = new OrderBook();
  /** The checksum the server sent with the last message applied. */
  checksum = 0;
  /** Verify each update's checksum (on by default). */
  verify = true;

  /** A view of the book (v1.1: `depth`, `interval`), or the whole book. */
  constructor(symbol: string, host: StreamHost, view: BookViewOptions = {}) {
    super("book", symbol, host, view.interval, view.depth);
  }

  protected view(): BookView {
    return {
      symbol: this.symbol,
      status: this.status,
      seq: this.seq,
      ts: this.ts,
      bids: this.book.bidLevels(),
      asks: this.book.askLevels(),
      checksum: this.checksum,
    };
  }

  onSnapshot(m: BookSnapshot): void {
    if (this.status === "live" && m.seq === this.seq) {
      // A snapshot at the very point the local book stands: the best test
      // there is that every update was applied right.
      if (this.book.equals(m.bids, m.asks)) this.host.count("snapshotsVerified");
      else this.host.count("checksumMismatches");
    }
    this.book.reset(m.bids, m.asks);
    this.seq = m.seq;
    this.ts = m.ts;
    this.checksum = m.checksum;
    this.status = "live";
    this.error = null;
    if (this.verify && this.book.checksum() !== m.checksum) {
      this.host.count("checksumMismatches");
      this.resync("checksum");
    }
    this.changed();
  }

  onUpdate(m: BookUpdate): void {
    // Before the snapshot that starts (or restarts) the stream, updates
    // belong to an older sequence.
    if (this.status !== "live" || m.seq <= this.seq) return;
    if (m.seq !== this.seq + 1) {
      this.host.count("gaps");
      this.resync("gap");
      return;
    }
    this.book.apply(m.bids, m.asks);
    this.seq = m.seq;
    this.ts = m.ts;
    this.checksum = m.checksum;
    this.host.count("bookUpdates");
    if (this.verify) {
      if (this.book.checksum() !== m.checksum) {
        this.host.count("checksumMismatches");
        this.resync("checksum");
        return;
      }
      this.host.count("checksumsVerified");
    }
    this.changed();
  }

  override checkLastSeq(lastSeq: number): void {
    if (this.status === "live" && lastSeq > this.seq) {
      this.host.count("gaps");
      this.resync("heartbeat");
    }
  }

  /**
   * Asks for a fresh snapshot of this book (the protocol's resync). Asked
   * for by hand while the book is live, it is a check: updates go on being
   * applied, and the snapshot, which arrives in sequence, must equal the
   * book kept (counted in `snapshotsVerified`).
   */
  resync(reason: ResyncReason = "manual"): void {
    if (reason === "manual") {
      this.host.resync(this, reason);
      return;
    }
    const wasLive = this.status === "live";
    this.status = "syncing";
    if (wasLive) this.host.resync(this, reason);
    this.changed();
  }
}

export interface TradesView {
  symbol: string;
  status: StreamStatus;
  /** The last trades, newest first. */
  trades: Trade[];
}

export class TradesStream extends MarketStream<TradesView> {
  private trades: Trade[] = [];

  constructor(
    symbol: string,
    host: StreamHost,
    /** How many trades to keep. */
    public keep = 200,
  ) {
    super("trades", symbol, host);
    // Trades have no initial state: the stream is live at once.
    this.status = "live";
  }

  protected view(): TradesView {
    return { symbol: this.symbol, status: this.status, trades: this.trades.slice() };
  }

  override expectFresh(): void {
    // No initial state comes for trades; `seq` continues, and a jump shows
    // how many were missed.
  }

  onTrade(m: Trade): void {
    if (m.seq <= this.seq) {
      // An older sequence: the server restarted (or a replay looped).
      if (m.seq < this.seq) this.trades = [];
      else return;
    } else if (this.seq > 0 && m.seq > this.seq + 1) {
      this.host.count("gaps");
      this.host.count("tradesMissed", m.seq - this.seq - 1);
    }
    this.seq = m.seq;
    this.ts = m.ts;
    this.status = "live";
    this.trades.unshift(m);
    if (this.trades.length > this.keep) this.trades.length = this.keep;
    this.changed();
  }

  override checkLastSeq(lastSeq: number): void {
    if (this.seq > 0 && lastSeq > this.seq) {
      this.host.count("gaps");
      this.host.count("tradesMissed", lastSeq - this.seq);
      this.seq = lastSeq;
    }
  }

  /** Forget the trades kept (a replay that starts again). */
  reset(): void {
    this.trades = [];
    this.seq = 0;
    this.changed();
  }
}

export class TickerStream extends MarketStream<Ticker | null> {
  private ticker: Ticker | null = null;
  /** v1.1: the market is halted (a `status` message said so). */
  halted = false;

  constructor(symbol: string, host: StreamHost) {
    super("ticker", symbol, host);
  }

  protected view(): Ticker | null {
    return this.ticker;
  }

  onTicker(m: Ticker): void {
    // The ticker is conflatable: only the newest matters, gaps are allowed.
    // After fresh state is expected (a reconnect to a restarted server, a
    // replay loop) the sequence may start again.
    if (this.status === "live" && m.seq < this.seq) return;
    this.ticker = m;
    this.seq = m.seq;
    this.ts = m.ts;
    this.status = "live";
    this.changed();
  }

  /** A `status` message: it takes the ticker stream's next `seq`. */
  onStatus(m: MarketStatus): void {
    if (this.status === "live" && m.seq < this.seq) return;
    this.halted = m.status === "halted";
    this.seq = m.seq;
    this.ts = m.ts;
    this.status = "live";
    this.changed();
  }

  override checkLastSeq(lastSeq: number): void {
    if (this.status === "live" && lastSeq > this.seq) {
      this.host.count("gaps");
      this.status = "syncing";
      this.host.resync(this, "heartbeat");
    }
  }
}

export interface CandlesView {
  symbol: string;
  interval: CandleInterval;
  status: StreamStatus;
  /** Oldest first; the last is the current bar. */
  bars: CandleBar[];
  /** Grows by one each time the stream is (re)started from a snapshot. */
  epoch: number;
}

export class CandlesStream extends MarketStream<CandlesView> {
  private bars: CandleBar[] = [];
  private epoch = 0;

  constructor(
    symbol: string,
    readonly candleInterval: CandleInterval,
    host: StreamHost,
    /** How many bars to keep. */
    public keep = 1000,
  ) {
    super("candles", symbol, host, candleInterval);
  }

  protected view(): CandlesView {
    return {
      symbol: this.symbol,
      interval: this.candleInterval,
      status: this.status,
      bars: this.bars.slice(),
      epoch: this.epoch,
    };
  }

  onSnapshot(m: CandlesSnapshot): void {
    this.bars = m.candles.slice(-this.keep);
    this.seq = m.seq;
    this.ts = m.ts;
    this.status = "live";
    this.error = null;
    this.epoch++;
    this.changed();
  }

  onCandle(m: Candle): void {
    if (this.status !== "live" || m.seq <= this.seq) return;
    if (m.seq !== this.seq + 1) {
      this.host.count("gaps");
      this.status = "syncing";
      this.host.resync(this, "gap");
      this.changed();
      return;
    }
    this.seq = m.seq;
    this.ts = m.ts;
    const bar: CandleBar = {
      start: m.start,
      open: m.open,
      high: m.high,
      low: m.low,
      close: m.close,
      volume: m.volume,
    };
    const last = this.bars[this.bars.length - 1];
    if (last === undefined || m.start > last.start) {
      this.bars.push(bar);
      if (this.bars.length > this.keep) this.bars.shift();
    } else {
      const i = this.bars.findIndex((b) => b.start === m.start);
      if (i >= 0) this.bars[i] = bar;
    }
    this.changed();
  }

  /** The last bar (the current one), if any. */
  current(): CandleBar | undefined {
    return this.bars[this.bars.length - 1];
  }
}

/**
 * Heartbeats of one symbol: each names the last `seq` of the symbol's book,
 * trades and ticker streams, so a quiet stream can still tell it has
 * missed nothing, and the client can tell the connection is alive.
 */
export class HeartbeatStream extends MarketStream<number> {
  constructor(
    symbol: string,
    host: StreamHost,
    private readonly streamsOf: (symbol: string) => MarketStream[],
  ) {
    super("heartbeat", symbol, host);
    this.status = "live";
  }

  protected view(): number {
    return this.seq;
  }

  override expectFresh(): void {
    this.seq = 0;
  }

  onHeartbeat(m: { seq: number; ts: number; last_seq: Record<string, number> }): void {
    if (this.seq > 0 && m.seq > this.seq + 1) this.host.count("gaps");
    this.seq = m.seq;
    this.ts = m.ts;
    for (const stream of this.streamsOf(this.symbol)) {
      const last = m.last_seq[heartbeatKey(stream.ref)];
      if (last !== undefined) stream.checkLastSeq(last);
    }
    this.changed();
  }
}
