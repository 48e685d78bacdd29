//! The request parser through its public API.

use super::*;

fn p(text: &str) -> Parsed {
    parse(text, &mut Vec::new())
}

fn code(text: &str) -> &'static str {
    p(text).request.unwrap_err().code.as_str()
}

#[test]
fn book_depth_and_interval_are_read_with_v1_meanings_kept() {
    let selection = |text: &str| match p(text).request {
        Ok(Request::Subscribe(s)) => s,
        other => panic!("{text}: {other:?}"),
    };
    let s = selection(
        r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD"],"depth":10,"interval":"100ms"}"#,
    );
    assert_eq!(
        s.book_channel(),
        BookView::channel(Some(Depth::D10), Some(Throttle::Ms100))
    );
    let s = selection(
        r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD"],"interval":"1s"}"#,
    );
    assert_eq!(
        s.book_channel(),
        BookView::channel(None, Some(Throttle::S1))
    );
    // v1: 1 s candles and the book at every change.
    let s = selection(
        r#"{"op":"subscribe","channels":["book","candles"],"symbols":["BTC-USD"],"interval":"1s"}"#,
    );
    assert_eq!(s.book_channel(), Channel::Book);
    assert_eq!(s.interval, Some(Interval::OneSecond));
    let s = selection(
        r#"{"op":"subscribe","channels":["book","candles"],"symbols":["BTC-USD"],"interval":"1m"}"#,
    );
    assert_eq!(s.book_channel(), Channel::Book);
    for bad in [
        r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD"],"depth":20}"#,
        r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD"],"depth":"10"}"#,
        r#"{"op":"subscribe","channels":["trades"],"symbols":["BTC-USD"],"depth":10}"#,
        r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD"],"interval":"250ms"}"#,
        r#"{"op":"subscribe","channels":["candles"],"symbols":["BTC-USD"],"interval":"100ms"}"#,
        r#"{"op":"subscribe","channels":["trades"],"symbols":["BTC-USD"],"interval":"100ms"}"#,
    ] {
        assert_eq!(code(bad), "bad_request", "{bad}");
    }
}

