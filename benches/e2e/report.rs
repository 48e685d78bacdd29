//! The end-to-end results as a Markdown table, a PNG plot (latency
//! percentiles against delivered rate) and the raw JSON.

use std::fmt::Write;

use plotters::prelude::*;

use crate::procs::{self, Kind, Paths, Placement};
use crate::{Plan, Run};

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn of<'a>(runs: &'a [Run], scenario: &str, kind: Kind) -> Vec<&'a Run> {
    runs.iter()
        .filter(|r| r.scenario == scenario && r.kind == kind)
        .collect()
}

fn rate(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.2}")
    }
}

/// One summary value, with what a reader must know about it.
#[derive(Clone, Copy)]
struct Cell {
    value: f64,
    note: &'static str,
    /// False when a ratio would mislead (the latency of a server that fell
    /// behind its feed is measured from its late publishing).
    comparable: bool,
}

fn note_of(r: &Run) -> &'static str {
    match (r.load.loadgen_bound(), r.behind()) {
        (true, _) => " (generator-bound)",
        (false, true) => " (fell behind)",
        _ => "",
    }
}

/// The flat-out point: most delivered with p99 at or under `limit_ms`, by
/// a run that lost nothing, kept up, and was not limited by the generator
/// (such a point measures the generator, so it never feeds a ratio).
fn best_under(runs: &[&Run], limit_ms: f64) -> Option<Cell> {
    runs.iter()
        .filter(|r| {
            r.load.latency_ms("p99") <= limit_ms
                && r.load.problems() == 0
                && !r.behind()
                && !r.load.loadgen_bound()
        })
        .max_by(|a, b| a.load.delivered().total_cmp(&b.load.delivered()))
        .map(|r| Cell {
            value: r.load.delivered(),
            note: note_of(r),
            comparable: true,
        })
}

/// A row of the summary: one measure for every server, with ratios.
fn row(
    t: &mut String,
    scenario: &str,
    measure: &str,
    cells: [Option<Cell>; 4],
    show: fn(f64) -> String,
) {
    let cell = |c: Option<Cell>| {
        c.map_or("n/a".to_string(), |c| {
            format!("{}{}", show(c.value), c.note)
        })
    };
    let ratio = |peer: Option<Cell>| match (cells[0], peer) {
        (Some(a), Some(b))
            if a.comparable
                && b.comparable
                && b.value > 0.0
                && a.value.is_finite()
                && b.value.is_finite() =>
        {
            format!("{:.2}", a.value / b.value)
        }
        _ => "n/a".into(),
    };
    let _ = writeln!(
        t,
        "| {scenario} | {measure} | {} | {} | {} | {} | {} | {} |",
        cell(cells[0]),
        cell(cells[1]),
        cell(cells[2]),
        cell(cells[3]),
        ratio(cells[1]),
        ratio(cells[2])
    );
}

/// A measure of each server's run of `scenario`; `latency` measures are
/// not compared for a server that fell behind.
fn per_kind(
    runs: &[Run],
    scenario: &str,
    latency: bool,
    f: impl Fn(&Run) -> f64,
) -> [Option<Cell>; 4] {
    Kind::EVERY.map(|k| {
        of(runs, scenario, k).first().map(|r| Cell {
            value: f(r),
            note: note_of(r),
            comparable: !(latency && r.behind()),
        })
    })
}

fn plain(value: Option<f64>) -> Option<Cell> {
    value.map(|value| Cell {
        value,
        note: "",
        comparable: true,
    })
}

