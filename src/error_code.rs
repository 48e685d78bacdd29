//! The error codes of PROTOCOL.md: one enum for every refusal, whoever makes
//! it (the request parser, the gateway's checks, the engine's rules), so a
//! code is never a string typed twice.

/// A `code` of an `error` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BadRequest,
    UnknownOp,
    UnknownSymbol,
    UnknownChannel,
    UnsupportedFrame,
    TooManySubscriptions,
    RateLimited,
    NotAuthenticated,
    Unauthorized,
    InvalidPrice,
    InvalidQty,
    PriceOutOfBand,
    PostOnlyWouldCross,
    DuplicateClientOrderId,
    UnknownOrder,
    PositionLimit,
    ReplayMode,
    /// v1.1: an order on a halted market.
    MarketHalted,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::BadRequest,
        ErrorCode::UnknownOp,
        ErrorCode::UnknownSymbol,
        ErrorCode::UnknownChannel,
        ErrorCode::UnsupportedFrame,
        ErrorCode::TooManySubscriptions,
        ErrorCode::RateLimited,
        ErrorCode::NotAuthenticated,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidPrice,
        ErrorCode::InvalidQty,
        ErrorCode::PriceOutOfBand,
        ErrorCode::PostOnlyWouldCross,
        ErrorCode::DuplicateClientOrderId,
        ErrorCode::UnknownOrder,
        ErrorCode::PositionLimit,
        ErrorCode::ReplayMode,
        ErrorCode::MarketHalted,
        ErrorCode::Internal,
    ];

    /// The code as the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownOp => "unknown_op",
            ErrorCode::UnknownSymbol => "unknown_symbol",
            ErrorCode::UnknownChannel => "unknown_channel",
            ErrorCode::UnsupportedFrame => "unsupported_frame",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidPrice => "invalid_price",
            ErrorCode::InvalidQty => "invalid_qty",
            ErrorCode::PriceOutOfBand => "price_out_of_band",
            ErrorCode::PostOnlyWouldCross => "post_only_would_cross",
            ErrorCode::DuplicateClientOrderId => "duplicate_client_order_id",
            ErrorCode::UnknownOrder => "unknown_order",
            ErrorCode::PositionLimit => "position_limit",
            ErrorCode::ReplayMode => "replay_mode",
            ErrorCode::MarketHalted => "market_halted",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code compares equal to its wire name (`ErrorCode::BadRequest ==
/// "bad_request"`), which is what tests and clients hold.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_protocol_once() {
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for name in [
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
        ] {
            assert!(names.contains(&name), "{name}");
        }
    }
}
