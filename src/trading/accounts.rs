//! Accounts and their tokens: from a TOML file (`--accounts`), from the
//! `TICKWIRE_ACCOUNTS` variable (`name=token,name=token`), or one `demo`
//! account with a random token. Tokens are compared in constant time and
//! never logged or printed except the demo token, once, at start-up.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::config_file::{FileError, Source};
use toml::Spanned;

use crate::instrument::Instruments;
use crate::types::{NANOS_PER_SEC, Owner, Qty};

/// Orders per second per account, by default (PROTOCOL.md).
pub const DEFAULT_ORDERS_PER_SEC: f64 = 100.0;
/// How long an account's finished orders, client order ids and fills are
/// kept (PROTOCOL.md: 24 hours), in nanoseconds.
pub const DEFAULT_HISTORY: u64 = 24 * 3600 * NANOS_PER_SEC;
/// The default position limit, in multiples of the instrument's `max_qty`.
pub const DEFAULT_POSITION_LIMIT_MAX_QTYS: i64 = 10;

#[derive(Clone, Debug)]
pub struct AccountConfig {
    pub name: String,
    pub(crate) token: String,
    pub orders_per_sec: f64,
    /// Largest absolute position per symbol index, in lots.
    pub position_limits: Vec<Qty>,
    /// The Binance dialect's API key and secret (by default both the
    /// token).
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
    /// Spot balances at the start, by asset (the Binance dialect's
    /// balances add every fill to them); by default `DEFAULT_QUOTE_BALANCE`
    /// of each quote asset.
    pub balances: BTreeMap<String, Decimal>,
    /// How long finished orders (`order_status`), client order ids (their
    /// uniqueness) and fills (`fills`) are kept, in ns: memory grows with
    /// the orders of this window (docs/protocol.md, "Accounts").
    pub history: u64,
}

/// A new account's balance of each quote asset when it names none.
pub const DEFAULT_QUOTE_BALANCE: i64 = 1_000_000;

/// The starting balances when none are given: `DEFAULT_QUOTE_BALANCE` of
/// every instrument's quote asset.
fn default_balances(instruments: &Instruments) -> BTreeMap<String, Decimal> {
    instruments
        .iter()
        .map(|i| {
            (
                i.quote_asset().to_string(),
                Decimal::from(DEFAULT_QUOTE_BALANCE),
            )
        })
        .collect()
}

impl AccountConfig {
    /// The engine owner of this account's orders (the account at index `i`
    /// is `Owner(i + 1)`; `Owner(0)` is the simulated crowd).
    pub fn owner(index: usize) -> Owner {
        Owner(index as u32 + 1)
    }
}

/// A problem in the file, located to its line and field.
pub type AccountsError = FileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    account: Vec<RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Spanned<String>,
    token: Spanned<String>,
    orders_per_sec: Option<Spanned<f64>>,
    position_limits: Option<Spanned<BTreeMap<String, String>>>,
    api_key: Option<Spanned<String>>,
    api_secret: Option<Spanned<String>>,
    balances: Option<Spanned<BTreeMap<String, String>>>,
    history: Option<Spanned<String>>,
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be 1 to 32 characters of A-Za-z0-9_-"
        ))
    }
}

fn check_token(token: &str) -> Result<(), String> {
    if token.len() < 8 || token.len() > 256 || token.chars().any(|c| c.is_whitespace() || c == ',')
    {
        Err("must be 8 to 256 characters without spaces or commas".to_string())
    } else {
        Ok(())
    }
}

/// Every account of one server, in file order.
#[derive(Clone, Debug)]
pub struct Accounts {
    list: Vec<AccountConfig>,
}

impl Accounts {
    fn default_limits(instruments: &Instruments) -> Vec<Qty> {
        instruments
            .iter()
            .map(|i| Qty(i.max_qty.0.saturating_mul(DEFAULT_POSITION_LIMIT_MAX_QTYS)))
            .collect()
    }

