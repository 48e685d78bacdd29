//! Scenarios 5 and 6 (tickwire alone): what the book's views save a UI
//! (1,000 clients of one symbol's book: the whole stream against 25 levels
//! at most every 100 ms), and the seed's claim that WebSockets beat HTTP
//! polling, measured: 100 and 1,000 clients following one symbol's book
//! (25 levels) and trades over the WebSocket (whole book, and 25 levels)
//! or by polling `/api/book?depth=25` and `/api/trades?since=` every 1 s,
//! 100 ms and 10 ms.

use std::fmt::Write;

use plotters::prelude::*;

use crate::procs::{Kind, Paths, Placement};
use crate::{Job, Plan, Run, watch_args};

/// How one client follows the market in a run.
pub struct Mode {
    pub name: &'static str,
    pub args: &'static [&'static str],
}

pub const VIEWS: [Mode; 2] = [
    Mode {
        name: "whole book, every change",
        args: &[],
    },
    Mode {
        name: "25 levels, at most every 100 ms",
        args: &["--book-depth", "25", "--book-interval", "100ms"],
    },
];

pub const POLLING: [Mode; 5] = [
    Mode {
        name: "WebSocket, whole book",
        args: &[],
    },
    Mode {
        name: "WebSocket, 25 levels",
        args: &["--book-depth", "25"],
    },
    Mode {
        name: "polling every 1 s",
        args: &["--poll", "1s", "--book-depth", "25"],
    },
    Mode {
        name: "polling every 100 ms",
        args: &["--poll", "100ms", "--book-depth", "25"],
    },
    Mode {
        name: "polling every 10 ms",
        args: &["--poll", "10ms", "--book-depth", "25"],
    },
];

pub fn run_all(
    paths: &Paths,
    plan: &Plan,
    measure: fn(&Paths, &Plan, Job) -> Result<Run, String>,
) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    let job = |scenario, connections: usize, channels: &str, mode: &Mode| {
        let mut load = watch_args(connections, "BTC-USD", channels);
        load.extend(mode.args.iter().map(|a| a.to_string()));
        Job {
            scenario,
            kind: Kind::Tickwire,
            scale: 1.0,
            load,
            server_extra: vec![],
            ramp_s: plan.ramp_s,
            // Long enough for a 1 s poller to poll a few times.
            window_s: plan.window_s.max(3),
            placement: Placement::OneCore,
        }
    };
    for mode in &VIEWS {
        let mut run = measure(paths, plan, job("views", plan.watchers, "book", mode))?;
        run.mode = mode.name;
        runs.push(run);
    }
    for &clients in &plan.polling_clients {
        for mode in &POLLING {
            let mut run = measure(paths, plan, job("polling", clients, "book,trades", mode))?;
            run.mode = mode.name;
            runs.push(run);
        }
    }
    Ok(runs)
}

/// The two tables of scenarios 5 and 6.
pub fn tables(t: &mut String, runs: &[Run], name: &str) {
    let per = |r: &Run, v: f64| v / r.load.f(&["connected"]).max(1.0);
    let _ = writeln!(
        t,
        "\n## 5. What the book's views save a UI\n\nClients of BTC-USD's book only, at the default rates.\n"
    );
    let _ = writeln!(
        t,
        "| clients | book stream | msgs/s per client | bytes/s per client | server CPU (cores) | latency p50 / p99 ms |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|");
    for r in runs.iter().filter(|r| r.scenario == "views") {
        let l = &r.load;
        let _ = writeln!(
            t,
            "| {} | {} | {:.1} | {:.0} | {:.2} | {:.2} / {:.2} |",
            l.f(&["connected"]),
            r.mode,
            per(r, l.delivered()),
            per(r, l.f(&["bytes_per_sec"])),
            l.f(&["server", "cpu_cores"]),
            l.latency_ms("p50"),
            l.latency_ms("p99"),
        );
    }
    let _ = writeln!(
        t,
        "\n## 6. WebSockets against HTTP polling\n\nEach client follows BTC-USD's book (25 levels when polled: `/api/book?depth=25`) and trades (`/api/trades?since=`), over one keep-alive HTTP/1.1 connection when polling. An update is a book state whose `seq` moved or a new trade; latency is from its `ts` to its read. Bytes are on the wire: WebSocket payloads and frame headers, or HTTP requests and answers with headers.\n"
    );
    let _ = writeln!(
        t,
        "| clients | how | updates/s per client | bytes on the wire per update | latency p50 / p99 ms | updates missed per client per s | server CPU per 1,000 clients (cores) | generator CPU |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
    for r in runs.iter().filter(|r| r.scenario == "polling") {
        let l = &r.load;
        let clients = l.f(&["connected"]).max(1.0);
        let bound = if l.loadgen_bound() {
            " (generator-bound)"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "| {} | {}{bound} | {:.1} | {:.0} | {:.2} / {:.2} | {:.1} | {:.2} | {:.2} |",
            clients,
            r.mode,
            per(r, l.delivered()),
            l.f(&["wire_bytes_per_update"]),
            l.latency_ms("p50"),
            l.latency_ms("p99"),
            per(r, l.f(&["missed_updates"]) / l.f(&["seconds"]).max(1e-9)),
            l.f(&["server", "cpu_cores"]) / clients * 1000.0,
            l.f(&["loadgen_cpu_cores"]),
        );
    }
    let _ = writeln!(
        t,
        "\n![bytes per update against latency]({name}-polling.png)\n"
    );
}

/// Bytes on the wire per update against latency p50, one point per run of
/// scenario 6.
pub fn plot(file: &std::path::Path, runs: &[Run]) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(String, f64, f64, f64)> = runs
        .iter()
        .filter(|r| r.scenario == "polling")
        .map(|r| {
            (
                r.mode.to_string(),
                r.load.f(&["connected"]),
                r.load.latency_ms("p50").max(0.01),
                r.load.f(&["wire_bytes_per_update"]).max(1.0),
            )
        })
        .filter(|p| p.2.is_finite() && p.3.is_finite())
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    let x_max = points.iter().map(|p| p.2).fold(1.0, f64::max) * 3.0;
    let x_min = points.iter().map(|p| p.2).fold(f64::MAX, f64::min) / 3.0;
    let y_max = points.iter().map(|p| p.3).fold(100.0, f64::max) * 3.0;
    let y_min = points.iter().map(|p| p.3).fold(f64::MAX, f64::min) / 3.0;
    let root = BitMapBackend::new(file, (1100, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "WebSocket against HTTP polling: bytes per update and latency (BTC-USD book + trades)",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("latency p50, event ts to read (ms)")
        .y_desc("bytes on the wire per update received")
        .label_style(("sans-serif", 15))
        .draw()?;
    let colors = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
    let mut clients: Vec<f64> = points.iter().map(|p| p.1).collect();
    clients.dedup();
    for (n, color) in clients.iter().zip(colors) {
        let mine: Vec<_> = points.iter().filter(|p| p.1 == *n).collect();
        chart
            .draw_series(
                mine.iter()
                    .map(|p| Circle::new((p.2, p.3), 6, color.filled())),
            )?
            .label(format!("{n} clients"))
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, color.filled()));
        chart.draw_series(mine.iter().map(|p| {
            Text::new(
                p.0.clone(),
                (p.2 * 1.08, p.3 * 1.05),
                ("sans-serif", 14).into_font().color(&color),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
