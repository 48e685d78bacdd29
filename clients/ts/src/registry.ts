/**
 * Which streams the application wants (reference-counted: two components
 * showing one book share one subscription), and which of them the server
 * has been asked for on the current connection. The difference is what the
 * client subscribes or unsubscribes next; after a reconnect nothing has
 * been asked for, so everything is subscribed again.
 */

import type { MarketStream } from "./streams.js";
import type { StreamRef, SubscribeRequest } from "./protocol.js";

interface Entry {
  stream: MarketStream;
  refs: number;
}

export class StreamRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Keys subscribed on the current connection (asked for, not refused). */
  private readonly active = new Set<string>();
  /** Streams released while subscribed: to unsubscribe. */
  private readonly leaving = new Map<string, StreamRef>();

  /** The stream for `key`, made by `create` on first use; one more user. */
  acquire<S extends MarketStream>(key: string, create: () => S): S {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { stream: create(), refs: 0 };
      this.entries.set(key, entry);
      this.leaving.delete(key);
    }
    entry.refs++;
    return entry.stream as S;
  }

  /** One user fewer; the last one's release removes the stream. */
  release(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.entries.delete(key);
    if (this.active.delete(key)) this.leaving.set(key, entry.stream.ref);
  }

  get(key: string): MarketStream | undefined {
    return this.entries.get(key)?.stream;
  }

  all(): MarketStream[] {
    return [...this.entries.values()].map((e) => e.stream);
  }

  streamsOf(symbol: string): MarketStream[] {
    return this.all().filter((s) => s.symbol === symbol);
  }

  /** Streams wanted but not yet asked for; marks them asked for. */
  takeToSubscribe(): MarketStream[] {
    const out: MarketStream[] = [];
    for (const [key, entry] of this.entries) {
      if (!this.active.has(key) && entry.stream.status !== "error") {
        this.active.add(key);
        out.push(entry.stream);
      }
    }
    return out;
  }

  /** Streams released while subscribed; forgets them. */
  takeToUnsubscribe(): StreamRef[] {
    const out = [...this.leaving.values()];
    this.leaving.clear();
    return out;
  }

  /** The server refused `key`: it is not subscribed. */
  refused(key: string): void {
    this.active.delete(key);
  }

  /** A new connection: nothing is subscribed on it yet. */
  disconnected(): void {
    this.active.clear();
    this.leaving.clear();
  }
}

/**
 * Requests for `refs`, one per symbol (and per candle interval), so that
 * the server's all-or-nothing answer to a request never lets one refused
 * stream take others down with it.
 */
export function subscribeRequests(
  op: "subscribe" | "unsubscribe",
  refs: readonly StreamRef[],
): SubscribeRequest[] {
  const groups = new Map<string, SubscribeRequest>();
  for (const ref of refs) {
    const candles = ref.channel === "candles";
    // A book view (v1.1) goes in a request of its own: its `depth` and
    // `interval` would apply to the other channels' streams too.
    const view = ref.channel === "book" && (ref.depth !== undefined || ref.interval !== undefined);
    const group = candles
      ? `${ref.symbol}\u0000${ref.interval ?? "1m"}`
      : view
        ? `${ref.symbol}\u0000book\u0000${ref.depth ?? ""}\u0000${ref.interval ?? ""}`
        : ref.symbol;
    let request = groups.get(group);
    if (request === undefined) {
      request = { op, channels: [], symbols: [ref.symbol] };
      if (candles) request.interval = ref.interval ?? "1m";
      if (view) {
        if (ref.depth !== undefined) request.depth = ref.depth;
        if (ref.interval !== undefined) request.interval = ref.interval;
      }
      groups.set(group, request);
    }
    if (!request.channels.includes(ref.channel)) request.channels.push(ref.channel);
  }
  return [...groups.values()];
}
