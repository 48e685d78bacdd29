//! `/metrics` as an operator's Prometheus reads it: parsed with a real
//! text-format parser (the `prometheus-parse` crate) and checked line by
//! line against the format's rules; counters are counters (`_total`,
//! never going down between scrapes), no precomputed rates or nanosecond
//! timestamps, histograms cumulative; the process metrics, the build, the
//! tasks, closed connections and the latency histograms are there and
//! move when they should.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Server, login, quiet_order};
use prometheus_parse::{Scrape, Value};
use serde_json::json;
use tickwire::gateway::Config;

async fn scrape(server: &Server) -> (String, Scrape) {
    let (status, body) = server.http_get("/metrics").await;
    assert_eq!(status, 200);
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parsed");
    (body, parsed)
}

/// The format's rules, checked on the text: each family has one `# HELP`
/// and one `# TYPE` before its samples; each sample line is a valid name,
/// optional labels and a float; names are unique per label set.
fn check_text(body: &str) -> BTreeMap<String, String> {
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            assert!(helps.insert(name.to_string()), "two HELP lines for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(
                ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            assert!(
                kinds.insert(name.to_string(), kind.to_string()).is_none(),
                "two TYPE lines for {name}"
            );
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (series, value) = line.rsplit_once(' ').expect("a value");
            assert!(
                value.parse::<f64>().is_ok() || value == "+Inf",
                "{line}: the value is not a float"
            );
            let name = series.split('{').next().unwrap_or("");
            assert!(valid_name(name), "{line}: not a metric name");
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "{line}: labels"
                );
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s).filter(|f| {
                        kinds
                            .get(*f)
                            .is_some_and(|k| k == "histogram" || k == "summary")
                    })
                })
                .unwrap_or(name);
            assert!(kinds.contains_key(family), "{line}: no TYPE before it");
            assert!(helps.contains(family), "{line}: no HELP");
            assert!(seen.insert(series.to_string()), "{series} twice");
        }
    }
    kinds
}

fn value(scrape: &Scrape, name: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .unwrap_or_else(|| panic!("{name} missing"));
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
        Value::Summary(_) => panic!("{name} is a summary"),
    }
}

fn counters(scrape: &Scrape) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter_map(|s| match s.value {
            Value::Counter(v) => Some((format!("{}{:?}", s.metric, s.labels), v)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn metrics_parse_and_follow_prometheus_rules() {
    let data = std::env::temp_dir().join(format!("tickwire-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut config = Config::new(common::instruments_with_quiet(1.0), 7);
    config.data_dir = Some(data.clone());
    let token = config
        .accounts
        .token_of(0)
        .expect("the demo account")
        .to_string();
    let server = Server::start(config).await;
    let (body, first) = scrape(&server).await;
    let kinds = check_text(&body);
    for (name, kind) in &kinds {
        assert_eq!(
            name.ends_with("_total"),
            kind == "counter",
            "{name} is a {kind}: counters and only counters end in _total"
        );
        assert!(
            !name.contains("per_second") && !name.ends_with("_ts") && !name.ends_with("_ns"),
            "{name}: a precomputed rate or a timestamp not in seconds"
        );
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "tickwire_build_info",
        "tickwire_tasks",
        "tickwire_connections_closed_total",
        "tickwire_order_round_trip_seconds",
        "tickwire_publish_to_write_seconds",
        "tickwire_journal_fsyncs_total",
    ] {
        assert!(kinds.contains_key(name), "{name} missing");
    }
    assert!(value(&first, "process_resident_memory_bytes") > 1e6);
    assert!(value(&first, "process_open_fds") >= 3.0);
    assert!(value(&first, "tickwire_tasks") >= 1.0);

    // Activity: subscribers (one in eight connections is sampled for the
    // publish-to-write histogram), an order, a connection closed.
    let mut watchers = Vec::new();
    for _ in 0..8 {
        let mut c = server.client().await;
        c.send(json!({"op":"subscribe","id":1,"channels":["book","trades"],"symbols":["BTC-USD"]}))
            .await;
        c.until_type("book_snapshot").await;
        watchers.push(c);
    }
    for c in &mut watchers {
        c.until_type("book_update").await;
    }
    let mut trader = login(&server, &token).await;
    let accepted = trader
        .request(quiet_order("buy", "1.00", Some("90.00")), 7)
        .await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    let closing = watchers.pop().expect("a watcher");
    drop(closing);
    let mut second = None;
    for _ in 0..100 {
        let (_, scraped) = scrape(&server).await;
        if value(&scraped, "tickwire_connections_closed_total") >= 1.0 {
            second = Some(scraped);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let second = second.expect("the closed connection counted");
    assert!(value(&second, "tickwire_order_round_trip_seconds") >= 1.0);
    assert!(value(&second, "tickwire_publish_to_write_seconds") >= 1.0);
    // Counters never go down; histograms are cumulative and end at +Inf.
    let before = counters(&first);
    for (series, after) in counters(&second) {
        if let Some(was) = before.get(&series) {
            assert!(after >= *was, "{series} went from {was} to {after}");
        }
    }
    for sample in &second.samples {
        if let Value::Histogram(buckets) = &sample.value {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].count <= w[1].count && w[0].less_than < w[1].less_than),
                "{} is not cumulative: {buckets:?}",
                sample.metric
            );
            assert!(buckets.last().is_some_and(|b| b.less_than.is_infinite()));
        }
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data);
}
