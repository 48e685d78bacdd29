//! `tickwire watch` against a real server, as a user runs it: JSON lines
//! when piped, a screen redrawn in place on a terminal, what it verified at
//! the end, clear failures.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running `tickwire serve`, killed when dropped (even if a test fails).
struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "3",
            "--rate-scale",
            "5",
            "--ephemeral",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tickwire");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.trim()
                .strip_prefix("WebSocket")
                .map(|u| u.trim().to_string())
        })
        .expect("the WebSocket URL is printed");
    // Keep reading what it prints: a closed pipe would fail its next line.
    std::thread::spawn(move || lines.for_each(drop));
    Running { child, url }
}

fn watch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .arg("watch")
        .args(args)
        .output()
        .expect("run watch")
}

#[test]
fn piped_it_prints_every_message_as_json_and_what_it_verified() {
    let server = serve();
    let out = watch(&[
        "--url",
        &server.url,
        "BTC-USD",
        "ETH-USD",
        "--duration",
        "2s",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let messages: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON message per line"))
        .collect();
    assert_eq!(messages[0]["type"], "subscribed");
    let kinds = |kind: &str| messages.iter().filter(|m| m["type"] == kind).count();
    assert_eq!(kinds("book_snapshot"), 2, "one snapshot per symbol");
    assert!(kinds("book_update") > 100 && kinds("ticker") > 0 && kinds("trade") > 0);
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    let summary = stderr.lines().last().expect("a summary");
    let words: Vec<&str> = summary.split_whitespace().collect();
    assert_eq!(words[0], "verified", "{summary}");
    assert_eq!(
        words[1].parse::<usize>().ok(),
        Some(kinds("book_update")),
        "every update verified: {summary}"
    );
    assert!(
        summary.contains(" 0 resyncs (0 gaps, 0 mismatches"),
        "{summary}"
    );
}

#[test]
fn on_a_terminal_it_redraws_a_ladder_in_place() {
    let server = serve();
    // `script` gives the viewer a pseudo-terminal, as a user's shell would.
    let command = format!(
        "{} watch --url {} SOL-USD --duration 2s",
        env!("CARGO_BIN_EXE_tickwire"),
        server.url
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("\x1b[?1049h"),
        "the alternate screen is used"
    );
    assert!(screen.contains("\x1b[?1049l"), "and left at the end");
    assert!(
        screen.matches("\x1b[H").count() >= 5,
        "redrawn in place several times"
    );
    assert!(screen.contains("SOL-USD") && screen.contains("spread"));
    assert!(screen.contains("verified "), "the summary after the screen");
    assert!(!screen.contains("\"type\""), "no JSON on a terminal");
}

#[test]
fn it_fails_clearly_when_the_server_is_unreachable_or_refuses() {
    let out = watch(&["--url", "ws://127.0.0.1:9/ws", "BTC-USD"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot connect to ws://127.0.0.1:9/ws"),
        "{stderr}"
    );
    let server = serve();
    let out = watch(&["--url", &server.url, "DOGE-USD", "--duration", "5s"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: unknown_symbol: unknown symbol \"DOGE-USD\""),
        "{stderr}"
    );
    let out = watch(&[
        "--url",
        &server.url,
        "BTC-USD",
        "--channels",
        "book,news",
        "--duration",
        "5s",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_channel"));
}
