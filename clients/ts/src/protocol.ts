/**
 * The tickwire wire protocol (v1), as TypeScript types: every request a
 * client sends and every message the server sends. The contract is
 * `shared/PROTOCOL.md`; `docs/protocol.md` in the repository says how the
 * server reads it.
 *
 * Decimal values (prices, quantities, cash) are strings with exactly the
 * instrument's decimals, never numbers. `ts` is nanoseconds since the Unix
 * epoch: JSON numbers that large lose precision in JavaScript (about 256 ns),
 * which is far below anything a screen or a bot can use.
 */

export type Channel = "book" | "trades" | "ticker" | "candles" | "heartbeat";
export type CandleInterval = "1s" | "1m";
/** Levels per side of a book view (v1.1). */
export type BookDepth = 10 | 25 | 100;
/** How often a throttled book view sends at most (v1.1). */
export type BookInterval = "100ms" | "1s";
/** A view of the book (v1.1): its top levels, at most once per interval. */
export interface BookViewOptions {
  depth?: BookDepth;
  interval?: BookInterval;
}
export type Side = "buy" | "sell";
export type OrderType = "limit" | "market";
export type TimeInForce = "gtc" | "ioc" | "fok";
export type Liquidity = "maker" | "taker";
export type OrderStatus = "open" | "filled" | "canceled" | "expired";
export type DoneReason =
  "filled" | "canceled" | "expired" | "self_trade_prevented" | "disconnected";
/** A request's `id`, echoed in its response. */
export type RequestId = number | string;
/** `[price, qty]`, both wire strings; a qty of `"0"` removes the level. */
export type Level = readonly [price: string, qty: string];

