//! `tickwire order ...` and `tickwire cancel ...`: trading from the shell.

use clap::Args;
use tickwire::client;
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
    /// The order id (as in order_accepted).
    order_id: Option<String>,
    #[arg(long)]
    client_order_id: Option<String>,
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
        order_id: cmd.order_id,
        client_order_id: cmd.client_order_id,
    };
    let (url, token) = (cmd.connection.url, cmd.connection.token);
    client_runtime()?
        .block_on(client::cancel(&url, &token, &args, |line| {
            println!("{line}")
        }))
        .map_err(CliError::Client)
}
