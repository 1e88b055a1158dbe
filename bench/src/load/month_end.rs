//! The month end, as treasury and the cooperatives office do it: the ASN compliance report for
//! the month, building the payout batch for every merchant owed money (built and cancelled a few
//! times to time it, then built for real and approved by a second treasury user), the transfer
//! file, and matching the bank's 5,000-line statement of those transfers.

use std::fmt::Write as _;

use chrono::Utc;
use peken_kernel::period::{Period, wib_date};
use reqwest::Method;
use serde::Deserialize;

use super::client::Api;
use super::stats::Summary;

/// Lines in the generated bank statement.
pub const STATEMENT_LINES: usize = 5_000;

pub struct Tokens {
    pub admin: String,
    pub treasury: [String; 2],
}

#[derive(Deserialize)]
struct Batch {
    id: String,
    item_count: i64,
    total_amount: i64,
}

#[derive(Deserialize)]
struct Import {
    lines: u64,
    matched: u64,
    unmatched: u64,
    duplicates: u64,
}

#[derive(Deserialize)]
struct Report {
    totals: Totals,
}

#[derive(Deserialize)]
struct Totals {
    asn_count: u64,
    compliant_count: u64,
}

fn ensure_ok(what: &str, answer: &super::client::Answer) -> anyhow::Result<()> {
    anyhow::ensure!(
        answer.status.is_success(),
        "{what}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body[..answer.body.len().min(500)])
    );
    Ok(())
}

