//! The benchmark report: a Markdown table (`target/bench/report.md`) and an SVG chart of how
//! `list_routes` scales with the number of routes.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

/// The head of `docs/performance.md`, above the generated table.
const HOW_MEASURED: &str = "\
# Performance

This page is written by `cargo xtask bench` (a full run); do not edit it by hand.

The bench (an optimized build; `--quick` for a reduced run under a minute that does not
rewrite this page) starts a throwaway `redis-server` (or uses `REDIS_URL`), runs each
scenario and its baseline in the same process against the same server, alternating them
round by round after warm-up, and reports medians. Round trips are counted by Redis itself:
a `MONITOR` connection sees every command, and only client commands (not those a Lua script
runs) between two markers are counted. `cargo xtask bench --check` exits 1 when a target is
missed.

Baselines:
- **raw redis-rs**: the same `GET` and the same serde decode on a plain redis-rs connection
  (one per thread), without validation, pool, retry or spans: the floor of any Rust layer.
- **raw multiplexed**: the same on one `MultiplexedConnection`, without reconnection.
- **redis-benchmark**: the server's own client, `GET` of the very same record at the same
  concurrency: the server's ceiling on this machine.
- **bridge**: the async API driven from blocking code through `Runtime::block_on`, which is
  what a hand-written async-to-blocking bridge does, against the generated blocking API.
- **raw MGET pipeline**: one `MGET` of every route key (which a raw client must already
  know) plus decode, against `list_routes` (one script that reads the index and the records).
";

/// One line of the table. Ratios are oriented so that higher means this layer is better.
pub struct Row {
    pub scenario: String,
    pub ours: String,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

/// `list_routes` at one size: median milliseconds for the storage and the raw baseline.
pub struct ScalingPoint {
    pub routes: usize,
    pub storage_ms: f64,
    pub raw_ms: f64,
}

#[derive(Default)]
pub struct Report {
    pub environment: Vec<(String, String)>,
    pub rows: Vec<Row>,
    pub scaling: Vec<ScalingPoint>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn row(&mut self, row: Row) {
        println!(
            "  {:<58} {:>18} {:>24} {:>7} {}",
            row.scenario,
            row.ours,
            row.baseline,
            row.ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
            met_mark(row.met),
        );
        self.rows.push(row);
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("# Storage benchmark\n\n");
        for (name, value) in &self.environment {
            let _ = writeln!(out, "- {name}: {value}");
        }
        out.push_str(
            "\nEach pair ran in the same process against the same server, alternating, after \
             warm-up; values are medians. Ratio: this layer over the baseline, oriented so \
             that higher is better for this layer.\n\n",
        );
        out.push_str("| scenario | this layer | baseline | ratio | target | met |\n");
        out.push_str("| --- | ---: | ---: | ---: | --- | --- |\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.scenario,
                row.ours,
                row.baseline,
                row.ratio
                    .map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "-".into()),
                row.target,
                met_mark(row.met),
            );
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out.push_str("\n![list_routes scaling](list_routes.svg)\n");
        out
    }

    /// The scenarios whose target was missed.
    pub fn missed(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|row| row.met == Some(false))
            .map(|row| row.scenario.as_str())
            .collect()
    }

    /// The performance page of the docs: how the figures are measured, then this run's
    /// table, with its chart beside the page.
    pub fn write_page(&self, page: &Path) -> Result<(), String> {
        let text = format!(
            "{HOW_MEASURED}\n{}",
            self.markdown().replacen("# ", "## ", 1)
        );
        std::fs::write(page, text).map_err(|e| format!("{}: {e}", page.display()))?;
        self.chart(&page.with_file_name("list_routes.svg"))
    }

    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let report = dir.join("report.md");
        std::fs::write(&report, self.markdown())
            .map_err(|e| format!("{}: {e}", report.display()))?;
        self.chart(&dir.join("list_routes.svg"))
    }

    fn chart(&self, path: &Path) -> Result<(), String> {
        let failed = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
        if self.scaling.is_empty() {
            return Ok(());
        }
        let max_routes = self.scaling.iter().map(|p| p.routes).max().unwrap_or(1) as f64;
        let max_ms = self
            .scaling
            .iter()
            .map(|p| p.storage_ms.max(p.raw_ms))
            .fold(0.0, f64::max);
        let root = SVGBackend::new(path, (720, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "list_routes: median time by number of routes",
                ("sans-serif", 18),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (50f64..max_routes * 2.0).log_scale(),
                (0.01f64..max_ms * 2.0).log_scale(),
            )
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .x_desc("routes")
            .y_desc("milliseconds")
            .draw()
            .map_err(|e| failed(&e))?;
        let series = [
            ("storage list_routes (1 round trip)", RED, 0),
            ("raw MGET pipeline + decode", BLUE, 1),
        ];
        for (label, color, which) in series {
            let points: Vec<(f64, f64)> = self
                .scaling
                .iter()
                .map(|p| {
                    (
                        p.routes as f64,
                        if which == 0 { p.storage_ms } else { p.raw_ms },
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| failed(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 4, color.filled())),
                )
                .map_err(|e| failed(&e))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))
    }
}

fn met_mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, met: Option<bool>) -> Row {
        Row {
            scenario: scenario.into(),
            ours: String::new(),
            baseline: String::new(),
            ratio: None,
            target: String::new(),
            met,
        }
    }

    #[test]
    fn only_rows_that_missed_their_target_are_missed() {
        let mut report = Report {
            rows: vec![row("a", Some(true)), row("b", Some(false)), row("c", None)],
            ..Report::default()
        };
        assert_eq!(report.missed(), ["b"]);
        report.rows.remove(1);
        assert!(report.missed().is_empty());
    }
}
