/**
 * Errors: one class per protocol error `code` (as ccxt does per exchange
 * error), all subclasses of `TickwireError`, so callers catch by class:
 *
 * ```ts
 * try { await client.order(...) }
 * catch (e) { if (e instanceof PostOnlyWouldCrossError) ... }
 * ```
 *
 * Four codes come from the client itself, never from the server:
 * `not_connected` (the request was not sent: no open connection; orders are
 * never queued), `disconnected` (the request was sent but the connection
 * dropped before its answer: its outcome is unknown, so check
 * `openOrders()` or resend with the same `client_order_id`), `timeout` (no
 * answer in time; same caveat) and `closed` (the client was closed).
 */

import type { ErrorCode, ErrorMessage, OrderStatus } from "./protocol.js";

export type ClientErrorCode = "not_connected" | "disconnected" | "timeout" | "closed";

export class TickwireError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** The request's `op`, when the error answers a request. */
  readonly op: string | null;
  /** The server's error message as received (absent for client errors). */
  readonly response: ErrorMessage | undefined;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    op: string | null = null,
    response?: ErrorMessage,
  ) {
    super(`${code}: ${message}`);
    this.name = "TickwireError";
    this.code = code;
    this.op = op;
    this.response = response;
  }
}

type ErrorClass = new (
  message: string,
  op?: string | null,
  response?: ErrorMessage,
) => TickwireError;

function errorClass(code: ErrorCode | ClientErrorCode, name: string): ErrorClass {
  const cls = class extends TickwireError {
    constructor(message: string, op: string | null = null, response?: ErrorMessage) {
      super(code, message, op, response);
      this.name = name;
    }
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

export const BadRequestError = errorClass("bad_request", "BadRequestError");
export const UnknownOpError = errorClass("unknown_op", "UnknownOpError");
export const UnknownSymbolError = errorClass("unknown_symbol", "UnknownSymbolError");
export const UnknownChannelError = errorClass("unknown_channel", "UnknownChannelError");
export const UnsupportedFrameError = errorClass("unsupported_frame", "UnsupportedFrameError");
export const TooManySubscriptionsError = errorClass(
  "too_many_subscriptions",
  "TooManySubscriptionsError",
);
export const NotAuthenticatedError = errorClass("not_authenticated", "NotAuthenticatedError");
export const UnauthorizedError = errorClass("unauthorized", "UnauthorizedError");
export const InvalidPriceError = errorClass("invalid_price", "InvalidPriceError");
export const InvalidQtyError = errorClass("invalid_qty", "InvalidQtyError");
export const PriceOutOfBandError = errorClass("price_out_of_band", "PriceOutOfBandError");
export const PostOnlyWouldCrossError = errorClass(
  "post_only_would_cross",
  "PostOnlyWouldCrossError",
);
export const UnknownOrderError = errorClass("unknown_order", "UnknownOrderError");
export const PositionLimitError = errorClass("position_limit", "PositionLimitError");
export const ReplayModeError = errorClass("replay_mode", "ReplayModeError");
export const MarketHaltedError = errorClass("market_halted", "MarketHaltedError");
export const InternalError = errorClass("internal", "InternalError");
export const NotConnectedError = errorClass("not_connected", "NotConnectedError");
export const DisconnectedError = errorClass("disconnected", "DisconnectedError");
export const TimeoutError = errorClass("timeout", "TimeoutError");
export const ClosedError = errorClass("closed", "ClosedError");

/** `rate_limited`: `retryAfterMs` says when a request may be sent again. */
export class RateLimitedError extends TickwireError {
  readonly retryAfterMs: number;
  constructor(message: string, op: string | null = null, response?: ErrorMessage) {
    super("rate_limited", message, op, response);
    this.name = "RateLimitedError";
    this.retryAfterMs = response?.retry_after_ms ?? 0;
  }
}

/**
 * `duplicate_client_order_id`: the id is taken; `orderId` and `status` say
 * by which order and what became of it, so a client that lost its
 * connection mid-order learns the outcome by resending.
 */
export class DuplicateClientOrderIdError extends TickwireError {
  /** `null` while the first order with the id is still in flight. */
  readonly orderId: string | null;
  readonly status: OrderStatus | null;
  constructor(message: string, op: string | null = null, response?: ErrorMessage) {
    super("duplicate_client_order_id", message, op, response);
    this.name = "DuplicateClientOrderIdError";
    this.orderId = response?.order_id ?? null;
    this.status = response?.status ?? null;
  }
}

const BY_CODE: Record<ErrorCode, ErrorClass> = {
  bad_request: BadRequestError,
  unknown_op: UnknownOpError,
  unknown_symbol: UnknownSymbolError,
  unknown_channel: UnknownChannelError,
  unsupported_frame: UnsupportedFrameError,
  too_many_subscriptions: TooManySubscriptionsError,
  rate_limited: RateLimitedError,
  not_authenticated: NotAuthenticatedError,
  unauthorized: UnauthorizedError,
  invalid_price: InvalidPriceError,
  invalid_qty: InvalidQtyError,
  price_out_of_band: PriceOutOfBandError,
  post_only_would_cross: PostOnlyWouldCrossError,
  duplicate_client_order_id: DuplicateClientOrderIdError,
  unknown_order: UnknownOrderError,
  position_limit: PositionLimitError,
  replay_mode: ReplayModeError,
  market_halted: MarketHaltedError,
  internal: InternalError,
};

/** The typed error for a server `error` message. */
export function fromErrorMessage(message: ErrorMessage): TickwireError {
  const cls = (BY_CODE as Partial<Record<string, ErrorClass>>)[message.code];
  if (cls === undefined) {
    // A code newer than this library: still an error with its code.
    return new TickwireError(message.code, message.message, message.op, message);
  }
  return new cls(message.message, message.op, message);
}
