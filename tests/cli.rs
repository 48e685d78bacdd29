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
        .args(["--listen", "127.0.0.1:0", "--seed", "1"])
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