    /// One `demo` account with a random token.
    pub fn demo(instruments: &Instruments) -> Accounts {
        let token: String = (0..32)
            .map(|_| format!("{:x}", rand::random::<u8>() & 0xf))
            .collect();
        let account = AccountConfig {
            name: "demo".to_string(),
            api_key: token.clone(),
            api_secret: token.clone(),
            token,
            orders_per_sec: DEFAULT_ORDERS_PER_SEC,
            position_limits: Self::default_limits(instruments),
            balances: default_balances(instruments),
            history: DEFAULT_HISTORY,
        };
        Accounts {
            list: vec![account],
        }
    }

    /// `name=token,name=token` (the `TICKWIRE_ACCOUNTS` variable).
    pub fn from_env_value(value: &str, instruments: &Instruments) -> Result<Accounts, String> {
        let mut list: Vec<AccountConfig> = Vec::new();
        for (n, pair) in value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let Some((name, token)) = pair.split_once('=') else {
                return Err(format!(
                    "TICKWIRE_ACCOUNTS entry {} is not name=token",
                    n + 1
                ));
            };
            check_name(name).map_err(|e| format!("TICKWIRE_ACCOUNTS entry {}: name {e}", n + 1))?;
            check_token(token)
                .map_err(|e| format!("TICKWIRE_ACCOUNTS entry {}: the token {e}", n + 1))?;
            if list.iter().any(|a| a.name == name) {
                return Err(format!("TICKWIRE_ACCOUNTS: account {name} is given twice"));
            }
            list.push(AccountConfig {
                name: name.to_string(),
                token: token.to_string(),
                orders_per_sec: DEFAULT_ORDERS_PER_SEC,
                position_limits: Self::default_limits(instruments),
                api_key: token.to_string(),
                api_secret: token.to_string(),
                balances: default_balances(instruments),
                history: DEFAULT_HISTORY,
            });
        }
        if list.is_empty() {
            return Err("TICKWIRE_ACCOUNTS is set but names no account".to_string());
        }
        Ok(Accounts { list })
    }

    pub fn load(path: &Path, instruments: &Instruments) -> Result<Accounts, AccountsError> {
        let (file, text) = crate::config_file::read(path)?;
        Accounts::parse(&file, &text, instruments)
    }

    pub fn parse(
        file: &str,
        text: &str,
        instruments: &Instruments,
    ) -> Result<Accounts, AccountsError> {
        let source = Source { file, text };
        let invalid =
            |offset: usize, field: &str, message: String| source.invalid(offset, field, message);
        let raw: RawFile = source.parse()?;
        let mut list: Vec<AccountConfig> = Vec::new();
        for r in raw.account {
            check_name(r.name.get_ref()).map_err(|m| invalid(r.name.span().start, "name", m))?;
            check_token(r.token.get_ref())
                .map_err(|m| invalid(r.token.span().start, "token", m))?;
            if list.iter().any(|a| &a.name == r.name.get_ref()) {
                return Err(invalid(
                    r.name.span().start,
                    "name",
                    format!("account {} is defined twice", r.name.get_ref()),
                ));
            }
            let orders_per_sec = match &r.orders_per_sec {
                Some(rate) if !(rate.get_ref().is_finite() && *rate.get_ref() > 0.0) => {
                    return Err(invalid(
                        rate.span().start,
                        "orders_per_sec",
                        "must be a positive number".into(),
                    ));
                }
                Some(rate) => *rate.get_ref(),
                None => DEFAULT_ORDERS_PER_SEC,
            };
            let history = match &r.history {
                None => DEFAULT_HISTORY,
                Some(text) => crate::record::parse_duration(text.get_ref())
                    .and_then(|ns| {
                        if (NANOS_PER_SEC..=DEFAULT_HISTORY).contains(&ns) {
                            Ok(ns)
                        } else {
                            Err(format!("{:?} must be from 1s to 24h", text.get_ref()))
                        }
                    })
                    .map_err(|m| invalid(text.span().start, "history", m))?,
            };
            let mut position_limits = Self::default_limits(instruments);
            if let Some(limits) = &r.position_limits {
                for (symbol, value) in limits.get_ref() {
                    let at = limits.span().start;
                    let unknown =
                        || invalid(at, "position_limits", format!("unknown symbol {symbol}"));
                    let id = instruments.id_of(symbol).ok_or_else(unknown)?;
                    let instrument = instruments.by_id(id).ok_or_else(unknown)?;
                    let index = id.index();
                    let qty = value
                        .parse::<Decimal>()
                        .map_err(|_| {
                            invalid(
                                at,
                                "position_limits",
                                format!("{symbol}: {value:?} is not a decimal"),
                            )
                        })
                        .and_then(|d| {
                            instrument.qty_from_decimal(d).map_err(|e| {
                                invalid(at, "position_limits", format!("{symbol}: {e}"))
                            })
                        })?;
                    position_limits[index] = qty;
                }
            }
            let key = |field: &Option<Spanned<String>>, name: &str| match field {
                Some(value) => check_token(value.get_ref())
                    .map(|()| value.get_ref().clone())
                    .map_err(|m| invalid(value.span().start, name, m)),
                None => Ok(r.token.get_ref().clone()),
            };
            let api_key = key(&r.api_key, "api_key")?;
            let api_secret = key(&r.api_secret, "api_secret")?;
            if let Some(other) = list.iter().find(|a| a.api_key == api_key) {
                let at = r.api_key.as_ref().map_or(r.name.span(), |k| k.span()).start;
                let message = format!("account {} has the same api_key", other.name);
                return Err(invalid(at, "api_key", message));
            }
            let balances = match &r.balances {
                None => default_balances(instruments),
                Some(given) => {
                    let at = given.span().start;
                    let mut balances = BTreeMap::new();
                    for (asset, value) in given.get_ref() {
                        let amount = value
                            .parse::<Decimal>()
                            .ok()
                            .filter(|d| !d.is_sign_negative())
                            .ok_or_else(|| {
                                let message =
                                    format!("{asset}: {value:?} is not a decimal of at least 0");
                                invalid(at, "balances", message)
                            })?;
                        balances.insert(asset.clone(), amount);
                    }
                    balances
                }
            };
            list.push(AccountConfig {
                name: r.name.get_ref().clone(),
                token: r.token.get_ref().clone(),
                orders_per_sec,
                position_limits,
                api_key,
                api_secret,
                balances,
                history,
            });
        }
        if list.is_empty() {
            return Err(invalid(
                0,
                "account",
                "the file defines no [[account]]".into(),
            ));
        }
        Ok(Accounts { list })
    }

    /// The account whose token this is. Every account's token is compared,
    /// each in constant time, so timing tells nothing about which (if any)
    /// matched or how much of a token was right.
    pub fn authenticate(&self, token: &str) -> Option<usize> {
        let mut found = None;
        for (index, account) in self.list.iter().enumerate() {
            if constant_time_eq(account.token.as_bytes(), token.as_bytes()) {
                found = Some(index);
            }
        }
        found
    }

    /// The account of a Binance API key (compared like tokens), with its
    /// secret.
    pub fn by_api_key(&self, key: &str) -> Option<(usize, &str)> {
        let mut found = None;
        for (index, account) in self.list.iter().enumerate() {
            if constant_time_eq(account.api_key.as_bytes(), key.as_bytes()) {
                found = Some((index, account.api_secret.as_str()));
            }
        }
        found
    }

    pub fn iter(&self) -> std::slice::Iter<'_, AccountConfig> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&AccountConfig> {
        self.list.get(index)
    }

    /// The demo token, for the one start-up line that shows it.
    pub fn token_of(&self, index: usize) -> Option<&str> {
        self.list.get(index).map(|a| a.token.as_str())
    }
}

