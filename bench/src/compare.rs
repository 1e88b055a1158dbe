//! `peken-bench compare`: the checkout figure of runs with different order histories side by
//! side, and whether it held as the history grew.

use std::path::PathBuf;

use serde_json::Value;

const PURCHASE: &str = "checkout + payment (purchase)";

/// One run's checkout figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub history: i64,
    pub per_second: f64,
    pub p99_ms: f64,
}

fn point(results: &Value) -> Option<Point> {
    let row = results["rows"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == PURCHASE)?;
    Some(Point {
        label: results["label"].as_str().unwrap_or_default().to_owned(),
        history: results["history_orders"].as_i64()?,
        per_second: row["per_second"].as_f64()?,
        p99_ms: row["p99_ms"].as_f64()?,
    })
}

/// How much the figure of the largest history falls below that of the smallest, as a fraction
/// (negative when it rose), or `None` with fewer than two histories.
pub fn fall(points: &[Point]) -> Option<f64> {
    let smallest = points.iter().min_by_key(|p| p.history)?;
    let largest = points.iter().max_by_key(|p| p.history)?;
    if smallest.history == largest.history || smallest.per_second <= 0.0 {
        return None;
    }
    Some(1.0 - largest.per_second / smallest.per_second)
}

pub fn run(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut points = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        let results: Value = serde_json::from_str(&text)?;
        match point(&results) {
            Some(p) => points.push(p),
            None => eprintln!("{}: no checkout figure", file.display()),
        }
    }
    points.sort_by_key(|p| p.history);
    println!();
    println!("checkout as the order history grows:");
    println!(
        "  {:<22} {:>12} {:>12} {:>10}",
        "run", "history", "purchases/s", "p99 ms"
    );
    for p in &points {
        println!(
            "  {:<22} {:>12} {:>12.1} {:>10.1}",
            p.label, p.history, p.per_second, p.p99_ms
        );
    }
    match fall(&points) {
        Some(f) => println!(
            "  {} purchases/s change {:+.1}% from the smallest to the largest history (target: falls by at most 20%)",
            if f <= 0.20 { "PASS" } else { "MISS" },
            -f * 100.0
        ),
        None => println!("  fewer than two history sizes were measured"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_purchase_row_and_compares_the_extremes() {
        let results = serde_json::json!({
            "label": "history-30000",
            "history_orders": 30000,
            "rows": [
                {"name": "healthz", "per_second": 9.0, "p99_ms": 1.0},
                {"name": PURCHASE, "per_second": 200.0, "p99_ms": 40.0},
            ]
        });
        let small = point(&results).unwrap();
        assert_eq!(small.history, 30_000);
        let large = Point {
            label: "history-3000000".into(),
            history: 3_000_000,
            per_second: 170.0,
            p99_ms: 45.0,
        };
        let f = fall(&[large.clone(), small.clone()]).unwrap();
        assert!((f - 0.15).abs() < 1e-9);
        assert!(fall(&[small]).is_none());
        assert!(point(&serde_json::json!({"rows": []})).is_none());
    }
}
