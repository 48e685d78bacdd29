/**
 * The market-data side of a client: the streams the application holds
 * (reference-counted), the subscribe and unsubscribe requests that keep the
 * server in step with them on each connection, and the routing of every
 * market-data message to its stream.
 */

import { TickwireError } from "./errors.js";
import type { IntegrityCounters, ResyncReason } from "./integrity.js";
import type { Emitter } from "./observable.js";
import type { ClientEvents, ClientOptions } from "./options.js";
import type {
  BookSnapshot,
  BookUpdate,
  BookViewOptions,
  CandleInterval,
  Lagged,
  ServerMessage,
  StreamRef,
  SubscribeRequest,
  Subscribed,
} from "./protocol.js";
import { StreamRegistry, subscribeRequests } from "./registry.js";
import {
  BookStream,
  CandlesStream,
  HeartbeatStream,
  TickerStream,
  TradesStream,
  streamKey,
  type MarketStream,
  type StreamHost,
} from "./streams.js";

/** What the market-data side needs of the connection. */
export interface MarketLink {
  /** Whether a connection is open to send on. */
  connected(): boolean;
  /** Sends a (un)subscribe request on it; rejects as any request does. */
  request(request: SubscribeRequest): Promise<Subscribed>;
  stats: IntegrityCounters;
  events: Emitter<ClientEvents>;
}

/** The stream a book message belongs to: the whole book or a view. */
function bookKey(m: BookSnapshot | BookUpdate): string {
  const ref: StreamRef = { channel: "book", symbol: m.symbol };
  if (m.depth !== undefined) ref.depth = m.depth;
  if (m.interval !== undefined) ref.interval = m.interval;
  return streamKey(ref);
}

type MarketOptions = Pick<ClientOptions, "heartbeats" | "verifyChecksums" | "tradesKept">;

export class MarketData {
  private readonly registry = new StreamRegistry();
  private readonly host: StreamHost;
  private syncQueued = false;

  constructor(
    private readonly options: MarketOptions,
    private readonly link: MarketLink,
  ) {
    this.host = {
      resync: (stream, reason) => {
        this.resync(stream, reason);
      },
      count: (name, n) => {
        link.stats.count(name, n);
      },
    };
  }

  book(symbol: string, view: BookViewOptions = {}): BookStream {
    return this.acquire(streamKey({ channel: "book", symbol, ...view }), () => {
      const stream = new BookStream(symbol, this.host, view);
      stream.verify = this.options.verifyChecksums ?? true;
      return stream;
    });
  }

  trades(symbol: string): TradesStream {
    return this.acquire(
      `trades:${symbol}`,
      () => new TradesStream(symbol, this.host, this.options.tradesKept ?? 200),
    );
  }

  ticker(symbol: string): TickerStream {
    return this.acquire(`ticker:${symbol}`, () => new TickerStream(symbol, this.host));
  }

  candles(symbol: string, interval: CandleInterval): CandlesStream {
    return this.acquire(
      streamKey({ channel: "candles", symbol, interval }),
      () => new CandlesStream(symbol, interval, this.host),
    );
  }

  release(stream: MarketStream): void {
    this.registry.release(stream.key);
    if (this.options.heartbeats !== false) this.registry.release(`heartbeat:${stream.symbol}`);
    this.queueSync();
  }

  private acquire<S extends MarketStream>(key: string, create: () => S): S {
    const stream = this.registry.acquire(key, create);
    if (this.options.heartbeats !== false) {
      const symbol = stream.symbol;
      this.registry.acquire(
        `heartbeat:${symbol}`,
        () => new HeartbeatStream(symbol, this.host, (s) => this.registry.streamsOf(s)),
      );
    }
    this.queueSync();
    return stream;
  }

  /** A new connection: nothing is subscribed on it, everything starts fresh. */
  connected(): void {
    this.registry.disconnected();
    for (const stream of this.registry.all()) stream.expectFresh();
    this.sync();
  }

  /** Subscription changes made in one tick go out together. */
  private queueSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  private sync(): void {
    if (!this.link.connected()) return;
    for (const request of subscribeRequests("unsubscribe", this.registry.takeToUnsubscribe())) {
      this.link.request(request).catch(() => {});
    }
    const streams = this.registry.takeToSubscribe();
    for (const request of subscribeRequests(
      "subscribe",
      streams.map((s) => s.ref),
    )) {
      this.link.request(request).catch((error: unknown) => {
        if (
          !(error instanceof TickwireError) ||
          error.code === "disconnected" ||
          error.code === "closed"
        ) {
          return;
        }
        for (const stream of streams) {
          if (stream.symbol === request.symbols[0] && request.channels.includes(stream.channel)) {
            this.registry.refused(stream.key);
            stream.fail(error.message);
          }
        }
        this.link.events.emit("error", error);
      });
    }
  }

  /** Asks the server for `stream`'s initial state again. */
  private resync(stream: MarketStream, reason: ResyncReason): void {
    this.link.stats.count("resyncs");
    this.link.events.emit("resync", { stream: stream.key, reason });
    const [request] = subscribeRequests("subscribe", [stream.ref]);
    if (request !== undefined && this.link.connected()) this.link.request(request).catch(() => {});
  }

  private find<S extends MarketStream>(
    key: string,
    kind: abstract new (...args: never[]) => S,
  ): S | undefined {
    const stream = this.registry.get(key);
    return stream instanceof kind ? stream : undefined;
  }

  /** Hands a market-data message to its stream; `false` if `m` is not one. */
  route(m: ServerMessage): boolean {
    switch (m.type) {
      case "book_snapshot":
        this.find(bookKey(m), BookStream)?.onSnapshot(m);
        break;
      case "book_update":
        this.find(bookKey(m), BookStream)?.onUpdate(m);
        break;
      case "trade":
        this.find(`trades:${m.symbol}`, TradesStream)?.onTrade(m);
        break;
      case "ticker":
        this.find(`ticker:${m.symbol}`, TickerStream)?.onTicker(m);
        break;
      case "status":
        this.find(`ticker:${m.symbol}`, TickerStream)?.onStatus(m);
        break;
      case "candles_snapshot":
        this.find(`candles:${m.symbol}:${m.interval}`, CandlesStream)?.onSnapshot(m);
        break;
      case "candle":
        this.find(`candles:${m.symbol}:${m.interval}`, CandlesStream)?.onCandle(m);
        break;
      case "heartbeat":
        this.find(`heartbeat:${m.symbol}`, HeartbeatStream)?.onHeartbeat(m);
        break;
      default:
        return false;
    }
    this.link.stats.count("messages");
    return true;
  }

  /**
   * The server dropped queued data: it follows with a fresh book snapshot
   * and the newest ticker of every subscribed symbol; candles get only the
   * newest bar, so bars that closed meanwhile are asked for again.
   */
  lagged(m: Lagged): void {
    this.link.stats.count("lagged");
    this.link.stats.count("droppedByServer", m.dropped);
    for (const stream of this.registry.all()) {
      if (stream instanceof CandlesStream) {
        stream.expectFresh();
        this.resync(stream, "lagged");
      } else if (stream instanceof BookStream || stream instanceof TickerStream) {
        stream.expectFresh();
      }
    }
  }

  /** A replay starts again: every sequence restarts, fresh state follows. */
  /** A cluster gateway stopped the symbol's streams: fresh state will come. */
  interrupted(symbol: string): void {
    for (const stream of this.registry.streamsOf(symbol)) stream.expectFresh(true);
  }

  replayLoop(): void {
    for (const stream of this.registry.all()) {
      stream.expectFresh();
      if (stream instanceof TradesStream) stream.reset();
    }
  }
}
