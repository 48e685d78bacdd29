//! The web UI as the binary serves it, over real sockets: embedded files
//! with their content types and cache policies, HEAD, CORS on `/api/*`,
//! `--web-dir` as an override, and paths that try to leave the web root.

mod common;

use std::path::Path;

use common::{Server, config, http_request};

/// The script and style sheet `index.html` names (`/assets/...`).
fn assets_of(index: &str) -> Vec<String> {
    index
        .split('"')
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_ui_is_served_from_the_binary_with_cache_headers() {
    let server = Server::start(config(1.0)).await;
    let index = http_request(server.addr, "GET", "/", &[]).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let page = String::from_utf8(index.body.clone()).expect("UTF-8");
    // What the binary serves is the committed build, byte for byte.
    let on_disk = std::fs::read_to_string("clients/web/dist/index.html").expect("dist");
    assert_eq!(page, on_disk);
    let assets = assets_of(&page);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "index.html names its script and styles: {assets:?}"
    );
    for asset in &assets {
        let file = http_request(server.addr, "GET", asset, &[]).await;
        assert_eq!(file.status, 200, "{asset}");
        assert_eq!(
            file.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{asset}"
        );
        let expected = if asset.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(file.header("content-type"), Some(expected), "{asset}");
        let disk = std::fs::read(Path::new("clients/web/dist").join(&asset[1..])).expect("asset");
        assert_eq!(file.body, disk, "{asset} as built");
    }
    let head = http_request(server.addr, "HEAD", &assets[0], &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert!(head.header("content-length").is_some_and(|l| l != "0"));
    let index_head = http_request(server.addr, "HEAD", "/", &[]).await;
    assert_eq!((index_head.status, index_head.body.len()), (200, 0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_cors_preflights_and_head() {
    let server = Server::start(config(1.0)).await;
    let origin = [("Origin", "http://127.0.0.1:5173")];
    let get = http_request(server.addr, "GET", "/api/instruments", &origin).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let preflight = http_request(
        server.addr,
        "OPTIONS",
        "/api/instruments",
        &[
            ("Origin", "http://127.0.0.1:5173"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert!(preflight.header("access-control-allow-headers").is_some());
    assert!(preflight.header("access-control-max-age").is_some());
    let head = http_request(server.addr, "HEAD", "/api/instruments", &origin).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("access-control-allow-origin"), Some("*"));
    let post = http_request(server.addr, "POST", "/api/instruments", &origin).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
    let post_page = http_request(server.addr, "POST", "/", &[]).await;
    assert_eq!(
        (post_page.status, post_page.header("allow")),
        (405, Some("GET, HEAD"))
    );
    // Not under /api: no CORS.
    let health = http_request(server.addr, "GET", "/healthz", &origin).await;
    assert_eq!(health.header("access-control-allow-origin"), None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_dir_overrides_the_embedded_ui_and_paths_stay_inside_it() {
    let dir = std::env::temp_dir().join(format!("tickwire-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).expect("temp dir");
    std::fs::write(dir.join("index.html"), "<p>dev build</p>").expect("index");
    std::fs::write(dir.join("assets/app-1.js"), "console.log(1)").expect("asset");
    let mut cfg = config(1.0);
    cfg.web_dir = Some(dir.clone());
    let server = Server::start(cfg).await;
    let index = http_request(server.addr, "GET", "/", &[]).await;
    assert_eq!(index.body, b"<p>dev build</p>");
    let asset = http_request(server.addr, "GET", "/assets/app-1.js", &[]).await;
    assert_eq!(
        (asset.status, asset.header("content-type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    for path in [
        "/../Cargo.toml",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/index.html",
        "/assets/missing.js",
    ] {
        let refused = http_request(server.addr, "GET", path, &[]).await;
        assert_eq!(refused.status, 404, "{path}");
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