/** Every error `code` of the protocol. */
export const ERROR_CODES = [
  "bad_request",
  "unknown_op",
  "unknown_symbol",
  "unknown_channel",
  "unsupported_frame",
  "too_many_subscriptions",
  "rate_limited",
  "not_authenticated",
  "unauthorized",
  "invalid_price",
  "invalid_qty",
  "price_out_of_band",
  "post_only_would_cross",
  "duplicate_client_order_id",
  "unknown_order",
  "position_limit",
  "replay_mode",
  "market_halted",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface Instrument {
  symbol: string;
  tick_size: string;
  lot_size: string;
  price_decimals: number;
  qty_decimals: number;
  max_qty: string;
  band: string;
}

/** One stream as `subscribed`, `unsubscribed` and `lagged` name it. */
export interface StreamRef {
  channel: Channel;
  symbol: string;
  /** Candles: `1s`, `1m`; a book view: `100ms`, `1s`. */
  interval?: CandleInterval | BookInterval;
  /** A book view's depth. */
  depth?: BookDepth;
}

// ---------------------------------------------------------------- requests

export interface SubscribeRequest {
  op: "subscribe" | "unsubscribe";
  id?: RequestId;
  channels: Channel[];
  symbols: string[];
  interval?: CandleInterval | BookInterval;
  depth?: BookDepth;
}

export interface OrderParams {
  symbol: string;
  side: Side;
  order_type: OrderType;
  qty: string;
  /** Limit orders only. */
  price?: string;
  tif?: TimeInForce;
  post_only?: boolean;
  /** 1 to 36 characters of `A-Za-z0-9_-`, unique per account for 24 h. */
  client_order_id?: string;
}

export type CancelParams =
  { symbol: string; order_id: string } | { symbol: string; client_order_id: string };

/** Names an order: by `order_id` or by `client_order_id`. */
export type OrderRef = CancelParams;

/**
 * `amend`: the order's new total `qty` (filled part included) and/or new
 * `price`. A lower quantity keeps queue priority; a price change or a
 * higher quantity loses it.
 */
export type AmendParams = OrderRef & { qty?: string; price?: string };

/** `fills`: after a private `seq`, or at or after a time (engine ns). */
export interface FillsParams {
  since?: number;
  since_ts?: number;
  symbol?: string;
}

export type Request =
  | SubscribeRequest
  | { op: "instruments"; id?: RequestId }
  | { op: "auth"; id?: RequestId; token: string; cancel_on_disconnect?: boolean }
  | ({ op: "order"; id?: RequestId } & OrderParams)
  | ({ op: "cancel"; id?: RequestId } & CancelParams)
  | { op: "cancel_all"; id?: RequestId; symbol?: string }
  | { op: "open_orders"; id?: RequestId; symbol?: string }
  | { op: "account"; id?: RequestId }
  | ({ op: "amend"; id?: RequestId } & AmendParams)
  | ({ op: "order_status"; id?: RequestId } & OrderRef)
  | ({ op: "fills"; id?: RequestId } & FillsParams)
  | { op: "faults"; id?: RequestId; spec: string }
  | { op: "ping"; id?: RequestId };

// ------------------------------------------------------------- market data

interface MarketHead {
  symbol: string;
  seq: number;
  ts: number;
}

export interface BookSnapshot extends MarketHead {
  type: "book_snapshot";
  /** Only on a book view's messages. */
  depth?: BookDepth;
  interval?: BookInterval;
  bids: Level[];
  asks: Level[];
  checksum: number;
}

export interface BookUpdate extends MarketHead {
  type: "book_update";
  depth?: BookDepth;
  interval?: BookInterval;
  bids: Level[];
  asks: Level[];
  checksum: number;
}

export interface Trade extends MarketHead {
  type: "trade";
  trade_id: string;
  price: string;
  qty: string;
  /** The taker's (aggressor's) side. */
  side: Side;
}

export interface Ticker extends MarketHead {
  type: "ticker";
  bid: string | null;
  bid_qty: string | null;
  ask: string | null;
  ask_qty: string | null;
  last: string | null;
  last_qty: string | null;
  open: string | null;
  high: string | null;
  low: string | null;
  volume: string | null;
}

/**
 * v1.1: the market halted or resumed trading, on the ticker stream (it
 * takes the stream's next `seq`). While halted, orders and amends are
 * refused with `market_halted`.
 */
export interface MarketStatus extends MarketHead {
  type: "status";
  status: "halted" | "trading";
}

export interface CandleBar {
  /** The bar's opening time, ns since the Unix epoch. */
  start: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface CandlesSnapshot extends MarketHead {
  type: "candles_snapshot";
  interval: CandleInterval;
  candles: CandleBar[];
}

export interface Candle extends MarketHead, CandleBar {
  type: "candle";
  interval: CandleInterval;
}

export interface Heartbeat extends MarketHead {
  type: "heartbeat";
  /** `book`, `trades`, `ticker`, and each book view with subscribers (`book_25_100ms`). */
  last_seq: Record<string, number>;
}

export type MarketMessage =
  BookSnapshot | BookUpdate | Trade | Ticker | MarketStatus | CandlesSnapshot | Candle | Heartbeat;

// ----------------------------------------------------------------- notices

export interface Lagged {
  type: "lagged";
  dropped: number;
  streams: StreamRef[];
}
export interface Shutdown {
  type: "shutdown";
  ts: number;
}
export interface ReplayEnd {
  type: "replay_end";
  ts: number;
}
/** Cluster mode: a gateway stopped the symbol's streams (its bus or the engine went away). */
export interface StreamInterrupted {
  type: "stream_interrupted";
  symbol: string;
  reason: "bus" | "engine";
  ts: number;
}
/** Cluster mode: the symbol's streams go on; fresh initial state follows. */
export interface StreamResumed {
  type: "stream_resumed";
  symbol: string;
  ts: number;
}
export interface ReplayLoop {
  type: "replay_loop";
  pass: number;
}

// --------------------------------------------------------------- responses

interface ResponseHead {
  id?: RequestId;
}

export interface Subscribed extends ResponseHead {
  type: "subscribed" | "unsubscribed";
  subscriptions: StreamRef[];
}

export interface InstrumentsResponse extends ResponseHead {
  type: "instruments";
  /** `replay-paper`: a replay that takes orders (filled against it). */
  mode: "live" | "replay" | "replay-paper";
  /** Replay mode: the recording served. */
  file?: string;
  /** Replay mode: the speed (`"10"`, or `"max"`). */
  speed?: string;
  instruments: Instrument[];
}

export interface Authenticated extends ResponseHead {
  type: "authenticated";
  account: string;
}

export interface Pong extends ResponseHead {
  type: "pong";
  ts: number;
}

/**
 * The answer to `faults` (testing servers only, `--allow-fault-requests`):
 * the fault schedule now set on this connection (`""`: none) and its seed.
 */
export interface FaultsSet extends ResponseHead {
  type: "faults";
  spec: string;
  seed: number;
}

export interface CanceledAll extends ResponseHead {
  type: "canceled_all";
  count: number;
}

export interface OpenOrder {
  order_id: string;
  client_order_id: string | null;
  symbol: string;
  side: Side;
  order_type: OrderType;
  price: string | null;
  qty: string;
  leaves_qty: string;
  tif: TimeInForce;
  ts: number;
}

export interface OpenOrders extends ResponseHead {
  type: "open_orders";
  orders: OpenOrder[];
}

export interface Position {
  symbol: string;
  /** Signed: negative is short. */
  position: string;
  avg_price: string;
  realized_pnl: string;
}

export interface AccountState extends ResponseHead {
  type: "account";
  account: string;
  /** In the quote currency, starting at 0, moved by every fill. */
  cash: string;
  positions: Position[];
}

export interface ErrorMessage extends ResponseHead {
  type: "error";
  op: string | null;
  code: ErrorCode;
  message: string;
  /** `rate_limited`: when a request may be sent again. */
  retry_after_ms?: number;
  /** `duplicate_client_order_id`: the order that has the id. */
  order_id?: string | null;
  status?: OrderStatus;
}

// ---------------------------------------------------------- private events

/** The account's private sequence: gap-free, durable across restarts. */
interface PrivateHead extends ResponseHead {
  seq: number;
}

export interface OrderAccepted extends PrivateHead {
  type: "order_accepted";
  order_id: string;
  client_order_id: string | null;
  symbol: string;
  side: Side;
  order_type: OrderType;
  /** `null` for a market order. */
  price: string | null;
  qty: string;
  tif: TimeInForce;
  ts: number;
}

export interface Fill extends PrivateHead {
  type: "fill";
  order_id: string;
  client_order_id: string | null;
  symbol: string;
  side: Side;
  price: string;
  qty: string;
  liquidity: Liquidity;
  trade_id: string;
  leaves_qty: string;
  /** The account's position in the symbol after this fill. */
  position: string;
  ts: number;
}

export interface OrderDone extends PrivateHead {
  type: "order_done";
  order_id: string;
  client_order_id: string | null;
  symbol: string;
  reason: DoneReason;
  filled_qty: string;
  ts: number;
}

/** The order with its new `price`, total `qty` and `leaves_qty`; `ts` is the amend's. */
export interface OrderAmended extends PrivateHead, OpenOrder {
  type: "order_amended";
}

export type PrivateEvent = OrderAccepted | OrderAmended | Fill | OrderDone;

/** An order as `order_status` reports it (open, or done within 24 h). */
export interface OrderStatusEntry extends OpenOrder {
  status: OrderStatus;
  filled_qty: string;
}

export interface OrderStatusResponse extends ResponseHead {
  type: "order_status";
  order: OrderStatusEntry;
}

export interface FillsResponse extends ResponseHead {
  type: "fills";
  /** Each `fill` as it was sent, oldest first, at most 1,000. */
  fills: Fill[];
  more: boolean;
}

/** Everything the server sends. */
export type ServerMessage =
  | MarketMessage
  | Lagged
  | Shutdown
  | ReplayEnd
  | ReplayLoop
  | StreamInterrupted
  | StreamResumed
  | Subscribed
  | InstrumentsResponse
  | Authenticated
  | Pong
  | FaultsSet
  | CanceledAll
  | OpenOrders
  | AccountState
  | OrderStatusResponse
  | FillsResponse
  | ErrorMessage
  | PrivateEvent;