#[test]
fn requests_parse_with_their_ids() {
    let r = p(r#"{"op":"subscribe","id":7,"channels":["book","trades"],"symbols":["BTC-USD"]}"#);
    assert_eq!(r.id.as_deref(), Some("7"));
    assert_eq!(
        r.request,
        Ok(Request::Subscribe(StreamSelection {
            channels: vec!["book".into(), "trades".into()],
            symbols: vec!["BTC-USD".into()],
            interval: None,
            throttle: None,
            depth: None,
        }))
    );
    assert_eq!(
        p(r#"{"op":"ping","id":"a\"b"}"#).id.as_deref(),
        Some(r#""a\"b""#)
    );
    assert_eq!(p(r#"{"op":"ping"}"#).request, Ok(Request::Ping));
    assert_eq!(p(r#"{"op":"instruments","id":null}"#).id, None);
    assert_eq!(p(r#"{"op":"account"}"#).request, Ok(Request::Account));
    let order = p(
        r#"{"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.5","price":"64000.50","tif":"ioc","client_order_id":"abc-1"}"#,
    );
    assert!(
        matches!(order.request, Ok(Request::Order(o)) if o.qty == "0.5" && o.tif == Some(crate::types::TimeInForce::Ioc))
    );
    let cancel = p(r#"{"op":"cancel","symbol":"BTC-USD","client_order_id":"abc-1"}"#);
    assert!(matches!(
        cancel.request,
        Ok(Request::Cancel {
            order: OrderRef::ClientOrderId(_),
            ..
        })
    ));
    let candles = p(r#"{"op":"subscribe","channels":["candles"],"symbols":["X"],"interval":"1s"}"#);
    assert!(
        matches!(candles.request, Ok(Request::Subscribe(s)) if s.interval == Some(Interval::OneSecond))
    );
}

#[test]
fn deep_nesting_is_a_bad_request_not_a_crash() {
    let deep = format!(
        "{{\"op\":\"ping\",\"x\":{}{}}}",
        "[".repeat(32_000),
        "]".repeat(32_000)
    );
    let error = parse(&deep, &mut Vec::new()).request.unwrap_err();
    assert_eq!(error.code, "bad_request");
    assert!(
        error.message.contains("DepthLimitExceeded"),
        "{}",
        error.message
    );
    let deep = "[".repeat(65_000);
    assert_eq!(code(&deep), "bad_request");
}

#[test]
fn bad_requests_say_what_is_wrong() {
    assert_eq!(code("not json"), "bad_request");
    assert_eq!(code("[1,2]"), "bad_request");
    assert_eq!(code(r#"{"id":1}"#), "bad_request");
    assert_eq!(code(r#"{"op":5}"#), "bad_request");
    assert_eq!(code(r#"{"op":"ping","id":{"a":1}}"#), "bad_request");
    assert_eq!(
        code(r#"{"op":"subscribe","channels":"book","symbols":["BTC-USD"]}"#),
        "bad_request"
    );
    assert_eq!(
        code(r#"{"op":"subscribe","channels":["book"]}"#),
        "bad_request"
    );
    assert_eq!(
        code(r#"{"op":"subscribe","channels":[],"symbols":["X"]}"#),
        "bad_request"
    );
    assert_eq!(
        code(r#"{"op":"subscribe","channels":[1],"symbols":["X"]}"#),
        "bad_request"
    );
    assert_eq!(
        code(r#"{"op":"subscribe","channels":["candles"],"symbols":["X"],"interval":"5m"}"#),
        "bad_request"
    );
    assert_eq!(code(r#"{"op":"fly"}"#), "unknown_op");
    let order = r#"{"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"1","price":"1.00","tif":"gtc","post_only":false,"client_order_id":"ok"}"#;
    assert!(p(order).request.is_ok());
    for (good, bad) in [
        (r#""side":"buy""#, r#""side":"up""#),
        (r#""order_type":"limit""#, r#""order_type":"stop""#),
        (r#""tif":"gtc""#, r#""tif":"day""#),
        (r#""qty":"1""#, r#""qty":1"#),
        (r#""post_only":false"#, r#""post_only":"yes""#),
        (
            r#""client_order_id":"ok""#,
            r#""client_order_id":"has space""#,
        ),
        (
            r#""client_order_id":"ok""#,
            r#""client_order_id":"0123456789012345678901234567890123456""#,
        ),
    ] {
        let text = order.replace(good, bad);
        assert_eq!(code(&text), "bad_request", "{text}");
    }
    let no_price = r#"{"op":"order","symbol":"X","side":"buy","order_type":"limit","qty":"1"}"#;
    assert_eq!(code(no_price), "bad_request");
    let market_price =
        r#"{"op":"order","symbol":"X","side":"buy","order_type":"market","qty":"1","price":"2"}"#;
    assert_eq!(code(market_price), "bad_request");
    assert_eq!(code(r#"{"op":"cancel","symbol":"X"}"#), "bad_request");
    assert_eq!(
        code(r#"{"op":"cancel","symbol":"X","order_id":"1","client_order_id":"a"}"#),
        "bad_request"
    );
    assert_eq!(code(r#"{"op":"auth"}"#), "bad_request");
    let r = p(r#"{"op":"subscribe","id":3,"channels":"x"}"#);
    assert_eq!(
        (r.id.as_deref(), r.op.as_deref()),
        (Some("3"), Some("subscribe"))
    );
    assert_eq!(
        r.request.unwrap_err().message,
        "field \"channels\" must be a list of strings"
    );
}

#[test]
fn a_field_given_twice_is_refused_wherever_its_repeat_is() {
    for text in [
        r#"{"op":"ping","op":"launch"}"#,
        r#"{"op":"ping","id":1,"id":2}"#,
        r#"{ "op" : "ping" , "x" : {"a":1} , "x" : [] }"#,
        r#"{"op":"ping","a\"b":1,"a\"b":2}"#,
    ] {
        assert_eq!(code(text), "bad_request", "{text}");
    }
    // Nested objects' keys and keys inside strings are not the top level's.
    for text in [
        r#"{"op":"ping","x":{"op":1,"id":2}}"#,
        r#"{"op":"ping","id":"\"op\":"}"#,
        r#"{"op":"ping","x":["op","op"]}"#,
    ] {
        assert!(p(text).request.is_ok(), "{text}");
    }
}