pub fn write(paths: &Paths, plan: &Plan, runs: &[Run], name: &str) -> Result<(), String> {
    let mut t = String::new();
    let pinning = if paths.pin {
        "servers pinned to core 0 (`taskset -c 0`), load generator to core 1 (`taskset -c 1`)"
    } else {
        "NOT pinned (fewer than two cores, or no taskset)"
    };
    let _ = writeln!(t, "# tickwire end to end, against its peers\n");
    let _ = writeln!(
        t,
        "Machine: {}, {} cores; {pinning}. Every server gets the same seed-42 feed (tickwire simulates it live; the peers play a `tickwire simulate` recording of it), the same subscriptions and the same `tickwire loadgen`. Command: `bash benches/run.sh`.{}\n",
        procs::cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if plan.full {
            ""
        } else {
            " **Smoke run (under `cargo test`): tiny sizes, not a measurement.**"
        }
    );
    let _ = writeln!(
        t,
        "Ratios are tickwire / peer: above 1 is better for rates, below 1 is better for latency and memory.\n"
    );
    let _ = writeln!(
        t,
        "| scenario | measure | tickwire | Node ws | naive Rust | naive Rust, encode per subscriber | tickwire / Node ws | tickwire / naive Rust |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
    let s1 = format!(
        "1. {} connections, 4 symbols, book+trades+ticker, default rates",
        plan.watchers
    );
    row(
        &mut t,
        &s1,
        "delivered msgs/s",
        per_kind(runs, "watchers", false, |r| r.load.delivered()),
        rate,
    );
    for p in ["p50", "p99", "p999"] {
        row(
            &mut t,
            &s1,
            &format!("latency {p} (ms)"),
            per_kind(runs, "watchers", true, |r| r.load.latency_ms(p)),
            ms,
        );
    }
    row(
        &mut t,
        &s1,
        "server CPU (cores)",
        per_kind(runs, "watchers", false, |r| {
            r.load.f(&["server", "cpu_cores"])
        }),
        |v| format!("{v:.2}"),
    );
    let s2 = format!(
        "2. flat out, {} connections, rate rising",
        plan.sweep_connections
    );
    let sweep = |k: Kind| of(runs, "sweep", k);
    row(
        &mut t,
        &s2,
        "most msgs/s with p99 <= 10 ms",
        Kind::EVERY.map(|k| best_under(&sweep(k), 10.0)),
        rate,
    );
    row(
        &mut t,
        &s2,
        "most msgs/s with p99 <= 5 ms",
        Kind::EVERY.map(|k| best_under(&sweep(k), 5.0)),
        rate,
    );
    let near = |k: Kind, target: f64| {
        sweep(k)
            .into_iter()
            .min_by(|a, b| {
                let d = |r: &Run| (r.load.delivered() - target).abs();
                d(a).total_cmp(&d(b))
            })
            .map(|r| (r.load.delivered(), r.load.latency_ms("p99")))
    };
    let target = 80_000.0;
    row(
        &mut t,
        &s2,
        "p99 (ms) at the point nearest 80 k msgs/s",
        Kind::EVERY.map(|k| plain(near(k, target).map(|p| p.1))),
        ms,
    );
    row(
        &mut t,
        &s2,
        "(that point's msgs/s)",
        Kind::EVERY.map(|k| plain(near(k, target).map(|p| p.0))),
        rate,
    );
    let s3 = format!(
        "3. {} idle connections (heartbeat of one symbol)",
        plan.idle_connections
    );
    let memory = |r: &Run| r.load.f(&["server", "memory_per_connection_bytes"]) / 1024.0;
    row(
        &mut t,
        &s3,
        "server memory per connection (KiB)",
        per_kind(runs, "idle", false, memory),
        |v| format!("{v:.1}"),
    );
    row(
        &mut t,
        &s3,
        "heartbeat latency p99 (ms)",
        per_kind(runs, "idle", true, |r| r.load.latency_ms("p99")),
        ms,
    );
    let s4 = format!(
        "4. {} traders ({} orders/s in all) + {} watchers of one symbol each",
        plan.traders, plan.orders_per_sec, plan.watchers
    );
    let trading = |f: fn(&Run) -> f64| per_kind(runs, "trading", false, f);
    row(
        &mut t,
        &s4,
        "order round trip p50 (ms)",
        trading(|r| r.load.f(&["orders", "rtt_us", "p50"]) / 1000.0),
        ms,
    );
    row(
        &mut t,
        &s4,
        "order round trip p99 (ms)",
        trading(|r| r.load.f(&["orders", "rtt_us", "p99"]) / 1000.0),
        ms,
    );
    row(
        &mut t,
        &s4,
        "orders accepted /s",
        trading(|r| r.load.f(&["orders", "accepted"]) / r.load.f(&["seconds"])),
        rate,
    );
    row(
        &mut t,
        &s4,
        "watchers' msgs/s",
        trading(|r| r.load.delivered()),
        rate,
    );
    row(
        &mut t,
        &s4,
        "watchers' latency p99 (ms)",
        trading(|r| r.load.latency_ms("p99")),
        ms,
    );
    let _ = writeln!(
        t,
        "\nThe peers do not trade: scenario 4 is tickwire alone. The encode-per-subscriber peer runs in scenario 1 only. A point limited by the generator never counts as a server's best; a server that left connections unanswered or delivered under 95% of what its answered connections were offered \"fell behind\", and its latency is not compared. \"Read before ts\": messages the generator read before their `ts` by its own clock (recorded as 1 us). Engine lag: how late tickwire's engine applied simulated events after their scheduled time, since the server started (the latency from `ts` starts when the event was applied).\n"
    );
    let _ = writeln!(t, "![latency against delivered rate]({name}.png)\n");
    crate::polling::tables(&mut t, runs, name);
    cores_table(&mut t, runs);
    let _ = writeln!(t, "## Every run\n");
    let _ = writeln!(
        t,
        "| scenario | server | rate scale | connections | subscribed | unanswered | offered msgs/s | delivered msgs/s | fewest msgs on one connection | p50 ms | p99 ms | p99.9 ms | max ms | read before ts | engine lag p99 / max ms | events > 1 ms late | server CPU | server RSS MiB | loadgen CPU | gaps | lagged | disconnects |"
    );
    let _ = writeln!(
        t,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let l = &r.load;
        let bound = if l.loadgen_bound() {
            " (generator-bound)"
        } else {
            ""
        };
        // The peers replay a recording: they have no engine to run late.
        let (lag, late) = if r.kind == Kind::Tickwire {
            (
                format!(
                    "{} / {}",
                    ms(l.f(&["server", "schedule_lag_p99_us"]) / 1000.0),
                    ms(l.f(&["server", "schedule_lag_max_us"]) / 1000.0)
                ),
                l.f(&["server", "late_events"]).to_string(),
            )
        } else {
            ("n/a".to_string(), "n/a".to_string())
        };
        let _ = writeln!(
            t,
            "| {}{} | {} | {} | {} | {} | {} | {} | {}{bound} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.1} | {:.2} | {} | {} | {} |",
            r.scenario,
            if r.mode.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.mode)
            },
            r.kind.name(),
            r.scale,
            l.f(&["connected"]),
            l.f(&["subscribed"]),
            l.unanswered(),
            rate(r.offered),
            rate(l.delivered()),
            l.f(&["min_messages_per_connection"]),
            ms(l.latency_ms("p50")),
            ms(l.latency_ms("p99")),
            ms(l.latency_ms("p999")),
            ms(l.latency_ms("max")),
            l.f(&["negative_latencies"]),
            lag,
            late,
            l.f(&["server", "cpu_cores"]),
            l.f(&["server", "rss_after_bytes"]) / 1048576.0,
            l.f(&["loadgen_cpu_cores"]),
            l.f(&["seq_gaps"]),
            l.f(&["lagged"]),
            l.f(&["disconnects"]),
        );
    }
    let out = &paths.out;
    std::fs::write(out.join(format!("{name}.md")), &t).map_err(|e| e.to_string())?;
    let json: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| serde_json::json!({"scenario": r.scenario, "server": r.kind.name(), "rate_scale": r.scale, "report": r.load.json}))
        .collect();
    let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(out.join(format!("{name}.json")), json).map_err(|e| e.to_string())?;
    plot(
        &out.join(format!("{name}.png")),
        runs,
        plan.sweep_connections,
    )
    .map_err(|e| format!("plot: {e}"))?;
    crate::polling::plot(&out.join(format!("{name}-polling.png")), runs)
        .map_err(|e| format!("plot: {e}"))?;
    print!("{t}");
    Ok(())
}

