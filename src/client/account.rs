//! The account commands: `open-orders`, `account`, `cancel-all`, `status`
//! and `amend`. Each connects, authenticates, sends one request and prints
//! its answer in words (or the JSON as the server sent it, for scripts).

use serde_json::{Value, json};

use super::{WAIT, connect, describe_error, next_json, s, send};

/// Sends one request and returns the answer carrying its `id`; an `error`
/// answer is an `Err` with its code and message.
pub async fn ask(url: &str, token: &str, mut request: Value) -> Result<Value, String> {
    let mut ws = connect(url, token, WAIT).await?;
    request["id"] = json!("cli");
    send(&mut ws, request).await?;
    loop {
        let v = next_json(&mut ws, WAIT).await?;
        if v["id"] == "cli" {
            return match v["type"].as_str() {
                Some("error") => Err(describe_error(&v)),
                _ => Ok(v),
            };
        }
    }
}

/// One line for an order (an `open_orders` entry or `order_status`).
fn order_line(o: &Value) -> String {
    format!(
        "{} {} {} {} {} @ {} {}, leaves {}{}",
        s(o, "order_id"),
        s(o, "side"),
        s(o, "qty"),
        s(o, "symbol"),
        s(o, "order_type"),
        o["price"].as_str().unwrap_or("market"),
        s(o, "tif"),
        s(o, "leaves_qty"),
        o["client_order_id"]
            .as_str()
            .map(|c| format!(" (client order id {c})"))
            .unwrap_or_default()
    )
}

/// The answer to an account command, in words.
pub fn describe_answer(v: &Value) -> Vec<String> {
    match v["type"].as_str() {
        Some("open_orders") => {
            let orders = v["orders"].as_array().cloned().unwrap_or_default();
            if orders.is_empty() {
                return vec!["no open orders".to_string()];
            }
            orders.iter().map(order_line).collect()
        }
        Some("account") => {
            let mut lines = vec![format!(
                "account {}, cash {}",
                s(v, "account"),
                s(v, "cash")
            )];
            for p in v["positions"].as_array().cloned().unwrap_or_default() {
                lines.push(format!(
                    "  {} position {}, average price {}, realized P&L {}",
                    s(&p, "symbol"),
                    s(&p, "position"),
                    s(&p, "avg_price"),
                    s(&p, "realized_pnl")
                ));
            }
            lines
        }
        Some("canceled_all") => vec![format!("canceled {} orders", v["count"])],
        Some("order_status") => {
            let o = &v["order"];
            vec![format!(
                "{}: {}, filled {}",
                s(o, "status"),
                order_line(o),
                s(o, "filled_qty")
            )]
        }
        Some("order_amended") => vec![format!(
            "amended {}: price {}, qty {}, leaves {}",
            s(v, "order_id"),
            s(v, "price"),
            s(v, "qty"),
            s(v, "leaves_qty")
        )],
        _ => vec![v.to_string()],
    }
}

/// The request of each account command.
pub enum AccountRequest {
    OpenOrders {
        symbol: Option<String>,
    },
    Account,
    CancelAll {
        symbol: Option<String>,
    },
    Status {
        symbol: String,
        order_id: Option<String>,
        client_order_id: Option<String>,
    },
    Amend {
        symbol: String,
        order_id: Option<String>,
        client_order_id: Option<String>,
        qty: Option<String>,
        price: Option<String>,
    },
}

fn order_ref(
    request: &mut Value,
    order_id: Option<String>,
    client_order_id: Option<String>,
) -> Result<(), String> {
    match (order_id, client_order_id) {
        (Some(id), _) => request["order_id"] = json!(id),
        (None, Some(coid)) => request["client_order_id"] = json!(coid),
        (None, None) => return Err("name the order: an order id or --client-order-id".to_string()),
    }
    Ok(())
}

impl AccountRequest {
    pub fn to_json(self) -> Result<Value, String> {
        Ok(match self {
            AccountRequest::OpenOrders { symbol } => {
                let mut r = json!({"op":"open_orders"});
                if let Some(symbol) = symbol {
                    r["symbol"] = json!(symbol);
                }
                r
            }
            AccountRequest::Account => json!({"op":"account"}),
            AccountRequest::CancelAll { symbol } => {
                let mut r = json!({"op":"cancel_all"});
                if let Some(symbol) = symbol {
                    r["symbol"] = json!(symbol);
                }
                r
            }
            AccountRequest::Status {
                symbol,
                order_id,
                client_order_id,
            } => {
                let mut r = json!({"op":"order_status","symbol":symbol});
                order_ref(&mut r, order_id, client_order_id)?;
                r
            }
            AccountRequest::Amend {
                symbol,
                order_id,
                client_order_id,
                qty,
                price,
            } => {
                if qty.is_none() && price.is_none() {
                    return Err("give the new --qty, the new --price, or both".to_string());
                }
                let mut r = json!({"op":"amend","symbol":symbol});
                order_ref(&mut r, order_id, client_order_id)?;
                if let Some(qty) = qty {
                    r["qty"] = json!(qty);
                }
                if let Some(price) = price {
                    r["price"] = json!(price);
                }
                r
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_words() {
        let open = json!({"type":"open_orders","orders":[{"order_id":"BTC-USD:5","side":"buy","qty":"0.5000","symbol":"BTC-USD","order_type":"limit","price":"60000.00","tif":"gtc","leaves_qty":"0.5000","client_order_id":"x"}]});
        assert_eq!(
            describe_answer(&open),
            vec![
                "BTC-USD:5 buy 0.5000 BTC-USD limit @ 60000.00 gtc, leaves 0.5000 (client order id x)"
            ]
        );
        assert_eq!(
            describe_answer(&json!({"type":"open_orders","orders":[]})),
            vec!["no open orders"]
        );
        assert_eq!(
            describe_answer(&json!({"type":"canceled_all","count":3})),
            vec!["canceled 3 orders"]
        );
        let account = json!({"type":"account","account":"a","cash":"-1.00","positions":[{"symbol":"X","position":"1","avg_price":"1.00","realized_pnl":"0"}]});
        assert_eq!(describe_answer(&account).len(), 2);
    }

    #[test]
    fn requests_need_an_order_and_a_change() {
        let amend = AccountRequest::Amend {
            symbol: "X".into(),
            order_id: None,
            client_order_id: None,
            qty: Some("1".into()),
            price: None,
        };
        assert!(amend.to_json().is_err());
        let amend = AccountRequest::Amend {
            symbol: "X".into(),
            order_id: Some("X:1".into()),
            client_order_id: None,
            qty: None,
            price: None,
        };
        assert!(amend.to_json().is_err());
        let status = AccountRequest::Status {
            symbol: "X".into(),
            order_id: None,
            client_order_id: Some("c".into()),
        };
        assert_eq!(
            status.to_json().ok(),
            Some(json!({"op":"order_status","symbol":"X","client_order_id":"c"}))
        );
    }
}