pub async fn run(api: &Api, tokens: &Tokens, repetitions: usize) -> anyhow::Result<Vec<Summary>> {
    let mut rows = Vec::new();
    let period = Period::of(Utc::now()).prev();

    let mut json = Vec::new();
    let mut csv = Vec::new();
    let mut asn = (0, 0);
    for _ in 0..repetitions {
        let path = format!("/api/v1/reports/mandate-compliance?period={period}");
        let answer = api.get(&path, Some(&tokens.admin)).await?;
        ensure_ok("compliance report", &answer)?;
        let report: Report = answer.json()?;
        asn = (report.totals.asn_count, report.totals.compliant_count);
        json.push(answer.elapsed);
        let answer = api
            .send(
                Method::GET,
                &path,
                Some(&tokens.admin),
                &[("accept", "text/csv")],
                None,
            )
            .await?;
        ensure_ok("compliance report (CSV)", &answer)?;
        csv.push(answer.elapsed);
    }
    rows.push(Summary::of_repetitions(
        "compliance report (JSON)",
        &json,
        format!("{period}: {} ASN, {} compliant", asn.0, asn.1),
    ));
    rows.push(Summary::of_repetitions(
        "compliance report (CSV)",
        &csv,
        String::new(),
    ));

    // The batch is built, timed and cancelled a few times, then built for real.
    let cutoff = (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let body = serde_json::json!({ "cutoff": cutoff });
    let mut builds = Vec::new();
    let mut cancels = Vec::new();
    let mut batch: Option<Batch> = None;
    for round in 0..=repetitions {
        let answer = api
            .post_json(
                "/api/v1/treasury/payout-batches",
                Some(&tokens.treasury[0]),
                &body,
            )
            .await?;
        ensure_ok("building the payout batch", &answer)?;
        builds.push(answer.elapsed);
        let built: Batch = answer.json()?;
        if round == repetitions {
            batch = Some(built);
            break;
        }
        let answer = api
            .post_json(
                &format!("/api/v1/treasury/payout-batches/{}/cancellation", built.id),
                Some(&tokens.treasury[0]),
                &serde_json::json!({}),
            )
            .await?;
        ensure_ok("cancelling the payout batch", &answer)?;
        cancels.push(answer.elapsed);
    }
    let batch = batch.ok_or_else(|| anyhow::anyhow!("no batch was built"))?;
    rows.push(Summary::of_repetitions(
        "payout batch: build",
        &builds,
        format!(
            "{} merchants, Rp{}",
            batch.item_count,
            group_thousands(batch.total_amount)
        ),
    ));
    rows.push(Summary::of_repetitions(
        "payout batch: cancel",
        &cancels,
        String::new(),
    ));

    let answer = api
        .post_json(
            &format!("/api/v1/treasury/payout-batches/{}/approval", batch.id),
            Some(&tokens.treasury[1]),
            &serde_json::json!({}),
        )
        .await?;
    ensure_ok("approving the payout batch", &answer)?;
    rows.push(Summary::of_repetitions(
        "payout batch: approve",
        &[answer.elapsed],
        "once: posts every item; the payout worker writes the advice after it".into(),
    ));
    let answer = api
        .get(
            &format!("/api/v1/treasury/payout-batches/{}/transfer-file", batch.id),
            Some(&tokens.treasury[0]),
        )
        .await?;
    ensure_ok("transfer file", &answer)?;
    rows.push(Summary::of_repetitions(
        "payout batch: transfer file",
        &[answer.elapsed],
        String::new(),
    ));

    let statement = statement(&String::from_utf8_lossy(&answer.body))?;
    let upload = |text: String| {
        api.send(
            Method::POST,
            "/api/v1/treasury/bank-statements?account=1234567890",
            Some(&tokens.treasury[0]),
            &[],
            Some(("text/csv", text.into_bytes())),
        )
    };
    let answer = upload(statement.clone()).await?;
    ensure_ok("importing the statement", &answer)?;
    let import: Import = answer.json()?;
    rows.push(Summary::of_repetitions(
        "statement: import and match",
        &[answer.elapsed],
        format!(
            "once: {} lines, {} matched, {} unmatched",
            import.lines, import.matched, import.unmatched
        ),
    ));
    let mut again = Vec::new();
    let mut duplicates = 0;
    for _ in 0..repetitions {
        let answer = upload(statement.clone()).await?;
        ensure_ok("importing the statement again", &answer)?;
        duplicates = answer.json::<Import>()?.duplicates;
        again.push(answer.elapsed);
    }
    rows.push(Summary::of_repetitions(
        "statement: re-import",
        &again,
        format!("{duplicates} duplicates, nothing added"),
    ));
    Ok(rows)
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[derive(Deserialize)]
struct Transfer {
    reference: String,
    account_number: String,
    account_name: String,
    amount: i64,
    rail: String,
}

/// The bank's statement of the collection account for the day the batch was paid: one debit
/// per transfer (the reference in the narrative; for one in thirty the bank dropped it and only
/// the account number is there), and incoming collections as credits up to
/// [`STATEMENT_LINES`] lines.
fn statement(transfer_file: &str) -> anyhow::Result<String> {
    let mut reader = csv::Reader::from_reader(transfer_file.as_bytes());
    let mut out = String::from("value_date,description,debit,credit,balance\n");
    let day = wib_date(Utc::now());
    let mut balance: i64 = 50_000_000_000;
    let mut lines = 0;
    for (i, row) in reader.deserialize::<Transfer>().enumerate() {
        let t = row?;
        balance -= t.amount;
        let description = if i % 30 == 7 {
            format!("TRF {} KE {} {}", t.rail, t.account_number, t.account_name)
        } else {
            format!(
                "TRF {} PEKEN {} KE {}",
                t.rail, t.reference, t.account_number
            )
        };
        let _ = writeln!(out, "{day},\"{description}\",{}.00,,{balance}.00", t.amount);
        lines += 1;
    }
    let mut n = 0_i64;
    while lines < STATEMENT_LINES {
        n += 1;
        let amount = 25_000 + (n * 7_919) % 975_000;
        balance += amount;
        let _ = writeln!(
            out,
            "{day},\"SETORAN QRIS NMID ID10{n:011} PEKEN\",,{amount}.00,{balance}.00"
        );
        lines += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_has_a_debit_per_transfer_and_is_filled_to_size() {
        let file = "reference,bank_code,account_number,account_name,amount,rail,remark\n\
                    PKN000000000001,002,1234567890,Budi,150000,BIFAST,PEKEN PKN000000000001\n\
                    PKN000000000002,014,9876543210,\"Sri, Toko\",2500000,BIFAST,PEKEN PKN000000000002\n";
        let text = statement(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), STATEMENT_LINES + 1);
        assert!(lines[1].contains("PKN000000000001") && lines[1].contains(",150000.00,,"));
        assert!(lines[2].contains("9876543210") && lines[2].contains(",2500000.00,,"));
        assert!(lines[3].contains("SETORAN") && lines[3].contains(",,"));
        let parsed = peken_payout::statement::csv::parse(&text, None).unwrap();
        assert_eq!(parsed.lines.len(), STATEMENT_LINES);
        assert_eq!(
            peken_payout::statement::references_in(&parsed.lines[0].description),
            ["PKN000000000001"]
        );
        assert_eq!(group_thousands(1_234_567), "1.234.567");
    }
}
