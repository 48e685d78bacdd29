//! A connection to the Binance dialect's WebSocket API
//! (`/binance/ws-api/v3`): `{"id":..,"method":..,"params":{..}}` requests
//! answered `{"id":..,"status":200,"result":..}` or `{"id":..,"status":400,
//! "error":{"code":..,"msg":..}}`. Served: `ping`, `time`,
//! `userDataStream.subscribe.signature` and `userDataStream.unsubscribe`
//! (the account's events as `{"subscriptionId":N,"event":{..}}`), and the
//! signed trading methods `order.place`, `order.test`, `order.cancel`,
//! `order.status`, `openOrders.status`, `account.status`, `myTrades`,
//! `allOrders`, which
//! are the REST endpoints' own (`gateway::binance::signed`). A cluster
//! gateway forwards the signed methods to the engine (`gateway::bus::
//! binance`) and relays the user data stream the engine makes.

use serde_json::{Value, json};

use super::Session;
use crate::binance::ApiError;
use crate::bus::forward::BinanceApi;
use crate::bus::subjects;
use crate::gateway::binance::user::Source;
use crate::gateway::binance::{signed, wall_ms};
use crate::gateway::bus::binance::{ask, status_unknown};

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
        match method {
            "ping" => return Ok(json!({})),
            "time" => return Ok(json!({"serverTime": wall_ms()})),
            crate::binance::SUBSCRIBE_USER_DATA => {
                let source = if self.shared.config.is_cluster_gateway() {
                    // The engine checks the signature and publishes the
                    // account's events; the subscription to them is in
                    // place before the client hears it is subscribed.
                    let answer = self.ask_engine(method, params).await?;
                    let name = answer["account"].as_str().unwrap_or_default();
                    let client = self.shared.bus.as_ref().ok_or_else(status_unknown)?;
                    let events = client
                        .subscribe(subjects::binance_user(name))
                        .await
                        .map_err(|_| status_unknown())?;
                    Source::Bus(events)
                } else {
                    let checked = signed::check_params(&self.shared, params)?;
                    let shared = self.shared.clone();
                    Source::Local {
                        shared,
                        account: checked.account,
                    }
                };
                let streams = self.api.get_or_insert_with(Default::default);
                let subscription = streams.subscribe(source, self.outbox.clone());
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
            _ => {}
        }
        let Some((http_method, endpoint)) = crate::binance::rest_of_method(method) else {
            return Err(ApiError::new(
                400,
                -1020,
                format!("This operation is not supported: method {method:?}."),
            ));
        };
        if self.shared.config.is_cluster_gateway() {
            return self.ask_engine(method, params).await;
        }
        let checked = signed::check_params(&self.shared, params)?;
        let body = signed::serve(&self.shared, http_method, endpoint, checked).await?;
        serde_json::from_str(&body)
            .map_err(|e| ApiError::internal(format!("an answer was not JSON: {e}")))
    }

    /// A cluster gateway's signed request, checked and carried out by the
    /// engine: its result, or its error (a lost answer is Binance's
    /// "execution status unknown").
    async fn ask_engine(
        &self,
        method: &str,
        params: &serde_json::Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let request = BinanceApi {
            method: method.to_string(),
            params: params.clone(),
        };
        let answer = ask(&self.shared, subjects::BINANCE_API, request.encode()).await?;
        if answer.status == 200 {
            return serde_json::from_str(&answer.body)
                .map_err(|e| ApiError::internal(format!("an answer was not JSON: {e}")));
        }
        let error: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        Err(ApiError::new(
            answer.status,
            error["code"].as_i64().unwrap_or(-1000) as i32,
            error["msg"]
                .as_str()
                .unwrap_or("the engine refused the request")
                .to_string(),
        ))
    }
}
