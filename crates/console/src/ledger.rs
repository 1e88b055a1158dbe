//! Treasury's books: the trial balance, the daily close against the bank statement, and the
//! cash position of the collection account per WIB day as a chart beside its table.

use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::NaiveDate;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::export::{self, ExportParams, Format};
use peken_kernel::period::{parse_date, wib_date};
use peken_kernel::{ApiError, AppState};
use peken_payout::reports;
use serde::Deserialize;

use crate::chart::BarChart;
use crate::page::{self, Frame, Page};
use crate::session::{posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/ledger", web::get().to(show))
        .route("/treasury/ledger/cash", web::get().to(cash_download))
        .route(
            "/treasury/ledger/daily-closes",
            web::post().to(record_close),
        );
}

const PAGE: &str = "/console/treasury/ledger";

fn date_of(value: Option<&str>, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => {
            parse_date(text).map_err(|e| ApiError::field("date", e.code(), e.to_string()))
        }
    }
}

struct KindRow {
    kind: String,
    accounts: i64,
    balance: String,
}

struct CashRow {
    date: String,
    collections: String,
    refunds: String,
    payouts: String,
    closing: String,
}

struct Close {
    date: String,
    ledger: String,
    statement: String,
    difference: String,
    status: &'static str,
    in_transit: String,
    unmatched: usize,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct Ledger {
    frame: Frame,
    balanced: bool,
    total: String,
    transactions: i64,
    kinds: Vec<KindRow>,
    close: Close,
    chart: BarChart,
    cash: Vec<CashRow>,
    from: String,
    to: String,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Query {
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    pesan: Option<String>,
}

fn close_status(status: &str) -> &'static str {
    match status {
        "balanced" => "Seimbang",
        "difference" => "Ada selisih",
        "no_statement" => "Belum ada rekening koran",
        _ => "Lainnya",
    }
}

async fn show(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let today = wib_date(state.now());
            let date = date_of(query.date.as_deref(), today)?;
            let trial = reports::trial_balance(&state.db).await?;
            let close = reports::daily_close(&state.db, date).await?;
            let (from, to) =
                reports::cash_range(query.from.as_deref(), query.to.as_deref(), today)?;
            let series = reports::cash_series(&state.db, from, to).await?;
            let max = series
                .days
                .iter()
                .map(|d| d.closing_collection_amount.get())
                .max()
                .unwrap_or(0)
                .max(1);
            let chart = BarChart::new(
                format!("Saldo rekening penampungan per hari, {from} s.d. {to}"),
                max as f64,
                series
                    .days
                    .iter()
                    .map(|d| {
                        (
                            d.date.to_string(),
                            d.closing_collection_amount.get() as f64,
                            d.closing_collection_amount.format_idr(),
                        )
                    })
                    .collect(),
            );
            let dash = || "–".to_owned();
            page::ok(&Ledger {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                balanced: trial.balanced,
                total: trial.total_amount.format_idr(),
                transactions: trial.transactions,
                kinds: trial
                    .kinds
                    .iter()
                    .map(|k| KindRow {
                        kind: k.kind.clone(),
                        accounts: k.accounts,
                        balance: k.normal_balance_amount.format_idr(),
                    })
                    .collect(),
                close: Close {
                    date: close.date.to_string(),
                    ledger: close.ledger_amount.format_idr(),
                    statement: close
                        .statement_amount
                        .map_or_else(dash, peken_kernel::Rupiah::format_idr),
                    difference: close
                        .difference_amount
                        .map_or_else(dash, peken_kernel::Rupiah::format_idr),
                    status: close_status(&close.status),
                    in_transit: close.in_transit_amount.format_idr(),
                    unmatched: close.unmatched_lines.len(),
                },
                chart,
                cash: series
                    .days
                    .iter()
                    .map(|d| CashRow {
                        date: d.date.to_string(),
                        collections: d.collections_amount.format_idr(),
                        refunds: d.refunds_paid_amount.format_idr(),
                        payouts: d.payouts_amount.format_idr(),
                        closing: d.closing_collection_amount.format_idr(),
                    })
                    .collect(),
                from: from.to_string(),
                to: to.to_string(),
                message: (query.pesan.as_deref() == Some("ditutup"))
                    .then_some("Tutup harian dicatat."),
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CashDownload {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// The chart's numbers: the API's cash position sheet, as CSV or XLSX.
async fn cash_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CashDownload>,
) -> Page {
    Page(
        async {
            signed_in::<TreasuryOnly>(&state, &req).await?;
            let (from, to) = reports::cash_range(
                query.from.as_deref(),
                query.to.as_deref(),
                wib_date(state.now()),
            )?;
            let report = reports::cash_series(&state.db, from, to).await?;
            let params = ExportParams {
                format: Some(if query.format.as_deref() == Some("xlsx") {
                    Format::Xlsx
                } else {
                    Format::Csv
                }),
                ..ExportParams::default()
            };
            Ok(export::respond(
                &req,
                &params,
                &format!("cash-position-{from}-{to}"),
                &(),
                || reports::cash_series_table(&report),
            )?)
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
}

async fn record_close(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CloseForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let date = date_of(Some(&form.date), wib_date(state.now()))?;
            reports::record_close(&state.db, date, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!(
                "{PAGE}?date={date}&pesan=ditutup"
            )))
        }
        .await,
    )
}
