//! Every treasury report as CSV (formulas defused, `;` with a byte order mark on request) and
//! as an XLSX workbook whose amounts are numbers; JSON stays the default.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use peken_tests::{TestApp, User};
use sea_orm::{ConnectionTrait, Statement};

use crate::fixtures::payouts::{
    app_at, csv_statement, item_of, merchant, owed, paid_batch, treasurers, utc,
};
use crate::reports::{content_type, raw};

const KEL: &str = "35.78.02.1001";
const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"klik\")";

/// The CSV of `path` (which has a query already or not), with its file name.
async fn csv(app: &TestApp, user: &User, path: &str, extra: &str) -> (String, String) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, headers, bytes) =
        raw(app, &format!("{path}{sep}format=csv{extra}"), &user.token).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type(&headers), "text/csv; charset=utf-8", "{path}");
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (String::from_utf8(bytes).unwrap(), disposition)
}

/// The first sheet of the XLSX of `path`, as calamine reads it.
async fn sheet(app: &TestApp, user: &User, path: &str) -> Vec<Vec<Data>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, headers, bytes) = raw(app, &format!("{path}{sep}format=xlsx"), &user.token).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type(&headers), peken_kernel::export::XLSX, "{path}");
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

fn header(rows: &[Vec<Data>]) -> Vec<String> {
    rows[0].iter().map(ToString::to_string).collect()
}

fn column(rows: &[Vec<Data>], name: &str) -> usize {
    header(rows)
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", header(rows)))
}

fn filename(disposition: &str) -> &str {
    disposition
        .split("filename=\"")
        .nth(1)
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or_default()
}

