//! The payout service level: items approved within the city's working days of the buyer's
//! receipt, those late, and money still owed past its deadline, as a chart beside its table.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::NaiveDate;
use peken_kernel::export::{self, ExportParams, Format};
use peken_kernel::period::{parse_date, wib_date};
use peken_kernel::{ApiError, AppState, role_set};
use peken_payout::reports::{self, SlaReport};
use serde::Deserialize;

use crate::chart::BarChart;
use crate::page::{self, Frame, Page, wib};
use crate::session::signed_in;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/sla", web::get().to(show))
        .route("/treasury/sla/export", web::get().to(download));
}

const PAGE: &str = "/console/treasury/sla";

// The roles of the API's `GET /treasury/payout-sla`.
role_set!(pub TreasuryOrAdmin = [Treasury, Admin]);

#[derive(Deserialize)]
struct Query {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

fn date(field: &str, value: Option<&str>, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => parse_date(text).map_err(|e| ApiError::field(field, e.code(), e.to_string())),
    }
}

/// The report as the API's `GET /treasury/payout-sla` makes it: the last 30 days by default,
/// the service level from the city's policies.
async fn report(state: &AppState, query: &Query) -> Result<SlaReport, ApiError> {
    let now = state.now();
    let to = date("to", query.to.as_deref(), wib_date(now))?;
    let from = date("from", query.from.as_deref(), to - chrono::Days::new(30))?;
    let policies = state.policies.get(&state.db).await?;
    reports::sla(
        &state.db,
        &state.calendar,
        policies.payout_sla_working_days,
        from,
        to,
        now,
    )
    .await
}

struct Late {
    shop: String,
    amount: String,
    since: String,
    deadline: String,
    days: i64,
    held: bool,
}

#[derive(Template)]
#[template(path = "sla.html")]
struct Sla {
    frame: Frame,
    from: String,
    to: String,
    days: u32,
    on_time: i64,
    late: i64,
    outstanding: Vec<Late>,
    chart: BarChart,
}

async fn show(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOrAdmin>(&state, &req).await?;
            let found = report(&state, &query).await?;
            let late = found.breaches.len() as i64;
            let on_time = (found.items_checked - late).max(0);
            let mut ids: Vec<String> = found
                .outstanding
                .iter()
                .map(|o| o.merchant_id.clone())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let shops: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .map(|(id, f)| (id, f.name))
                .collect();
            let waiting = found.outstanding.len() as i64;
            let chart = BarChart::new(
                format!(
                    "Tingkat layanan pembayaran, {} s.d. {}",
                    found.from, found.to
                ),
                on_time.max(late).max(waiting).max(1) as f64,
                vec![
                    (
                        "Tepat waktu".to_owned(),
                        on_time as f64,
                        on_time.to_string(),
                    ),
                    ("Terlambat".to_owned(), late as f64, late.to_string()),
                    (
                        "Lewat tenggat, belum dibayar".to_owned(),
                        waiting as f64,
                        waiting.to_string(),
                    ),
                ],
            );
            page::ok(&Sla {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                from: found.from.to_string(),
                to: found.to.to_string(),
                days: found.sla_working_days,
                on_time,
                late,
                outstanding: found
                    .outstanding
                    .iter()
                    .map(|o| Late {
                        shop: shops.get(&o.merchant_id).cloned().unwrap_or_default(),
                        amount: o.amount.format_idr(),
                        since: wib(o.oldest_receipt_at),
                        deadline: o.deadline.to_string(),
                        days: o.working_days_waiting,
                        held: o.held,
                    })
                    .collect(),
                chart,
            })
        }
        .await,
    )
}

/// The API's service-level sheet as CSV or XLSX.
async fn download(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            signed_in::<TreasuryOrAdmin>(&state, &req).await?;
            let found = report(&state, &query).await?;
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
                &format!("payout-sla-{}-{}", found.from, found.to),
                &(),
                || reports::sla_table(&found),
            )?)
        }
        .await,
    )
}
