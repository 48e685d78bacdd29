//! A connection's requests in the Binance dialect (market streams at
//! `/binance/ws` and `/binance/stream`): `SUBSCRIBE`, `UNSUBSCRIBE`,
//! `LIST_SUBSCRIPTIONS`, `GET_PROPERTY`/`SET_PROPERTY` of `combined`,
//! answered as Binance does (`{"result":null,"id":1}`; errors
//! `{"code":2,"msg":"Invalid request: ...","id":1}`). A bad request
//! changes nothing.

use serde_json::Value;

use super::Session;
use crate::binance::Framed;
use crate::binance::names::{parse_stream, stream_name};
use crate::json;
use crate::protocol::{Channel, StreamId};

/// Binance's market-stream error codes.
const UNKNOWN_PROPERTY: u32 = 0;
const INVALID_VALUE: u32 = 1;
const INVALID_REQUEST: u32 = 2;
const INVALID_JSON: u32 = 3;

struct Failure {
    code: u32,
    msg: String,
}

fn invalid(msg: impl Into<String>) -> Failure {
    Failure {
        code: INVALID_REQUEST,
        msg: format!("Invalid request: {}", msg.into()),
    }
}

/// The request's `id` as JSON text to echo (a number, a string, or null).
fn id_of(request: &Value) -> Result<String, Failure> {
    match request.get("id") {
        None | Some(Value::Null) => Ok("null".to_string()),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(Value::String(s)) if s.len() <= 36 => {
            let mut out = String::new();
            json::push_str(&mut out, s);
            Ok(out)
        }
        Some(_) => Err(invalid(
            "request ID must be an unsigned integer or a string of at most 36 characters",
        )),
    }
}

impl Session {
    /// One text frame of a Binance-dialect connection.
    pub(super) async fn binance_request(&mut self, text: &str, combined: bool) {
        let (id, answer) = match serde_json::from_str::<Value>(text) {
            Err(e) => (
                "null".to_string(),
                Err(Failure {
                    code: INVALID_JSON,
                    msg: format!("Invalid JSON: {e}"),
                }),
            ),
            Ok(request) => match id_of(&request) {
                Err(e) => ("null".to_string(), Err(e)),
                Ok(id) => {
                    let answer = if self.limit.take().is_err() {
                        Err(invalid(format!(
                            "more than {} requests per second (burst {})",
                            self.shared.config.requests_per_sec, self.shared.config.request_burst
                        )))
                    } else {
                        self.binance_method(&request, combined).await
                    };
                    (id, answer)
                }
            },
        };
        let frame = match answer {
            Ok(result) => format!("{{\"result\":{result},\"id\":{id}}}"),
            Err(failure) => {
                let mut out = format!("{{\"code\":{},\"msg\":", failure.code);
                json::push_str(&mut out, &failure.msg);
                out.push_str(&format!(",\"id\":{id}}}"));
                out
            }
        };
        self.outbox.push_priority(frame.into());
    }

    /// The result of a request (JSON text), or why it failed.
    async fn binance_method(&mut self, request: &Value, combined: bool) -> Result<String, Failure> {
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("method must be a string"))?;
        match method {
            "SUBSCRIBE" => {
                let streams = self.named_streams(request, combined)?;
                let new: Vec<StreamId> = streams
                    .into_iter()
                    .filter(|s| !self.subscriptions.contains(s))
                    .collect();
                let limit = self.shared.config.max_subscriptions;
                if self.subscriptions.len() + new.len() > limit {
                    return Err(invalid(format!(
                        "this would make {} streams; a connection may have at most {limit}",
                        self.subscriptions.len() + new.len()
                    )));
                }
                self.subscriptions.extend(new.iter().copied());
                self.outbox.subscribe(&new);
                self.await_followed(&new).await;
                self.register(&new).await;
                Ok("null".into())
            }
            "UNSUBSCRIBE" => {
                let streams = self.named_streams(request, combined)?;
                let gone: Vec<StreamId> = streams
                    .into_iter()
                    .filter(|s| self.subscriptions.contains(s))
                    .collect();
                self.unregister(&gone).await;
                Ok("null".into())
            }
            "LIST_SUBSCRIPTIONS" => {
                let mut out = String::from("[");
                for (i, stream) in self.subscriptions.iter().enumerate() {
                    if let (Channel::Binance(framed), Some(instrument)) =
                        (stream.channel, self.shared.instrument(stream.symbol))
                    {
                        if i > 0 {
                            out.push(',');
                        }
                        json::push_str(&mut out, &stream_name(instrument, framed.stream));
                    }
                }
                out.push(']');
                Ok(out)
            }
            "GET_PROPERTY" | "SET_PROPERTY" => {
                let params = request.get("params").and_then(Value::as_array);
                let property = params.and_then(|p| p.first()).and_then(Value::as_str);
                match (method, property) {
                    (_, Some(p)) if p != "combined" => Err(Failure {
                        code: UNKNOWN_PROPERTY,
                        msg: format!("Unknown property {p:?}"),
                    }),
                    ("GET_PROPERTY", Some(_)) => Ok(combined.to_string()),
                    ("SET_PROPERTY", Some(_)) => {
                        match params.and_then(|p| p.get(1)).and_then(Value::as_bool) {
                            Some(value) if value == combined => Ok("null".into()),
                            Some(_) => Err(invalid(
                                "tickwire does not switch framing on an open connection: connect to /binance/stream for combined frames, /binance/ws for raw ones",
                            )),
                            None => Err(Failure {
                                code: INVALID_VALUE,
                                msg: "Invalid value type: expected Boolean".into(),
                            }),
                        }
                    }
                    _ => Err(invalid(
                        "params must be [\"combined\"] (GET_PROPERTY) or [\"combined\", true|false]",
                    )),
                }
            }
            other => Err(invalid(format!(
                "unknown variant {other:?}, expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"
            ))),
        }
    }

    /// The streams a request's `params` names; every one must be known.
    fn named_streams(&self, request: &Value, combined: bool) -> Result<Vec<StreamId>, Failure> {
        let params = request
            .get("params")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("params must be an array of stream names"))?;
        let mut streams = Vec::with_capacity(params.len());
        for param in params {
            let name = param
                .as_str()
                .ok_or_else(|| invalid("every stream name must be a string"))?;
            streams.push(self.binance_stream(name, combined).map_err(invalid)?);
        }
        streams.sort_unstable();
        streams.dedup();
        Ok(streams)
    }

    /// The stream a name (`btcusd@trade`) is on this connection.
    pub(super) fn binance_stream(&self, name: &str, combined: bool) -> Result<StreamId, String> {
        let (symbol, stream) =
            parse_stream(&self.shared.instruments, name).map_err(|e| e.to_string())?;
        Ok(StreamId {
            symbol,
            channel: Channel::Binance(Framed { stream, combined }),
        })
    }
}