#[tokio::test]
async fn every_treasury_report_exports_as_csv_and_xlsx() {
    // 10:00 WIB on 4 March 2026.
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (shop, _) = merchant(&app, "toko_kelontong", KEL, None).await;
    let db = &app.state.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE merchants SET name = $1, account_name = $2 WHERE id = $3",
        [EVIL.into(), "+62 PEMILIK".into(), shop.clone().into()],
    ))
    .await
    .unwrap();
    owed(&app, "exp-1", &shop, 125_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    let reference = item_of(&batch, &shop)["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let statement = csv_statement(&[
        ("2026-03-04", &format!("TRF BIFAST {reference}"), 125_000, 0),
        ("2026-03-04", "=1+2 SETORAN", 0, 5_000),
    ]);
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/csv",
        &statement,
    )
    .await
    .expect(201);

    // The trial balance: header, amounts as numbers, the file named after today.
    let (text, disposition) = csv(&app, &maker, "/api/v1/treasury/trial-balance", "").await;
    assert_eq!(filename(&disposition), "trial-balance-2026-03-04.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("account,kind,merchant_id,normal_side,balance_amount,normal_balance_amount")
    );
    assert!(
        text.contains(&format!(
            "merchant_payable:{shop},merchant_payable,{shop},credit,0,0"
        )),
        "{text}"
    );
    // Indonesian Excel: `;` and the byte order mark.
    let (semi, _) = csv(
        &app,
        &maker,
        "/api/v1/treasury/trial-balance",
        "&delimiter=semicolon",
    )
    .await;
    assert!(
        semi.starts_with("\u{feff}account;kind;merchant_id;normal_side;"),
        "{semi}"
    );
    let rows = sheet(&app, &maker, "/api/v1/treasury/trial-balance").await;
    let balance = column(&rows, "balance_amount");
    assert!(
        rows[1..]
            .iter()
            .all(|r| matches!(r[balance], Data::Float(_)))
    );
    // JSON is still the default.
    let json = app
        .get("/api/v1/treasury/trial-balance", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(json.body["balanced"], true);

    // The batch's items: the merchant's name and account holder are text from people, defused
    // in CSV and plain strings (never formulas) in XLSX; the amount is a number.
    let batch_path = format!("/api/v1/treasury/payout-batches/{batch_id}");
    let (text, disposition) = csv(&app, &maker, &batch_path, "&delimiter=semicolon").await;
    assert_eq!(
        filename(&disposition),
        format!("payout-batch-2026-03-03-{batch_id}.csv")
    );
    assert!(text.starts_with(
        "\u{feff}item_id;merchant_id;merchant_name;amount;reference;bank_code;account_number;\
         account_name;rail;status;"
    ));
    let line = text.lines().nth(1).unwrap();
    assert!(
        line.contains(";\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"klik\"\")\";125000;"),
        "{line}"
    );
    assert!(line.contains(";'+62 PEMILIK;"), "{line}");
    assert!(line.contains(";paid;"), "{line}");
    let rows = sheet(&app, &maker, &batch_path).await;
    assert_eq!(
        rows[1][column(&rows, "merchant_name")],
        Data::String(EVIL.to_owned())
    );
    assert_eq!(rows[1][column(&rows, "amount")], Data::Float(125_000.0));
    let json = app.get(&batch_path, Some(&maker.token)).await.expect(200);
    assert_eq!(json.body["items"][0]["amount"], 125_000);

    // The list of batches: the page asked for.
    let (text, _) = csv(&app, &maker, "/api/v1/treasury/payout-batches", "").await;
    assert!(text.starts_with("id,status,cutoff,item_count,total_amount,created_by,"));
    assert!(text.contains(&format!(
        "{batch_id},approved,2026-03-03T00:00:00Z,1,125000,"
    )));
    let rows = sheet(&app, &maker, "/api/v1/treasury/payout-batches").await;
    assert_eq!(
        rows[1][column(&rows, "total_amount")],
        Data::Float(125_000.0)
    );

    // The daily close: the close, then the unmatched line whose narrative is defused.
    let close = "/api/v1/treasury/daily-close?date=2026-03-04";
    let (text, disposition) = csv(&app, &maker, close, "").await;
    assert_eq!(filename(&disposition), "daily-close-2026-03-04.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "row,date,ledger_amount,statement_amount,difference_amount,in_transit_amount,status,\
             statement_id,line_id,direction,amount,description"
        )
    );
    assert!(lines.next().unwrap().starts_with("close,2026-03-04,0,"));
    let unmatched = lines.next().unwrap();
    assert!(
        unmatched.starts_with("unmatched_line,2026-03-04,,,,,unmatched,"),
        "{unmatched}"
    );
    assert!(
        unmatched.ends_with(",credit,5000,'=1+2 SETORAN"),
        "{unmatched}"
    );
    let rows = sheet(&app, &maker, close).await;
    assert_eq!(rows[2][column(&rows, "amount")], Data::Float(5_000.0));

    // The cash position.
    let cash = "/api/v1/treasury/cash-series?from=2026-03-02&to=2026-03-04";
    let (text, disposition) = csv(&app, &maker, cash, "").await;
    assert_eq!(
        filename(&disposition),
        "cash-position-2026-03-02-2026-03-04.csv"
    );
    assert_eq!(
        text,
        "date,collections_amount,refunds_paid_amount,payouts_amount,other_amount,net_amount,\
         fees_amount,closing_collection_amount,buyer_float_amount\n\
         2026-03-02,125000,0,0,0,125000,0,125000,0\n\
         2026-03-03,0,0,0,0,0,0,125000,0\n\
         2026-03-04,0,0,125000,0,-125000,0,0,0\n\
         total,125000,0,125000,0,0,0,0,0\n"
    );
    let rows = sheet(&app, &maker, cash).await;
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1][column(&rows, "collections_amount")],
        Data::Float(125_000.0)
    );
    assert_eq!(rows[4][0], Data::String("total".to_owned()));

    // The payout service level: nothing breached, nothing outstanding, still a header.
    let sla = "/api/v1/treasury/payout-sla?from=2026-03-01&to=2026-03-04";
    let (text, disposition) = csv(&app, &maker, sla, "").await;
    assert_eq!(
        filename(&disposition),
        "payout-sla-2026-03-01-2026-03-04.csv"
    );
    assert_eq!(
        text,
        "section,merchant_id,payout_item_id,reference,amount,receipt_date,deadline,\
         working_days,status,held\n"
    );
    assert_eq!(sheet(&app, &maker, sla).await.len(), 1);

    // The merchant's ledger: owed at completion, paid out at approval.
    let ledger = format!("/api/v1/merchants/{shop}/ledger");
    let (text, disposition) = csv(&app, &maker, &ledger, "").await;
    assert_eq!(
        filename(&disposition),
        format!("ledger-{shop}-2026-03-04.csv")
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "occurred_at,kind,amount,balance_amount,order_id,payout_item_id,memo,transaction_id,line"
    );
    assert!(
        lines[1].starts_with("2026-03-02T02:00:00Z,order_completed,125000,125000,exp-1,"),
        "{text}"
    );
    assert!(lines[2].contains(",payout_approved,-125000,0,"), "{text}");
    assert_eq!(lines.len(), 3);
    let rows = sheet(&app, &maker, &ledger).await;
    assert_eq!(rows[2][column(&rows, "amount")], Data::Float(-125_000.0));
    // A file holds at most `limit` entries (10,000 by default); `Next-Cursor` leads on.
    let (status, headers, bytes) =
        raw(&app, &format!("{ledger}?format=csv&limit=1"), &maker.token).await;
    assert_eq!(status, 200);
    let first = String::from_utf8(bytes).unwrap();
    assert_eq!(first.lines().count(), 2, "{first}");
    assert!(first.contains(",order_completed,"), "{first}");
    let next = headers.get("next-cursor").unwrap().to_str().unwrap();
    let (status, headers, bytes) = raw(
        &app,
        &format!("{ledger}?format=csv&limit=1&cursor={next}"),
        &maker.token,
    )
    .await;
    assert_eq!(status, 200);
    let second = String::from_utf8(bytes).unwrap();
    assert_eq!(second.lines().count(), 2, "{second}");
    assert!(second.contains(",payout_approved,-125000,0,"), "{second}");
    assert!(headers.get("next-cursor").is_none());
    app.get(
        &format!("{ledger}?format=csv&limit=10001"),
        Some(&maker.token),
    )
    .await
    .expect_problem(422, "validation_failed");
    // JSON keeps its pagination (at most 200 a page).
    app.get(&format!("{ledger}?limit=201"), Some(&maker.token))
        .await
        .expect_problem(422, "validation_failed");
    let page = app
        .get(&format!("{ledger}?limit=1"), Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert!(page.body["next_cursor"].is_string());

    // A bad format is refused.
    for path in [
        "/api/v1/treasury/trial-balance?format=pdf".to_owned(),
        format!("{batch_path}?format=xml"),
        format!("{cash}&format=ods"),
        format!("{ledger}?format=txt"),
    ] {
        let reply = app.get(&path, Some(&maker.token)).await;
        assert!(reply.status.is_client_error(), "{path}: {}", reply.status);
        assert_ne!(content_type(&reply.headers), "text/csv; charset=utf-8");
    }
}

#[tokio::test]
async fn turnover_alerts_export_with_their_amounts_as_numbers() {
    let app = app_at(utc(2026, 5, 10, 3)).await;
    let (treasury, _) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", KEL, None).await;
    owed(&app, "alert-1", &m1, 600_000_000, utc(2026, 3, 31, 16)).await;
    let path = "/api/v1/treasury/turnover-alerts?year=2026";
    let (text, disposition) = csv(&app, &treasury, path, "").await;
    assert_eq!(filename(&disposition), "turnover-alerts-2026.csv");
    assert_eq!(
        text,
        format!(
            "merchant_id,year,threshold_amount,turnover_amount,crossed_at\n\
             {m1},2026,500000000,600000000,2026-03-31T16:00:00Z\n"
        )
    );
    let rows = sheet(&app, &treasury, path).await;
    assert_eq!(
        rows[1][column(&rows, "threshold_amount")],
        Data::Float(500_000_000.0)
    );
    assert_eq!(rows[1][column(&rows, "year")], Data::Float(2026.0));
    let json = app.get(path, Some(&treasury.token)).await.expect(200);
    assert_eq!(json.body[0]["threshold_amount"], 500_000_000);
}
