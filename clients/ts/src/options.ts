/**
 * The client's options and the shapes of what it reports: connection state,
 * server information, events.
 */

import type { BackoffOptions } from "./backoff.js";
import type { TickwireError } from "./errors.js";
import type { ResyncReason } from "./integrity.js";
import type {
  Fill,
  Instrument,
  Lagged,
  OrderAccepted,
  OrderAmended,
  OrderDone,
  PrivateEvent,
  ServerMessage,
} from "./protocol.js";

/** The part of the WebSocket API the client uses (browsers', Node's, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The WebSocket class (default: the global one, as in browsers and Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Authenticate with this token on every connection. */
  token?: string;
  /** With `token`: the server cancels this connection's orders when it drops. */
  cancelOnDisconnect?: boolean;
  /** Reconnect when the connection drops (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Send `ping` after this long without a message (default 5,000 ms). */
  pingIntervalMs?: number;
  /** Give a connection up after this long without a message (default 20,000 ms). */
  idleTimeoutMs?: number;
  /** Reject a request not answered in this time (default 10,000 ms). */
  requestTimeoutMs?: number;
  /** Subscribe to each watched symbol's heartbeat, to check quiet streams (default true). */
  heartbeats?: boolean;
  /** Verify every book update's checksum (default true). */
  verifyChecksums?: boolean;
  /** Trades kept per symbol (default 200). */
  tradesKept?: number;
  /**
   * For tests of the integrity machinery: return `true` to drop a message
   * as if it had been lost in transit.
   */
  dropInbound?: (message: ServerMessage) => boolean;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts since the last open connection. */
  attempt: number;
  /** How the last connection ended, if one did. */
  lastClose: { code: number; reason: string; at: number } | null;
  /** When `state` last changed (ms since the epoch). */
  since: number;
  /** The account authenticated on the current connection. */
  account: string | null;
  /** Why authentication failed, if it did. */
  authError: string | null;
}

export interface ServerInfo {
  /** `replay-paper`: a replay that takes orders (filled against it). */
  mode: "live" | "replay" | "replay-paper";
  file: string | null;
  speed: string | null;
  instruments: Instrument[];
  /** Replay: the recording has been played to its end. */
  replayEnded: boolean;
  /** Replay with `--loop`: the pass being played (1 is the first). */
  replayPass: number;
}

export interface ClientEvents {
  /** Every message, before the client handles it. */
  message: ServerMessage;
  order_accepted: OrderAccepted;
  fill: Fill;
  order_amended: OrderAmended;
  order_done: OrderDone;
  /** Every private event (accepted, amended, fill, done), in order. */
  private: PrivateEvent;
  /**
   * Private events were missed (a `seq` gap, or a reconnect after events
   * happened): `from` is the last `seq` the client had. The missed fills
   * follow as `fill` events (from `fills`), then open orders and the
   * account are reconciled.
   */
  private_gap: { from: number; to: number | null };
  lagged: Lagged;
  shutdown: { ts: number };
  replay_end: { ts: number };
  replay_loop: { pass: number };
  /**
   * Cluster mode: a gateway stopped `symbol`'s streams (`reason`: it lost
   * NATS, or the engine went silent). Its streams are `syncing` until the
   * fresh state that follows `stream_resumed`.
   */
  stream_interrupted: { symbol: string; reason: "bus" | "engine" };
  stream_resumed: { symbol: string };
  resync: { stream: string; reason: ResyncReason };
  /** An error not tied to a request of the caller's. */
  error: TickwireError;
}
