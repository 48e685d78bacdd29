//! The polling API (PROTOCOL.md v1.1), read-only: `GET /api/book?symbol=S
//! &depth=N`, `GET /api/trades?symbol=S&since=SEQ`, `GET /api/ticker?
//! symbol=S`. Each is answered by the symbol's task at the point of its
//! streams (the same `seq` and decimal strings as the WebSocket). Errors
//! are `{"code","message"}` with 400 (a bad parameter) or 404 (an unknown
//! symbol, no ticker yet).

use std::time::Duration;

use hyper::StatusCode;
use tokio::sync::oneshot;

use crate::gateway::commands::{PollQuery, StreamCommand, SymbolCommand};
use crate::gateway::shared::Shared;
use crate::json;
use crate::query::param;

/// The deepest book answered (levels per side).
pub const MAX_DEPTH: usize = 1000;

/// An error body.
fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, String) {
    let mut body = format!("{{\"code\":\"{code}\",\"message\":");
    json::push_str(&mut body, message);
    body.push('}');
    (status, body)
}

fn bad(message: String) -> (StatusCode, String) {
    error(StatusCode::BAD_REQUEST, "bad_request", &message)
}

/// What a path and query ask, or the error answer.
fn query_of(path: &str, query: &str) -> Result<PollQuery, (StatusCode, String)> {
    let number = |name: &str| -> Result<Option<u64>, (StatusCode, String)> {
        match param(query, name).map_err(bad)? {
            None => Ok(None),
            Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                bad(format!(
                    "parameter {name} must be a whole number, not {v:?}"
                ))
            }),
        }
    };
    match path {
        "/api/book" => {
            let depth = number("depth")?;
            if depth.is_some_and(|d| d == 0 || d as usize > MAX_DEPTH) {
                return Err(bad(format!(
                    "parameter depth must be 1 to {MAX_DEPTH} (levels per side); omit it for the whole book"
                )));
            }
            Ok(PollQuery::Book {
                depth: depth.map(|d| d as usize),
            })
        }
        "/api/trades" => Ok(PollQuery::Trades {
            since: number("since")?,
        }),
        _ => Ok(PollQuery::Ticker),
    }
}

/// Whether `path` is one of the polling API's.
pub fn serves(path: &str) -> bool {
    matches!(path, "/api/book" | "/api/trades" | "/api/ticker")
}

/// The answer to a polling request: status and JSON body.
pub async fn answer(shared: &Shared, path: &str, query: &str) -> (StatusCode, String) {
    let poll = match query_of(path, query) {
        Ok(poll) => poll,
        Err(answer) => return answer,
    };
    let name = match param(query, "symbol") {
        Ok(Some(name)) => name,
        Ok(None) => return bad("parameter symbol is required (e.g. ?symbol=BTC-USD)".into()),
        Err(e) => return bad(e),
    };
    let Some(symbol) = shared.symbol_id(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_symbol",
            &format!("unknown symbol {name:?}; GET /api/instruments lists them"),
        );
    };
    let (reply, answer) = oneshot::channel();
    let command = SymbolCommand::Streams(StreamCommand::Poll { query: poll, reply });
    shared.command(symbol, command).await;
    match tokio::time::timeout(Duration::from_secs(5), answer).await {
        Ok(Ok(Some(body))) => (StatusCode::OK, body),
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("{name} has no ticker yet (no trade or quote so far)"),
        ),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "the market did not answer in time; try again",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_and_checked() {
        assert_eq!(
            query_of("/api/book", "symbol=X&depth=25"),
            Ok(PollQuery::Book { depth: Some(25) })
        );
        assert_eq!(
            query_of("/api/book", "symbol=X"),
            Ok(PollQuery::Book { depth: None })
        );
        assert_eq!(
            query_of("/api/trades", "symbol=X&since=41"),
            Ok(PollQuery::Trades { since: Some(41) })
        );
        for (path, query) in [
            ("/api/book", "depth=0"),
            ("/api/book", "depth=1001"),
            ("/api/book", "depth=ten"),
            ("/api/trades", "since=-1"),
        ] {
            let (status, body) = query_of(path, query).expect_err(query);
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(body.contains("bad_request"), "{body}");
        }
    }
}
