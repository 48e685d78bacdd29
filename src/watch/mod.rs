//! `tickwire watch [--url URL] SYMBOL... [--channels book,trades,ticker]`:
//! a terminal viewer of the feed that checks it as it goes.
//!
//! On a terminal it redraws a ladder, the ticker and the last trades in
//! place (at most ten times a second); piped, it prints every message as
//! one JSON line for scripts, and its notes on stderr. With a capture file
//! it also writes every message received there, one a line, after asking
//! for the instruments (so that `tickwire import --format tickwire` knows
//! their sizes). Either way every book
//! `seq` and checksum is checked, a gap or mismatch resubscribes that
//! symbol's book (and says so), and the end prints what was verified.
//!
//! Layout: `book` (a client's verified book), `state` (what the viewer
//! knows, and the screen drawn from it; pure), this file (the socket).

pub mod book;
pub mod state;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, interval, sleep_until};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

pub use state::{Action, Counters, Watch};

#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub url: String,
    pub symbols: Vec<String>,
    pub channels: Vec<String>,
    /// Stop after this long (else at Ctrl-C).
    pub duration: Option<Duration>,
    /// Redraw a screen (stdout is a terminal) rather than print JSON lines.
    pub screen: bool,
    /// Write every message received to this file, one a line.
    pub capture: Option<PathBuf>,
}

/// Puts the terminal back as it was, however the viewer stops.
struct Screen {
    on: bool,
}

impl Screen {
    fn start(on: bool) -> Screen {
        if on {
            // The alternate screen, cursor hidden.
            print!("\x1b[?1049h\x1b[?25l");
            let _ = std::io::stdout().flush();
        }
        Screen { on }
    }

    fn draw(&self, text: &str) {
        let mut out = String::with_capacity(text.len() + 256);
        out.push_str("\x1b[H");
        for line in text.lines() {
            out.push_str(line);
            out.push_str("\x1b[K\n");
        }
        out.push_str("\x1b[J");
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.on {
            print!("\x1b[?25h\x1b[?1049l");
            let _ = std::io::stdout().flush();
        }
    }
}

/// Runs the viewer until Ctrl-C, `duration`, or the server going away;
/// returns what was verified. Errors say what went wrong in words.
pub async fn run(options: WatchOptions) -> Result<Counters, String> {
    if options.symbols.is_empty() {
        return Err("name at least one symbol to watch".to_string());
    }
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(10), connect_async(&options.url))
        .await
        .map_err(|_| format!("cannot connect to {}: no answer within 10 s", options.url))?
        .map_err(|e| format!("cannot connect to {}: {e}", options.url))?;
    let mut capture = match &options.capture {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|e| {
            format!("cannot create the capture file {}: {e}", path.display())
        })?)),
        None => None,
    };
    let mut requests = vec![
        json!({"op": "subscribe", "id": "watch", "channels": options.channels, "symbols": options.symbols}),
    ];
    if capture.is_some() {
        requests.insert(0, json!({"op": "instruments", "id": "watch-instruments"}));
    }
    for request in requests {
        ws.send(Message::Text(request.to_string().into()))
            .await
            .map_err(|e| format!("cannot send to {}: {e}", options.url))?;
    }

    let mut watch = Watch::new(&options.symbols);
    let screen = Screen::start(options.screen);
    let depth = (12 / options.symbols.len()).clamp(3, 10);
    let mut notes: Vec<String> = Vec::new();
    let mut redraw = interval(Duration::from_millis(100));
    let mut dirty = true;
    let deadline = options.duration.map(|d| Instant::now() + d);
    let stopped = async {
        match deadline {
            Some(at) => sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopped);
    // Ctrl-C or SIGTERM: stop cleanly, with the terminal put back.
    let interrupted = crate::signal::interrupted();
    tokio::pin!(interrupted);
    let mut subscribed = false;

    let outcome: Result<(), String> = loop {
        let frame = tokio::select! {
            frame = ws.next() => frame,
            _ = redraw.tick(), if options.screen => {
                if dirty {
                    let mut text = watch.render(&options.url, depth);
                    for note in notes.iter().rev().take(3).rev() {
                        text.push_str(note);
                        text.push('\n');
                    }
                    screen.draw(&text);
                    dirty = false;
                }
                continue;
            }
            _ = &mut stopped => break Ok(()),
            _ = &mut interrupted => break Ok(()),
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| format!(" ({} {})", u16::from(f.code), f.reason))
                    .unwrap_or_default();
                break Err(format!("the server closed the connection{why}"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Err(format!("connection error: {e}")),
            None => break Err("the server closed the connection".to_string()),
        };
        let message: Value = match serde_json::from_str(&text) {
            Ok(message) => message,
            Err(e) => break Err(format!("the server sent something that is not JSON: {e}")),
        };
        if let Some(file) = &mut capture
            && let Err(e) = writeln!(file, "{text}")
        {
            break Err(format!("cannot write the capture file: {e}"));
        }
        if !options.screen {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{text}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // The reader went away (`| head`): stop, as Unix tools do.
                break Ok(());
            }
        }
        if message["id"] == "watch" {
            if message["type"] == "error" {
                break Err(format!(
                    "{}: {}",
                    message["code"].as_str().unwrap_or("error"),
                    message["message"].as_str().unwrap_or("")
                ));
            }
            subscribed = true;
        }
        dirty = true;
        for action in watch.handle(&message) {
            match action {
                Action::Resync { symbol, why } => {
                    let request =
                        json!({"op": "subscribe", "channels": ["book"], "symbols": [symbol]});
                    match ws.send(Message::Text(request.to_string().into())).await {
                        Ok(()) => notes.push(format!("resync {symbol}: {why}")),
                        Err(e) => notes.push(format!("cannot resync {symbol}: {e}")),
                    }
                }
                Action::Note(note) => notes.push(note),
                Action::Stop(why) => notes.push(why),
            }
        }
        if !options.screen {
            let mut stderr = std::io::stderr().lock();
            for note in notes.drain(..) {
                let _ = writeln!(stderr, "{note}");
            }
        }
    };
    drop(screen);
    let _ = ws.close(None).await;
    if let Some(mut file) = capture {
        file.flush()
            .map_err(|e| format!("cannot write the capture file: {e}"))?;
    }
    if !subscribed && outcome.is_ok() {
        return Err("the server did not answer the subscription".to_string());
    }
    outcome?;
    Ok(watch.counters.clone())
}
