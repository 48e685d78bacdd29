//! A connection to the Binance dialect's WebSocket API
//! (`/binance/ws-api/v3`): `{"id":..,"method":..,"params":{..}}` requests
//! answered `{"id":..,"status":200,"result":..}` or `{"id":..,"status":400,
//! "error":{"code":..,"msg":..}}`. Served: `ping`, `time`,
//! `userDataStream.subscribe.signature` and `userDataStream.unsubscribe`
//! (the account's events as `{"subscriptionId":N,"event":{..}}`), and the
//! signed trading methods `order.place`, `order.test`, `order.cancel`,
//! `order.status`, `openOrders.status`, `account.status`, `myTrades`,
//! `allOrders`, which
//! are the REST endpoints' own (`gateway::binance::signed`).

use serde_json::{Value, json};

use super::Session;
use crate::binance::ApiError;
use crate::gateway::binance::{signed, wall_ms};

impl Session {
    /// One text frame of a WebSocket API connection.
    pub(super) async fn binance_api_request(&mut self, text: &str) {
        let request = serde_json::from_str::<Value>(text);
        let id = match &request {
            Ok(r) => match r.get("id") {
                Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
                _ => Value::Null,
            },
            Err(_) => Value::Null,
        };
        let result = match request {
            Err(e) => Err(ApiError::new(400, -1102, format!("Invalid JSON: {e}"))),
            Ok(_) if self.limit.take().is_err() => Err(ApiError::too_many(format!(
                "Too many requests: more than {} per second on this connection.",
                self.shared.config.requests_per_sec
            ))),
            Ok(request) => self.binance_api_method(&request).await,
        };
        let answer = match result {
            Ok(result) => json!({"id": id, "status": 200, "result": result, "rateLimits": []}),
            Err(e) => {
                json!({"id": id, "status": e.status, "error": {"code": e.code, "msg": e.msg}})
            }
        };
        self.outbox.push_priority(answer.to_string().into());
    }

    async fn binance_api_method(&mut self, request: &Value) -> Result<Value, ApiError> {
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing("method"))?;
        let empty = serde_json::Map::new();
        let params = match request.get("params") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(ApiError::illegal("params", "it must be an object")),
        };
        let rest = |method: &'static str, endpoint: &'static str| Some((method, endpoint));
        let endpoint = match method {
            "ping" => return Ok(json!({})),
            "time" => return Ok(json!({"serverTime": wall_ms()})),
            "userDataStream.subscribe.signature" => {
                let checked = signed::check_params(&self.shared, params)?;
                let streams = self.api.get_or_insert_with(Default::default);
                let (shared, outbox) = (self.shared.clone(), self.outbox.clone());
                let subscription = streams.subscribe(shared, checked.account, outbox);
                return Ok(json!({"subscriptionId": subscription}));
            }
            "userDataStream.unsubscribe" => {
                let streams = self.api.get_or_insert_with(Default::default);
                let id = params.get("subscriptionId").and_then(Value::as_u64);
                if !streams.unsubscribe(id) {
                    return Err(ApiError::invalid("subscriptionId", "no such subscription"));
                }
                return Ok(json!({}));
            }
            "order.place" => rest("POST", "order"),
            "order.test" => rest("POST", "order/test"),
            "order.cancel" => rest("DELETE", "order"),
            "order.status" => rest("GET", "order"),
            "openOrders.status" => rest("GET", "openOrders"),
            "account.status" => rest("GET", "account"),
            "myTrades" => rest("GET", "myTrades"),
            "allOrders" => rest("GET", "allOrders"),
            _ => None,
        };
        let Some((http_method, endpoint)) = endpoint else {
            return Err(ApiError::new(
                400,
                -1020,
                format!("This operation is not supported: method {method:?}."),
            ));
        };
        let checked = signed::check_params(&self.shared, params)?;
        let body = signed::serve(&self.shared, http_method, endpoint, checked).await?;
        serde_json::from_str(&body)
            .map_err(|e| ApiError::internal(format!("an answer was not JSON: {e}")))
    }
}