/// Scenario 7: scenario 1 on one core against two, one worker and two.
fn cores_table(t: &mut String, runs: &[Run]) {
    let two: Vec<&Run> = runs.iter().filter(|r| r.scenario == "cores").collect();
    if two.is_empty() {
        return;
    }
    let _ = writeln!(
        t,
        "\n## 7. One core or two\n\nScenario 1's load on tickwire, {} (one core: {}).\n",
        Placement::TwoCores.describe(),
        Placement::OneCore.describe()
    );
    let _ = writeln!(
        t,
        "| server | delivered msgs/s | latency p50 / p99 ms | engine lag p99 ms | server CPU (cores) | generator CPU (cores) |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|");
    let one = of(runs, "watchers", Kind::Tickwire)
        .into_iter()
        .map(|r| (r, "one core, one worker"));
    for (r, what) in one.chain(two.into_iter().map(|r| (r, r.mode))) {
        let l = &r.load;
        let _ = writeln!(
            t,
            "| {what} | {} | {} / {} | {} | {:.2} | {:.2} |",
            rate(l.delivered()),
            ms(l.latency_ms("p50")),
            ms(l.latency_ms("p99")),
            ms(l.f(&["server", "schedule_lag_p99_us"]) / 1000.0),
            l.f(&["server", "cpu_cores"]),
            l.f(&["loadgen_cpu_cores"]),
        );
    }
    let _ = writeln!(t);
}

