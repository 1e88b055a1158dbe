//! `peken-bench ratio`: the same scenarios run two ways (the primary alone and with a read
//! replica; direct connections and through PgBouncer) side by side, as the ratio of the second
//! to the first for throughput and p99.

use std::path::PathBuf;

use serde_json::Value;

/// One scenario's figures in one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub per_second: f64,
    pub p99_ms: f64,
}

/// The rows of a run's `--json` that carry a throughput and a p99.
pub fn figures(results: &Value) -> Vec<Figure> {
    results["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    Some(Figure {
                        name: r["name"].as_str()?.to_owned(),
                        per_second: r["per_second"].as_f64()?,
                        p99_ms: r["p99_ms"].as_f64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A row of the comparison: the scenario, both figures and `other ÷ base` of each (`None`
/// where the base is zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub name: String,
    pub base: Figure,
    pub other: Figure,
    pub throughput: Option<f64>,
    pub p99: Option<f64>,
}

fn divide(other: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| other / base)
}

/// The scenarios measured in both configurations, in the base's order.
pub fn pairs(base: &[Figure], other: &[Figure]) -> Vec<Pair> {
    base.iter()
        .filter_map(|b| {
            let o = other.iter().find(|o| o.name == b.name)?;
            Some(Pair {
                name: b.name.clone(),
                base: b.clone(),
                other: o.clone(),
                throughput: divide(o.per_second, b.per_second),
                p99: divide(o.p99_ms, b.p99_ms),
            })
        })
        .collect()
}

fn read(files: &[PathBuf]) -> anyhow::Result<Vec<Figure>> {
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        all.extend(figures(&serde_json::from_str(&text)?));
    }
    Ok(all)
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
}

pub fn run(title: &str, base: &[PathBuf], other: &[PathBuf]) -> anyhow::Result<()> {
    let pairs = pairs(&read(base)?, &read(other)?);
    anyhow::ensure!(!pairs.is_empty(), "no scenario was measured both ways");
    println!();
    println!("{title}:");
    println!(
        "  {:<32} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
        "scenario", "base /s", "other /s", "ratio", "base p99", "other p99", "ratio"
    );
    for p in &pairs {
        println!(
            "  {:<32} {:>10.1} {:>10.1} {:>7} {:>10.1} {:>10.1} {:>7}",
            p.name,
            p.base.per_second,
            p.other.per_second,
            ratio_text(p.throughput),
            p.base.p99_ms,
            p.other.p99_ms,
            ratio_text(p.p99)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_measured_both_ways_are_paired_and_divided() {
        let base = figures(&serde_json::json!({
            "rows": [
                {"name": "browse, cached", "per_second": 20000.0, "p99_ms": 8.0},
                {"name": "reports", "per_second": 40.0, "p99_ms": 900.0},
                {"name": "pgbench TPC-B (same server)", "per_second": 2500.0, "p99_ms": null},
                {"name": "only here", "per_second": 1.0, "p99_ms": 1.0},
            ]
        }));
        assert_eq!(base.len(), 3, "a row without a p99 is not a figure");
        let other = figures(&serde_json::json!({
            "rows": [
                {"name": "reports", "per_second": 50.0, "p99_ms": 450.0},
                {"name": "browse, cached", "per_second": 19000.0, "p99_ms": 0.0},
            ]
        }));
        let pairs = pairs(&base, &other);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].name, "browse, cached");
        assert!((pairs[0].throughput.unwrap() - 0.95).abs() < 1e-9);
        assert_eq!(pairs[0].p99, Some(0.0));
        assert!((pairs[1].throughput.unwrap() - 1.25).abs() < 1e-9);
        assert!((pairs[1].p99.unwrap() - 0.5).abs() < 1e-9);
        let zero = Figure {
            name: "x".into(),
            per_second: 0.0,
            p99_ms: 0.0,
        };
        let p = super::pairs(std::slice::from_ref(&zero), std::slice::from_ref(&zero));
        assert_eq!((p[0].throughput, p[0].p99), (None, None));
        assert!(figures(&serde_json::json!({})).is_empty());
    }
}
