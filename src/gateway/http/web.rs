//! The web trading UI's files: built by Vite into `clients/web/dist/` and
//! embedded in the binary, so `cargo run --release` serves the whole UI with
//! no Node.js on the machine. `--web-dir DIR` serves a directory instead
//! (to try a build without rebuilding the binary).
//!
//! Vite names every asset after a hash of its content, so `assets/*` never
//! changes under its name and is cached for a year; `index.html`, which
//! names the current assets, is revalidated on every load.

use std::borrow::Cow;
use std::path::{Component, Path};

use bytes::Bytes;

use crate::instrument::Instruments;

#[derive(rust_embed::RustEmbed)]
#[folder = "clients/web/dist/"]
#[allow_missing = true]
struct Embedded;

/// A file to send: its bytes, content type and cache policy.
#[derive(Debug)]
pub struct WebFile {
    pub body: Bytes,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The content type of a file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A request path as a relative file path, or `None` if it could leave the
/// web root (`..`, absolute parts) or is not a plain file name.
fn relative(path: &str) -> Option<&str> {
    let trimmed = path.trim_start_matches('/');
    let file = if trimmed.is_empty() {
        "index.html"
    } else {
        trimmed
    };
    let plain = file
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'));
    let safe = Path::new(file)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    (plain && safe).then_some(file)
}

/// The UI's file at `path` (`/` is `index.html`), from `dir` when given,
/// else from the binary.
pub async fn file(dir: Option<&Path>, path: &str) -> Option<WebFile> {
    let file = relative(path)?;
    let body: Bytes = match dir {
        Some(dir) => tokio::fs::read(dir.join(file)).await.ok()?.into(),
        None => match Embedded::get(file)?.data {
            Cow::Borrowed(bytes) => Bytes::from_static(bytes),
            Cow::Owned(bytes) => bytes.into(),
        },
    };
    let cache_control = if file.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    Some(WebFile {
        body,
        content_type: content_type(file),
        cache_control,
    })
}

/// Whether the binary carries a built UI.
pub fn embedded() -> bool {
    Embedded::get("index.html").is_some()
}

/// Served at `/` when there is no built UI: how to connect, and the
/// instruments.
pub fn placeholder(instruments: &Instruments) -> String {
    let mut rows = String::new();
    for i in instruments.iter() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.symbol,
            i.tick_size,
            i.lot_size,
            i.format_qty(i.max_qty)
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tickwire</title></head><body>\
         <h1>tickwire</h1><p>This binary was built without the web UI (<code>clients/web/dist</code> was missing; \
         <code>npm run build --prefix clients/web</code> makes it). Connect a WebSocket to <code>/ws</code> on this host and port, \
         for example:</p><pre>websocat ws://HOST/ws\n{{\"op\":\"subscribe\",\"id\":1,\"channels\":[\"book\",\"trades\"],\"symbols\":[\"BTC-USD\"]}}</pre>\
         <h2>Instruments</h2><table><tr><th>symbol</th><th>tick</th><th>lot</th><th>max qty</th></tr>{rows}</table>\
         <p>Also: <a href=\"/api/instruments\">/api/instruments</a>, <a href=\"/healthz\">/healthz</a>, \
         <a href=\"/metrics\">/metrics</a>.</p></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_root_are_refused() {
        assert_eq!(relative("/"), Some("index.html"));
        assert_eq!(
            relative("/assets/index-abc.js"),
            Some("assets/index-abc.js")
        );
        assert_eq!(relative("/../Cargo.toml"), None);
        assert_eq!(relative("/assets/../../etc/passwd"), None);
        assert_eq!(relative("//etc/passwd"), Some("etc/passwd"));
        assert_eq!(relative("/a%2e%2e/x"), None);
        assert_eq!(relative("/a b"), None);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/a.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
    }

    #[test]
    fn the_built_ui_is_in_the_binary() {
        assert!(embedded(), "clients/web/dist/index.html was not embedded");
    }
}