fn plot(
    file: &std::path::Path,
    runs: &[Run],
    connections: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let font = std::fs::read(FONT).map_err(|e| {
        format!("{FONT}: {e} (install Debian's fonts-dejavu-core; benches/run.sh and .ci/test do)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| format!("{FONT} is not a font"))?;
    let points: Vec<(Kind, f64, f64, f64)> = runs
        .iter()
        // A server that fell behind its feed has no meaningful latency.
        .filter(|r| r.scenario == "sweep" && !r.behind())
        .map(|r| {
            (
                r.kind,
                r.load.delivered(),
                r.load.latency_ms("p50"),
                r.load.latency_ms("p99"),
            )
        })
        .filter(|p| p.1 > 0.0 && p.2 > 0.0 && p.3 > 0.0)
        .collect();
    let x_max = points.iter().map(|p| p.1).fold(1e4, f64::max) * 1.5;
    let x_min = points
        .iter()
        .map(|p| p.1)
        .fold(f64::MAX, f64::min)
        .min(x_max / 10.0)
        / 1.5;
    let y_max = points.iter().map(|p| p.3).fold(1.0, f64::max) * 2.0;
    let y_min = points.iter().map(|p| p.2).fold(f64::MAX, f64::min).min(0.1) / 2.0;
    let root = BitMapBackend::new(file, (1100, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("Latency (ts to read) against delivered rate, {connections} connections, server on one core"), ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("delivered messages per second")
        .y_desc("latency (ms)")
        .x_label_formatter(&|v| rate(*v))
        .y_label_formatter(&|v| format!("{v}"))
        .label_style(("sans-serif", 15))
        .draw()?;
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
    ];
    for (kind, color) in Kind::ALL.into_iter().zip(colors) {
        let mine: Vec<_> = points.iter().filter(|p| p.0 == kind).collect();
        if mine.is_empty() {
            continue;
        }
        let p99: Vec<(f64, f64)> = mine.iter().map(|p| (p.1, p.3)).collect();
        let p50: Vec<(f64, f64)> = mine.iter().map(|p| (p.1, p.2)).collect();
        chart
            .draw_series(LineSeries::new(p99.clone(), color.stroke_width(3)))?
            .label(format!("{} p99", kind.name()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            p99.iter()
                .map(|&p| TriangleMarker::new(p, 6, color.filled())),
        )?;
        chart
            .draw_series(LineSeries::new(p50.clone(), color.stroke_width(1)))?
            .label(format!("{} p50", kind.name()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(1))
            });
        chart.draw_series(p50.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
