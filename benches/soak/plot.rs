//! The soak's curve: resident memory, descriptors and connections, and
//! the latency p99s over time, one panel each, the warm-up shaded.

use std::path::Path;

use plotters::prelude::*;

use crate::sample::Sample;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

type Series<'a> = (&'a str, RGBColor, fn(&Sample) -> f64);

pub fn draw(file: &Path, samples: &[Sample], warm_up_s: f64) -> Result<(), String> {
    draw_panels(file, samples, warm_up_s).map_err(|e| format!("plot {}: {e}", file.display()))
}

fn draw_panels(
    file: &Path,
    samples: &[Sample],
    warm_up_s: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let font = std::fs::read(FONT)
        .map_err(|e| format!("{FONT}: {e} (install Debian's fonts-dejavu-core; .ci/deps does)"))?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| format!("{FONT} is not a font"))?;
    let root = BitMapBackend::new(file, (1100, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((3, 1));
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let blue = RGBColor(31, 119, 180);
    let green = RGBColor(44, 160, 44);
    let red = RGBColor(214, 39, 40);
    let specs: [(&str, &str, Vec<Series>); 3] = [
        (
            "Resident memory",
            "MiB",
            vec![("resident memory", blue, |s: &Sample| s.rss_mib)],
        ),
        (
            "Open descriptors and connections",
            "count",
            vec![
                ("open fds", green, |s: &Sample| s.fds),
                ("connections", blue, |s: &Sample| s.connections),
            ],
        ),
        (
            "p99 per 5 s interval (histogram bucket bound)",
            "ms",
            vec![
                ("publish to write", blue, |s: &Sample| s.publish_p99_ms),
                ("order round trip", red, |s: &Sample| s.order_p99_ms),
            ],
        ),
    ];
    for (area, (title, unit, series)) in panels.iter().zip(specs) {
        let y_max = series
            .iter()
            .flat_map(|(_, _, f)| samples.iter().map(f))
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc(unit)
            .label_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (warm_up_s.min(t_max), y_max)],
            RGBColor(200, 200, 200).mix(0.3).filled(),
        )))?;
        for (label, color, value) in series {
            let points: Vec<(f64, f64)> = samples
                .iter()
                .map(|s| (s.t, value(s)))
                .filter(|p| p.1.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
