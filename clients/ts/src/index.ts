/**
 * tickwire-client: a TypeScript client for the tickwire protocol.
 *
 * ```ts
 * import { connect } from "tickwire-client";
 * const client = connect("ws://127.0.0.1:8080/ws", { token });
 * const book = client.book("BTC-USD");
 * book.subscribe(() => console.log(book.get().bids[0], book.get().asks[0]));
 * const accepted = await client.order({ symbol: "BTC-USD", side: "buy", order_type: "limit", qty: "0.0100", price: "64000.00" });
 * ```
 *
 * Layout: `protocol` (wire types), `client` (the connection), `streams`
 * (per-stream integrity), `book` (the local order book), `checksum`
 * (CRC-32), `orders` (the account), `decimal` (exact prices), `errors`
 * (one class per code). React hooks: `tickwire-client/react`.
 */

export * from "./protocol.js";
export * from "./errors.js";
export { connect, TickwireClient } from "./client.js";
export type {
  ClientEvents,
  ClientOptions,
  ConnectionInfo,
  ConnectionState,
  ServerInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./client.js";
export { OrderBook, comparePrice } from "./book.js";
export { bookChecksum, checksumString, crc32, CHECKSUM_DEPTH } from "./checksum.js";
export {
  checkPrice,
  checkQty,
  compareDecimal,
  formatScaled,
  normalizePrice,
  normalizeQty,
  parseScaled,
} from "./decimal.js";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export type { IntegrityStats, ResyncReason } from "./integrity.js";
export { Value, type Listener, type Observable } from "./observable.js";
export { OrdersStore, type OrdersView } from "./orders.js";
export { PrivateSequence } from "./private.js";
export {
  BookStream,
  CandlesStream,
  HeartbeatStream,
  MarketStream,
  TickerStream,
  TradesStream,
  streamKey,
  type BookView,
  type CandlesView,
  type StreamStatus,
  type TradesView,
} from "./streams.js";
