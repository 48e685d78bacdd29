//! Every parser of what a client sends, on the same bytes: the native
//! request parser (a WebSocket text frame), and the Binance dialect's query
//! strings, order parameters and signed text. None may panic; the native
//! parser must answer every frame with a request or an error that has a
//! code and a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire::binance::orders::new_order;
use tickwire::binance::sign::signed_text;
use tickwire::{protocol, query};

fuzz_target!(|data: &[u8]| {
    // Frames reach the parser as text: tungstenite refuses invalid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = protocol::parse(text, &mut Vec::new());
    if let Err(e) = &parsed.request {
        assert!(
            !e.message.is_empty(),
            "an error without a message: {text:?}"
        );
    }

    // The Binance dialect: the text as a query string (and as a body).
    let _ = query::pairs(text);
    let param = |name: &str| query::param(text, name).ok().flatten();
    let _ = new_order(&param);
    let (query_part, body) = text.split_once('\n').unwrap_or((text, ""));
    let _ = signed_text(query_part, body);
});
