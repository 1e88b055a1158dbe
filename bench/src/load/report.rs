//! The table: every scenario's figures, the machine's limits, our figures as ratios to them,
//! and the targets each figure is held to.

use std::time::Duration;

use serde::Serialize;

use super::stats::Summary;
use crate::checks::Report;

#[derive(Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub summary: Summary,
    /// The server's peak resident set during the scenario, MiB.
    pub peak_rss_mib: Option<f64>,
}

#[derive(Serialize)]
pub struct Target {
    pub what: String,
    pub figure: String,
    pub pass: bool,
}

#[derive(Serialize)]
pub struct Results {
    pub label: String,
    pub clients: usize,
    pub duration_secs: u64,
    pub history_orders: i64,
    pub rows: Vec<Row>,
    pub checks: Option<Report>,
    pub targets: Vec<Target>,
    /// SQL statements the server sent per purchase in the checkout scenario (refused carts and
    /// replayed callbacks included), `BEGIN` and `COMMIT` not counted.
    pub statements_per_purchase: Option<f64>,
    /// Database transactions per purchase in the same scenario (each adds a `BEGIN` and a
    /// `COMMIT` to the statements).
    pub transactions_per_purchase: Option<f64>,
}

impl Results {
    pub fn new(label: &str, clients: usize, duration: Duration) -> Results {
        Results {
            label: label.to_owned(),
            clients,
            duration_secs: duration.as_secs(),
            history_orders: 0,
            rows: Vec::new(),
            statements_per_purchase: None,
            transactions_per_purchase: None,
            checks: None,
            targets: Vec::new(),
        }
    }

    pub fn push(&mut self, summary: Summary, peak_rss_mib: Option<f64>) {
        self.rows.push(Row {
            summary,
            peak_rss_mib,
        });
    }

    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.summary.name == name)
    }

    /// Holds the figures to the targets, where the rows they need were measured.
    fn evaluate(&mut self) {
        let mut targets = Vec::new();
        let purchase = self.row("checkout + payment (purchase)");
        let pgbench = self.row("pgbench TPC-B (same server)");
        let healthz = self.row("healthz");
        if let (Some(p), Some(b)) = (purchase, pgbench) {
            let ratio = p.summary.per_second / b.summary.per_second.max(f64::MIN_POSITIVE);
            targets.push(Target {
                what: "purchases/s >= 0.5 x pgbench tps".into(),
                figure: format!(
                    "{:.0} / {:.0} = {ratio:.2}",
                    p.summary.per_second, b.summary.per_second
                ),
                pass: ratio >= 0.5,
            });
        }
        if let Some(p) = purchase {
            targets.push(Target {
                what: "purchase (checkout + callback) p99 < 50 ms".into(),
                figure: format!("{:.1} ms", p.summary.p99_ms),
                pass: p.summary.p99_ms < 50.0,
            });
            if let Some(rss) = p.peak_rss_mib {
                targets.push(Target {
                    what: "peak RSS during checkout < 150 MB".into(),
                    figure: format!("{rss:.0} MiB"),
                    pass: rss * 1.048_576 < 150.0,
                });
            }
        }
        // The issue's own measure: one process through browse, checkout and month-end.
        let whole_run = self
            .rows
            .iter()
            .filter_map(|r| r.peak_rss_mib)
            .fold(None, |peak: Option<f64>, rss| {
                Some(peak.map_or(rss, |p| p.max(rss)))
            });
        if let Some(rss) = whole_run
            && self.row("browse, uncached").is_some()
            && purchase.is_some()
            && self.row("statement: import and match").is_some()
        {
            targets.push(Target {
                what: "peak RSS of the whole run < 150 MB".into(),
                figure: format!("{rss:.0} MiB ({:.0} MB)", rss * 1.048_576),
                pass: rss * 1.048_576 < 150.0,
            });
        }
        if let Some(checks) = &self.checks {
            targets.push(Target {
                what: "zero oversold, journal balanced, paid once".into(),
                figure: format!(
                    "{} of {} checks pass",
                    checks.checks.iter().filter(|c| c.pass).count(),
                    checks.checks.len()
                ),
                pass: checks.all_pass(),
            });
        }
        if let (Some(c), Some(h)) = (self.row("browse, cached"), healthz) {
            let ratio = c.summary.per_second / h.summary.per_second.max(f64::MIN_POSITIVE);
            targets.push(Target {
                what: "browse cached req/s >= 0.3 x /healthz req/s".into(),
                figure: format!(
                    "{:.0} / {:.0} = {ratio:.2}",
                    c.summary.per_second, h.summary.per_second
                ),
                pass: ratio >= 0.3,
            });
        }
        let limits: [(&str, &str, f64); 4] = [
            ("browse, uncached", "browse uncached p99 < 20 ms", 20.0),
            (
                "payout batch: build",
                "payout batch build p99 < 2 s",
                2_000.0,
            ),
            (
                "statement: import and match",
                "matching 5,000 lines < 1 s",
                1_000.0,
            ),
            (
                "compliance report (JSON)",
                "compliance report p99 < 300 ms",
                300.0,
            ),
        ];
        for (row, what, limit) in limits {
            if let Some(r) = self.row(row) {
                targets.push(Target {
                    what: what.into(),
                    figure: format!("{:.1} ms", r.summary.p99_ms),
                    pass: r.summary.p99_ms < limit,
                });
            }
        }
        self.targets = targets;
    }

    pub fn print(&mut self) {
        self.evaluate();
        println!();
        println!(
            "peken-bench {}: {} clients, {} s per load scenario, {} orders in the history",
            self.label, self.clients, self.duration_secs, self.history_orders
        );
        println!(
            "{:<34} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7}  note",
            "scenario", "n", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "RSS MiB"
        );
        for r in &self.rows {
            let s = &r.summary;
            println!(
                "{:<34} {:>8} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6} {:>7}  {}",
                s.name,
                s.count,
                s.per_second,
                s.p50_ms,
                s.p90_ms,
                s.p99_ms,
                s.max_ms,
                s.errors,
                r.peak_rss_mib
                    .map_or_else(|| "-".into(), |m| format!("{m:.0}")),
                s.note
            );
        }
        if let Some(statements) = self.statements_per_purchase {
            let transactions = self.transactions_per_purchase;
            println!();
            println!(
                "work per purchase: {statements:.1} SQL statements{}",
                transactions.map_or_else(String::new, |t| format!(
                    " in {t:.2} transactions ({:.1} with BEGIN and COMMIT)",
                    statements + 2.0 * t
                ))
            );
        }
        if let Some(checks) = &self.checks {
            println!();
            println!("after the checkout run:");
            checks.print();
        }
        if !self.targets.is_empty() {
            println!();
            println!("targets:");
            for t in &self.targets {
                println!(
                    "  {} {:<46} {}",
                    if t.pass { "PASS" } else { "MISS" },
                    t.what,
                    t.figure
                );
            }
        }
    }
}
