"""One exception class per protocol error ``code`` (as ccxt does), all
subclasses of :class:`TickwireError`, so callers catch by class::

    try:
        await client.order(...)
    except PostOnlyWouldCrossError:
        ...

``NotConnectedError``, ``DisconnectedError`` and ``RequestTimeoutError`` come
from the client itself: the request was not sent, or its answer was lost (for
an order: check ``open_orders`` or resend with the same ``client_order_id``).
"""

from __future__ import annotations

from typing import Any


class TickwireError(Exception):
    code: str = "error"

    def __init__(
        self, message: str, op: str | None = None, response: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.op = op
        self.response = response or {}


class BadRequestError(TickwireError):
    code = "bad_request"


class UnknownOpError(TickwireError):
    code = "unknown_op"


class UnknownSymbolError(TickwireError):
    code = "unknown_symbol"


class UnknownChannelError(TickwireError):
    code = "unknown_channel"


class UnsupportedFrameError(TickwireError):
    code = "unsupported_frame"


class TooManySubscriptionsError(TickwireError):
    code = "too_many_subscriptions"


class RateLimitedError(TickwireError):
    code = "rate_limited"

    @property
    def retry_after_ms(self) -> int:
        value = self.response.get("retry_after_ms", 0)
        return int(value) if isinstance(value, int) else 0


class NotAuthenticatedError(TickwireError):
    code = "not_authenticated"


class UnauthorizedError(TickwireError):
    code = "unauthorized"


class InvalidPriceError(TickwireError):
    code = "invalid_price"


class InvalidQtyError(TickwireError):
    code = "invalid_qty"


class PriceOutOfBandError(TickwireError):
    code = "price_out_of_band"


class PostOnlyWouldCrossError(TickwireError):
    code = "post_only_would_cross"


class DuplicateClientOrderIdError(TickwireError):
    """The id is taken: ``order_id`` and ``status`` say by which order and
    what became of it."""

    code = "duplicate_client_order_id"

    @property
    def order_id(self) -> str | None:
        value = self.response.get("order_id")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str | None:
        value = self.response.get("status")
        return value if isinstance(value, str) else None


class UnknownOrderError(TickwireError):
    code = "unknown_order"


class PositionLimitError(TickwireError):
    code = "position_limit"


class ReplayModeError(TickwireError):
    code = "replay_mode"


class MarketHaltedError(TickwireError):
    """v1.1: an order or amend on a halted market."""

    code = "market_halted"


class InternalError(TickwireError):
    code = "internal"


class NotConnectedError(TickwireError):
    code = "not_connected"


class DisconnectedError(TickwireError):
    code = "disconnected"


class RequestTimeoutError(TickwireError):
    code = "timeout"


_BY_CODE: dict[str, type[TickwireError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        UnknownOpError,
        UnknownSymbolError,
        UnknownChannelError,
        UnsupportedFrameError,
        TooManySubscriptionsError,
        RateLimitedError,
        NotAuthenticatedError,
        UnauthorizedError,
        InvalidPriceError,
        InvalidQtyError,
        PriceOutOfBandError,
        PostOnlyWouldCrossError,
        DuplicateClientOrderIdError,
        UnknownOrderError,
        PositionLimitError,
        ReplayModeError,
        MarketHaltedError,
        InternalError,
    )
}


def from_error_message(message: dict[str, Any]) -> TickwireError:
    """The typed exception for a server ``error`` message."""
    code = str(message.get("code", "internal"))
    text = str(message.get("message", ""))
    op = message.get("op")
    cls = _BY_CODE.get(code)
    if cls is None:
        # A code newer than this library: still an error that carries it.
        error = TickwireError(text, op if isinstance(op, str) else None, message)
        error.code = code
        return error
    return cls(text, op if isinstance(op, str) else None, message)
