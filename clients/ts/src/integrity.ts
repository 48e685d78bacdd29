/**
 * What the client counts about the feed's integrity, so a screen (or a
 * test) can show that nothing was missed, or how often something was.
 */

import { Listeners, type Listener, type Observable } from "./observable.js";

export interface IntegrityStats {
  /** Market-data messages received. */
  messages: number;
  /** Book updates applied in sequence. */
  bookUpdates: number;
  /** Book checksums computed locally that matched the server's. */
  checksumsVerified: number;
  /** Resubscribe snapshots that equalled the book kept locally. */
  snapshotsVerified: number;
  /** `seq` gaps seen on any stream (data lost in transit). */
  gaps: number;
  /** Local checksums that did not match the server's. */
  checksumMismatches: number;
  /** Streams re-requested by the client (after a gap or a mismatch). */
  resyncs: number;
  /** `lagged` notices: the server dropped queued data for this client. */
  lagged: number;
  /** Messages the server said it dropped (sum of `lagged.dropped`). */
  droppedByServer: number;
  /** Public trades known to be missed (from `seq` gaps of trade streams). */
  tradesMissed: number;
  /** Connections opened after the first. */
  reconnects: number;
  /** Times private events were found missing (a private `seq` gap or a reconnect). */
  privateGaps: number;
  /** Fills missed and then recovered with `fills`. */
  fillsRecovered: number;
}

export function emptyStats(): IntegrityStats {
  return {
    messages: 0,
    bookUpdates: 0,
    checksumsVerified: 0,
    snapshotsVerified: 0,
    gaps: 0,
    checksumMismatches: 0,
    resyncs: 0,
    lagged: 0,
    droppedByServer: 0,
    tradesMissed: 0,
    reconnects: 0,
    privateGaps: 0,
    fillsRecovered: 0,
  };
}

/** Why a stream was requested again. */
export type ResyncReason = "gap" | "checksum" | "heartbeat" | "lagged" | "manual";

/** The counters, bumped in place; `get()` copies them only after a change. */
export class IntegrityCounters implements Observable<IntegrityStats> {
  private readonly counts = emptyStats();
  private readonly listeners = new Listeners();
  private cached: IntegrityStats | null = null;

  count(name: keyof IntegrityStats, n = 1): void {
    this.counts[name] += n;
    this.cached = null;
    this.listeners.notify();
  }

  get(): IntegrityStats {
    this.cached ??= { ...this.counts };
    return this.cached;
  }

  subscribe(listener: Listener): () => void {
    return this.listeners.add(listener);
  }
}