/// Compares without an early exit; the length difference is folded in too.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruments() -> Instruments {
        Instruments::embedded_default()
    }

    #[test]
    fn tokens_authenticate_their_account_only() {
        let accounts =
            Accounts::from_env_value("alice=alice-token-1,bob=bob-token-22", &instruments())
                .expect("valid");
        assert_eq!(accounts.authenticate("alice-token-1"), Some(0));
        assert_eq!(accounts.authenticate("bob-token-22"), Some(1));
        for wrong in ["", "alice-token-", "alice-token-12", "bob-token-2"] {
            assert_eq!(accounts.authenticate(wrong), None, "{wrong}");
        }
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn env_value_errors_say_which_entry() {
        let i = instruments();
        assert!(
            Accounts::from_env_value("alice", &i)
                .unwrap_err()
                .contains("entry 1")
        );
        assert!(
            Accounts::from_env_value("a=short", &i)
                .unwrap_err()
                .contains("8 to 256")
        );
        assert!(
            Accounts::from_env_value("a=longtoken1,a=longtoken2", &i)
                .unwrap_err()
                .contains("twice")
        );
        assert!(Accounts::from_env_value(" , ", &i).is_err());
    }

    #[test]
    fn the_file_gives_limits_and_names_errors_by_line() {
        let text = "[[account]]\nname = \"alice\"\ntoken = \"alice-secret\"\norders_per_sec = 5\n\
                    [account.position_limits]\nBTC-USD = \"2.5\"\n";
        let accounts = Accounts::parse("a.toml", text, &instruments()).expect("valid");
        let alice = accounts.get(0).expect("alice");
        assert_eq!(alice.orders_per_sec, 5.0);
        assert_eq!(alice.position_limits[0], Qty(25_000));
        assert_eq!(
            alice.position_limits[1],
            Qty(10_000_000),
            "ETH-USD default: 10 x max_qty"
        );
        let bad = Accounts::parse(
            "a.toml",
            &text.replace("\"alice-secret\"", "\"x\""),
            &instruments(),
        );
        assert_eq!(
            bad.unwrap_err().to_string(),
            "a.toml:3: token: must be 8 to 256 characters without spaces or commas"
        );
        let bad = Accounts::parse("a.toml", &text.replace("BTC-USD", "DOGE"), &instruments());
        assert!(bad.unwrap_err().to_string().contains("unknown symbol DOGE"));
        let bad = Accounts::parse(
            "a.toml",
            &text.replace("\"2.5\"", "\"2.55555\""),
            &instruments(),
        );
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("not a multiple of the lot size")
        );
    }

    #[test]
    fn history_is_a_duration_from_a_second_to_a_day() {
        let text = |history: &str| {
            format!(
                "[[account]]\nname = \"alice\"\ntoken = \"alice-secret\"\nhistory = \"{history}\"\n"
            )
        };
        let parse = |history: &str| Accounts::parse("a.toml", &text(history), &instruments());
        let alice = parse("90s").expect("valid");
        assert_eq!(alice.get(0).map(|a| a.history), Some(90 * NANOS_PER_SEC));
        assert_eq!(
            Accounts::demo(&instruments()).get(0).map(|a| a.history),
            Some(DEFAULT_HISTORY)
        );
        for (bad, why) in [
            (
                "500ms",
                "a.toml:4: history: \"500ms\" must be from 1s to 24h",
            ),
            ("25h", "a.toml:4: history: \"25h\" must be from 1s to 24h"),
            (
                "soon",
                "a.toml:4: history: \"soon\" is not a duration such as 60s, 500ms, 2m or 1h",
            ),
        ] {
            assert_eq!(parse(bad).map(|_| ()).unwrap_err().to_string(), why);
        }
    }

    #[test]
    fn demo_tokens_are_random() {
        let (a, b) = (
            Accounts::demo(&instruments()),
            Accounts::demo(&instruments()),
        );
        assert_ne!(a.token_of(0), b.token_of(0));
        assert_eq!(a.token_of(0).map(str::len), Some(32));
        assert_eq!(a.get(0).map(|a| a.name.as_str()), Some("demo"));
    }
}
