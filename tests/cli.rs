//! The `tickwire` binary as a user runs it.

use std::process::Command;

fn tickwire(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .output()
        .expect("run tickwire");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The summary without the machine-dependent speed figure.
fn without_speed(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("/s on this machine") {
            Some(end) => {
                let start = line[..end].rfind(", ").unwrap_or(0);
                format!("{}{}", &line[..start], &line[end..])
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_seeded_run_prints_every_symbol_and_repeats_exactly() {
    let (ok, first, _) = tickwire(&["summary", "--seed", "5", "--seconds", "30"]);
    assert!(ok);
    for symbol in ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL"] {
        assert!(first.contains(symbol), "{symbol} missing from:\n{first}");
    }
    assert!(first.contains("seed 5"));
    let (_, second, _) = tickwire(&["summary", "--seed", "5", "--seconds", "30"]);
    assert_eq!(without_speed(&first), without_speed(&second));
    let (_, other, _) = tickwire(&["summary", "--seed", "6", "--seconds", "30"]);
    assert_ne!(without_speed(&first), without_speed(&other));
}

#[test]
fn a_bad_instruments_file_is_named_with_its_line_and_field() {
    let dir = std::env::temp_dir().join(format!("tickwire-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    let text = std::fs::read_to_string("feeds/default.toml").expect("default.toml");
    std::fs::write(
        &path,
        text.replacen("lot_size = \"0.0001\"", "lot_size = \"-1\"", 1),
    )
    .expect("write");
    let (ok, _, stderr) = tickwire(&[
        "summary",
        "--instruments",
        path.to_str().expect("utf-8 path"),
        "--seconds",
        "1",
    ]);
    assert!(!ok);
    let line = text
        .lines()
        .position(|l| l.starts_with("lot_size = \"0.0001\""))
        .expect("line")
        + 1;
    assert!(
        stderr.contains(&format!("bad.toml:{line}: lot_size: -1 must be positive")),
        "unexpected error: {stderr}"
    );
    // The server refuses it the same way, before listening.
    let (ok, _, stderr) = tickwire(&[
        "serve",
        "--instruments",
        path.to_str().expect("utf-8 path"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("bad.toml:{line}: lot_size")),
        "{stderr}"
    );
    let (ok, _, stderr) = tickwire(&[
        "--instruments",
        "/nonexistent/x.toml",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/x.toml: cannot read"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The real binary on a free port: a client is told `shutdown` and closed
/// with 1001 when the process gets SIGTERM, and the process exits cleanly.
#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(["--listen", "127.0.0.1:0", "--seed", "1", "--ephemeral"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tickwire");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix("WebSocket")
                .map(|rest| rest.trim().to_string())
        })
        .expect("the WebSocket URL is printed");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pid = child.id().to_string();
    let outcome = runtime.block_on(async move {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect");
        let subscribe = r#"{"op":"subscribe","id":1,"channels":["trades"],"symbols":["BTC-USD"]}"#;
        ws.send(Message::Text(subscribe.into()))
            .await
            .expect("send");
        let mut shutdown_seen = false;
        let mut signalled = false;
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
                .await
                .expect("in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    if text.contains("\"type\":\"subscribed\"") && !signalled {
                        let killed = Command::new("kill")
                            .args(["-TERM", &pid])
                            .status()
                            .expect("kill");
                        assert!(killed.success());
                        signalled = true;
                    }
                    shutdown_seen |= text.starts_with("{\"type\":\"shutdown\",\"ts\":");
                }
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (shutdown_seen, u16::from(frame.code));
                }
                Some(Ok(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    assert_eq!(outcome, (true, 1001));
    let status = child.wait().expect("exit");
    assert!(status.success(), "exit status {status}");
}

/// Starts the real binary with the given extra arguments and environment;
/// returns the child and its WebSocket URL.
fn start_server(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut command = Command::new(env!("CARGO_BIN_EXE_tickwire"));
    command
        .args(["--listen", "127.0.0.1:0", "--seed", "2", "--ephemeral"])
        .args(args);
    command.env_remove("TICKWIRE_ACCOUNTS");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tickwire");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    let mut url = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = line.trim().strip_prefix("WebSocket") {
            url = Some(rest.trim().to_string());
        }
        let done = line.trim().starts_with("accounts") || line.contains("#token=");
        printed.push(line);
        if done {
            break;
        }
    }
    (child, url.expect("the WebSocket URL is printed"), printed)
}

#[test]
fn the_demo_account_token_is_printed_once_with_a_ui_link() {
    let (mut child, _, printed) = start_server(&[], &[]);
    let token_line = printed
        .iter()
        .find(|l| l.contains("account      demo, token "))
        .expect("token line");
    let token = token_line.rsplit(' ').next().expect("token");
    assert_eq!(token.len(), 32);
    assert!(
        printed
            .iter()
            .any(|l| l.ends_with(&format!("/#token={token}")))
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn order_and_cancel_commands_trade_with_a_running_server() {
    let (mut child, url, printed) =
        start_server(&[], &[("TICKWIRE_ACCOUNTS", "carol=carol-token-9")]);
    assert!(
        printed.iter().any(|l| l.trim() == "accounts     carol"),
        "{printed:?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains("carol-token-9")),
        "tokens are never printed"
    );
    let client = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_tickwire"))
            .args(args)
            .args(["--url", &url, "--token", "carol-token-9"])
            .output()
            .expect("run client");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // A resting order far below the market: acknowledged, left open.
    let (ok, out, err) = client(&[
        "order",
        "buy",
        "BTC-USD",
        "0.5",
        "--limit",
        "60000.00",
        "--no-follow",
        "--client-order-id",
        "cli-1",
    ]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("accepted BTC-USD:")
            && out.contains("buy 0.5000 BTC-USD limit @ 60000.00 gtc (client order id cli-1)"),
        "{out}"
    );
    let order_id = out.split_whitespace().nth(1).expect("order id").to_string();
    // The account commands, in words and as JSON.
    let (ok, out, err) = client(&["status", "BTC-USD", "--client-order-id", "cli-1"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(&format!(
            "open: {order_id} buy 0.5000 BTC-USD limit @ 60000.00 gtc"
        )),
        "{out}"
    );
    let (ok, out, err) = client(&[
        "amend", "BTC-USD", &order_id, "--qty", "0.4", "--price", "60001.00",
    ]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.trim(),
        format!("amended {order_id}: price 60001.00, qty 0.4000, leaves 0.4000")
    );
    let (ok, out, err) = client(&["open-orders", "--json"]);
    assert!(ok, "{out}{err}");
    let listed: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(
        listed["orders"][0]["order_id"],
        order_id.as_str(),
        "{listed}"
    );
    assert_eq!(listed["orders"][0]["qty"], "0.4000", "{listed}");
    let (ok, out, err) = client(&["account"]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("account carol, cash "), "{out}");
    let (ok, _, err) = client(&["amend", "BTC-USD", &order_id]);
    assert!(!ok && err.contains("--qty"), "{err}");
    let (ok, _, err) = client(&["status", "BTC-USD", "BTC-USD:999999"]);
    assert!(!ok && err.contains("unknown_order"), "{err}");
    let (ok, out, err) = client(&["cancel-all", "ETH-USD"]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), "canceled 0 orders");
    let (ok, out, err) = client(&["cancel", "BTC-USD", &order_id]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.trim(),
        format!("done {order_id} canceled, filled 0.0000")
    );
    let (ok, out, err) = client(&["status", "BTC-USD", &order_id, "--json"]);
    assert!(ok, "{out}{err}");
    let status: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(status["order"]["status"], "canceled", "{status}");
    // A market order: fills as they come, then done.
    let (ok, out, err) = client(&["order", "buy", "BTC-USD", "0.01"]);
    assert!(ok, "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("fill BTC-USD:")), "{out}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.contains(" filled, filled 0.0100")),
        "{out}"
    );
    // Errors say what was wrong and fail the command.
    let (ok, _, err) = client(&["order", "buy", "BTC-USD", "0.00001", "--limit", "60000.00"]);
    assert!(!ok);
    assert!(
        err.contains("invalid_qty: qty 0.00001 is not a multiple of the lot size 0.0001"),
        "{err}"
    );
    let (ok, _, err) = client(&["cancel", "BTC-USD", "BTC-USD:999999"]);
    assert!(!ok && err.contains("unknown_order"), "{err}");
    let output = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "order",
            "buy",
            "BTC-USD",
            "1",
            "--url",
            &url,
            "--token",
            "wrong-token",
        ])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unauthorized"));
    let _ = child.kill();
    let _ = child.wait();
}

/// The runtime's worker threads, by name, in a running process (Linux).
fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc")
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "tokio-rt-worker")
        })
        .count()
}

#[test]
fn workers_sets_the_server_threads_and_zero_is_refused() {
    let (ok, _, err) = tickwire(&["serve", "--workers", "0", "--ephemeral"]);
    assert!(!ok);
    assert!(err.contains("--workers"), "{err}");
    assert!(err.contains("1..=1024"), "{err}");
    for workers in [1, 3] {
        let count = workers.to_string();
        let (mut child, url, _) = start_server(
            &["--workers", &count],
            &[("TICKWIRE_ACCOUNTS", "dave=dave-token-7")],
        );
        // It serves: an account request over the socket is answered.
        let output = Command::new(env!("CARGO_BIN_EXE_tickwire"))
            .args(["account", "--url", &url, "--token", "dave-token-7"])
            .output()
            .expect("run client");
        let threads = worker_threads(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(threads, workers);
    }
}
