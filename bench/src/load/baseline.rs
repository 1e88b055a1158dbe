//! The machine's own limits in the same run: PostgreSQL's built-in TPC-B-like script through
//! `pgbench`, with the same client count and duration, against the same database server.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use super::stats::Summary;

/// Initialises `url` (scale `scale`) and runs the TPC-B-like script; returns the row with its
/// transactions per second and average latency.
pub fn pgbench(
    url: &str,
    scale: u32,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Summary> {
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", &scale.to_string(), url])
        .output()
        .context("running pgbench -i (install postgresql-client)")?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let run = Command::new("pgbench")
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &threads.min(clients).to_string(),
            "-T",
            &duration.as_secs().max(1).to_string(),
            url,
        ])
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&run.stdout);
    anyhow::ensure!(
        run.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&run.stderr)
    );
    let (tps, latency, transactions) =
        parse(&text).with_context(|| format!("reading pgbench's output:\n{text}"))?;
    Ok(Summary {
        name: "pgbench TPC-B (same server)".into(),
        count: transactions,
        per_second: tps,
        p50_ms: 0.0,
        p90_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        median_ms: latency,
        errors: 0,
        outcomes: std::collections::BTreeMap::new(),
        note: format!(
            "scale {scale}; average latency {latency:.1} ms (pgbench reports no percentiles)"
        ),
    })
}

/// `(tps, average latency in ms, transactions)` from pgbench's report.
fn parse(text: &str) -> Option<(f64, f64, u64)> {
    let number_after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let tps = number_after("tps = ")?;
    let latency = number_after("latency average = ").unwrap_or(0.0);
    let transactions = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("number of transactions actually processed: ")
        })
        .and_then(|rest| rest.split(['/', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Some((tps, latency, transactions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_output() {
        let out = "transaction type: <builtin: TPC-B (sort of)>\n\
                   scaling factor: 10\n\
                   number of clients: 64\n\
                   number of transactions actually processed: 45678\n\
                   latency average = 41.950 ms\n\
                   initial connection time = 80.123 ms\n\
                   tps = 1522.601234 (without initial connection time)\n";
        let (tps, latency, n) = parse(out).unwrap();
        assert!((tps - 1_522.601_234).abs() < 1e-6);
        assert!((latency - 41.95).abs() < 1e-9);
        assert_eq!(n, 45678);
        assert!(parse("nothing").is_none());
    }
}
