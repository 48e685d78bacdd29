//! Trading from the shell: `tickwire order`, `cancel`, `amend`,
//! `cancel-all`, `status`, `open-orders` and `account`, each with `--json`
//! for scripts.

use clap::Args;
use tickwire::client::{self, account, account::AccountRequest};
use tickwire::gateway::defaults;

use super::{CliError, client_runtime};

#[derive(Args, Debug)]
pub struct Connection {
    /// The server's WebSocket URL.
    #[arg(long, default_value = defaults::WS_URL)]
    url: String,
    /// The account's token (or the TICKWIRE_TOKEN variable).
    #[arg(long, env = "TICKWIRE_TOKEN", hide_env_values = true)]
    token: String,
    /// Print what the server answers as its JSON, a message per line.
    #[arg(long)]
    json: bool,
}

/// Which order a command names.
#[derive(Args, Debug)]
pub struct OrderName {
    /// The order id (as in order_accepted).
    order_id: Option<String>,
    #[arg(long)]
    client_order_id: Option<String>,
}

/// `tickwire order buy BTC-USD 0.5 --limit 64000.50`
#[derive(Args, Debug)]
pub struct OrderCmd {
    #[command(flatten)]
    connection: Connection,
    /// buy or sell
    side: String,
    symbol: String,
    qty: String,
    /// Limit price; without it, a market order.
    #[arg(long)]
    limit: Option<String>,
    /// gtc, ioc or fok.
    #[arg(long)]
    tif: Option<String>,
    #[arg(long)]
    post_only: bool,
    #[arg(long)]
    client_order_id: Option<String>,
    /// Stop at the acknowledgement instead of following the order until it
    /// is done (the order stays open).
    #[arg(long)]
    no_follow: bool,
}

/// `tickwire cancel BTC-USD BTC-USD:42`
#[derive(Args, Debug)]
pub struct CancelCmd {
    #[command(flatten)]
    connection: Connection,
    symbol: String,
    #[command(flatten)]
    order: OrderName,
}

pub fn order(cmd: OrderCmd) -> Result<(), CliError> {
    let args = client::OrderArgs {
        side: cmd.side,
        symbol: cmd.symbol,
        qty: cmd.qty,
        limit: cmd.limit,
        tif: cmd.tif,
        post_only: cmd.post_only,
        client_order_id: cmd.client_order_id,
        follow: !cmd.no_follow,
        json: cmd.connection.json,
    };
    let (url, token) = (cmd.connection.url, cmd.connection.token);
    client_runtime()?
        .block_on(client::order(&url, &token, &args, |line| {
            println!("{line}")
        }))
        .map_err(CliError::Client)
}

pub fn cancel(cmd: CancelCmd) -> Result<(), CliError> {
    let args = client::CancelArgs {
        symbol: cmd.symbol,
        order_id: cmd.order.order_id,
        client_order_id: cmd.order.client_order_id,
        json: cmd.connection.json,
    };
    let (url, token) = (cmd.connection.url, cmd.connection.token);
    client_runtime()?
        .block_on(client::cancel(&url, &token, &args, |line| {
            println!("{line}")
        }))
        .map_err(CliError::Client)
}

/// `tickwire open-orders [SYMBOL]`
#[derive(Args, Debug)]
pub struct OpenOrdersCmd {
    #[command(flatten)]
    connection: Connection,
    /// Only this symbol's orders.
    symbol: Option<String>,
}

/// `tickwire account`
#[derive(Args, Debug)]
pub struct AccountCmd {
    #[command(flatten)]
    connection: Connection,
}

/// `tickwire cancel-all [SYMBOL]`
#[derive(Args, Debug)]
pub struct CancelAllCmd {
    #[command(flatten)]
    connection: Connection,
    /// Only this symbol's orders (else every symbol's).
    symbol: Option<String>,
}

/// `tickwire status BTC-USD BTC-USD:42` (open, or done within 24 hours)
#[derive(Args, Debug)]
pub struct StatusCmd {
    #[command(flatten)]
    connection: Connection,
    symbol: String,
    #[command(flatten)]
    order: OrderName,
}

/// `tickwire amend BTC-USD BTC-USD:42 --qty 0.4 --price 64000.00`
#[derive(Args, Debug)]
pub struct AmendCmd {
    #[command(flatten)]
    connection: Connection,
    symbol: String,
    #[command(flatten)]
    order: OrderName,
    /// The new total quantity (lower keeps the order's queue priority).
    #[arg(long)]
    qty: Option<String>,
    /// The new limit price (loses queue priority).
    #[arg(long)]
    price: Option<String>,
}

/// Runs one account request and prints its answer.
fn run_account(connection: Connection, request: AccountRequest) -> Result<(), CliError> {
    let request = request.to_json().map_err(CliError::Client)?;
    let answer = client_runtime()?
        .block_on(account::ask(&connection.url, &connection.token, request))
        .map_err(CliError::Client)?;
    if connection.json {
        println!("{answer}");
    } else {
        for line in account::describe_answer(&answer) {
            println!("{line}");
        }
    }
    Ok(())
}

pub fn open_orders(cmd: OpenOrdersCmd) -> Result<(), CliError> {
    let request = AccountRequest::OpenOrders { symbol: cmd.symbol };
    run_account(cmd.connection, request)
}

pub fn account(cmd: AccountCmd) -> Result<(), CliError> {
    run_account(cmd.connection, AccountRequest::Account)
}

pub fn cancel_all(cmd: CancelAllCmd) -> Result<(), CliError> {
    let request = AccountRequest::CancelAll { symbol: cmd.symbol };
    run_account(cmd.connection, request)
}

pub fn status(cmd: StatusCmd) -> Result<(), CliError> {
    let request = AccountRequest::Status {
        symbol: cmd.symbol,
        order_id: cmd.order.order_id,
        client_order_id: cmd.order.client_order_id,
    };
    run_account(cmd.connection, request)
}

pub fn amend(cmd: AmendCmd) -> Result<(), CliError> {
    let request = AccountRequest::Amend {
        symbol: cmd.symbol,
        order_id: cmd.order.order_id,
        client_order_id: cmd.order.client_order_id,
        qty: cmd.qty,
        price: cmd.price,
    };
    run_account(cmd.connection, request)
}
