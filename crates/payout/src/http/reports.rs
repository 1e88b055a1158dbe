//! Turnover, the merchant ledger, the trial balance, the daily close and the payout service
//! level.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use peken_kernel::auth::{Auth, Role, TreasuryOnly};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, Delimiter, ExportParams, Format};
use peken_kernel::http_cache;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::{Period, parse_date, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState, Validation};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{LedgerReaders, TreasuryOrAdmin, TurnoverReaders};
use crate::reports::tax_year::TaxYearStatement;
use crate::reports::{
    self, AlertView, CashSeries, CityTurnover, DailyClose, LedgerLine, MerchantTurnover, SlaReport,
    TrialBalance,
};
use peken_merchant::facts as merchants;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(merchant_turnover)
        .service(tax_year)
        .service(merchant_ledger)
        .service(city_turnover)
        .service(turnover_alerts)
        .service(trial_balance)
        .service(cash_series)
        .service(get_daily_close)
        .service(record_daily_close)
        .service(payout_sla);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First WIB month, `YYYY-MM`; default: January of `to`'s year.
    pub from: Option<String>,
    /// Last WIB month, `YYYY-MM`; default: the current month.
    pub to: Option<String>,
}

fn range(state: &AppState, q: &RangeQuery) -> ApiResult<(Period, Period)> {
    let mut v = Validation::new();
    let to = match &q.to {
        Some(t) => v.check("to", Period::parse(t)),
        None => Some(Period::of(state.now())),
    };
    let from = match &q.from {
        Some(f) => v.check("from", Period::parse(f)),
        None => to.and_then(|t| Period::new(t.year(), 1).ok()),
    };
    v.finish()?;
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(ApiError::internal(anyhow::anyhow!(
            "validated range missing"
        ))),
    }
}

/// A merchant's turnover per WIB month (gross at completion, refunds, net), year to date, UMKM
/// class and turnover alerts. `format=csv` (or `Accept: text/csv`) gives the months as CSV
/// (`period`, `gross_amount`, `refunds_amount`, `net_amount`, `completed_orders`),
/// `format=xlsx` as a workbook.
#[utoipa::path(
    tag = "turnover",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), RangeQuery, ExportParams),
    responses(
        (status = 200, description = "Turnover", content(
            (MerchantTurnover = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "No such merchant, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/turnover")]
async fn merchant_turnover(
    state: web::Data<AppState>,
    auth: Auth<TurnoverReaders>,
    id: web::Path<String>,
    query: web::Query<RangeQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    merchants::visible_to(&state.db, &auth.caller, &id).await?;
    let (from, to) = range(&state, &query)?;
    let report = reports::merchant_turnover(&state.read_db(), &id, from, to).await?;
    export::respond(
        &req,
        &params,
        &format!("turnover-{}-{from}-{to}", &*id),
        &report,
        || reports::merchant_turnover_table(&report),
    )
}

/// How the tax-year statement is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatementFormat {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// `json` (the default), `csv`, `xlsx` or `pdf`. Without it, `Accept: application/pdf`,
    /// `text/csv` or the XLSX media type choose the same.
    #[param(inline)]
    pub format: Option<StatementFormat>,
    /// CSV only: `comma` (the default) or `semicolon` (Indonesian Excel; implies `bom`).
    #[param(inline)]
    pub delimiter: Option<Delimiter>,
    /// CSV only: start with a UTF-8 byte order mark.
    pub bom: Option<bool>,
}

/// A merchant's tax-year statement (PP 55/2022, PP 7/2021)
///
/// One WIB calendar year of the turnover report: per month the gross (orders completed), the
/// refunds, the turnover (gross − refunds), the running total, the taxable part and the final
/// tax at 0.5% (half up per month); the month the running total reached Rp500 million, the
/// Rp4.8 billion ceiling, and the UMKM class by the year's sales. An individual (toko
/// kelontong, UMKM) is taxed only on what lies above Rp500 million a year; a body (cooperative,
/// Rumah Padat Karya) on all of it.
///
/// For the shop's owner and staff (their own shop; another is 404), treasury and admins.
/// `format=pdf` (or `Accept: application/pdf`) answers one A4 page in Indonesian with the shop's
/// name, NIB and NPWP (never a NIK), the table, the totals and the date it was made;
/// `format=csv` the months and a last row `total` (`period`, `gross_amount`,
/// `refunds_amount`, `turnover_amount`, `running_total_amount`, `taxable_amount`,
/// `tax_amount`); `format=xlsx` the same as a workbook.
#[utoipa::path(
    tag = "turnover",
    operation_id = "get_merchant_tax_year",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("year" = i32, Path, description = "The tax year (a WIB calendar year), 2000 to 2999"),
        StatementQuery,
    ),
    responses(
        (status = 200, description = "The statement, or its sheet or PDF when asked", content(
            (TaxYearStatement = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (inline(http_cache::Binary) = "application/pdf"),
        )),
        (status = 404, description = "No such merchant, or not yours (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A year outside 2000 to 2999 (`invalid_period`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/reports/tax-year/{year}")]
async fn tax_year(
    state: web::Data<AppState>,
    auth: Auth<TurnoverReaders>,
    path: web::Path<(String, i32)>,
    query: web::Query<StatementQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (id, year) = path.into_inner();
    if auth.caller.role == Role::Merchant && !auth.caller.is_merchant_of(&id) {
        return Err(ApiError::not_found("merchant"));
    }
    let statement = reports::tax_year::tax_year(&state.read_db(), &id, year, state.now())
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let wants_pdf = query.format == Some(StatementFormat::Pdf)
        || (query.format.is_none()
            && req
                .headers()
                .get(actix_web::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("application/pdf")));
    let filename = format!("pajak-{year}-{id}");
    if wants_pdf {
        let pdf = web::block(move || reports::tax_year::render(&statement))
            .await
            .map_err(ApiError::internal)??;
        return Ok(export::attachment(
            "application/pdf",
            &format!("{filename}.pdf"),
            pdf,
        ));
    }
    let params = ExportParams {
        format: match query.format {
            Some(StatementFormat::Json) => Some(Format::Json),
            Some(StatementFormat::Csv) => Some(Format::Csv),
            Some(StatementFormat::Xlsx) => Some(Format::Xlsx),
            Some(StatementFormat::Pdf) | None => None,
        },
        delimiter: query.delimiter,
        bom: query.bom,
    };
    export::respond(&req, &params, &filename, &statement, || {
        reports::tax_year::table(&statement)
    })
}

/// The most entries of a merchant's ledger one CSV or XLSX export holds.
pub const MAX_LEDGER_EXPORT: u64 = 10_000;

/// A merchant's ledger: every change of what it is owed, oldest first, with the balance after
/// each (positive: owed to the merchant).
///
/// `format=csv` or `format=xlsx` gives the entries after `cursor` (from the first without it),
/// `limit` of them (for a file 1 to 10,000, default 10,000; 422 `invalid_limit` beyond), as
/// `occurred_at`, `kind`, `amount`, `balance_amount`, `order_id`, `payout_item_id`, `memo`,
/// `transaction_id`, `line`; when more follow, the `Next-Cursor` header holds the `cursor` of
/// the next file. A file never holds more, however long the ledger.
#[utoipa::path(
    tag = "turnover",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), PageParams, ExportParams),
    responses(
        (status = 200, description = "Entries, or a sheet of at most 10,000 of them when asked", content(
            (Page<LedgerLine> = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ), headers(("Next-Cursor" = String, description = "CSV and XLSX only, when more entries follow: the `cursor` of the next file"))),
        (status = 404, description = "No such merchant, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid cursor, or a limit outside 1 to 200 (JSON) or 1 to 10,000 (a file) (`invalid_limit`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/ledger")]
async fn merchant_ledger(
    state: web::Data<AppState>,
    auth: Auth<LedgerReaders>,
    id: web::Path<String>,
    page: web::Query<PageParams>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    merchants::visible_to(&state.db, &auth.caller, &id).await?;
    let after: Option<(String, i32)> = page.cursor()?;
    let format = params.format(&req);
    let limit = match (format, page.limit) {
        (Format::Json, _) => page.limit()?,
        (Format::Csv | Format::Xlsx, None) => MAX_LEDGER_EXPORT,
        (Format::Csv | Format::Xlsx, Some(n))
            if (1..=MAX_LEDGER_EXPORT).contains(&u64::from(n)) =>
        {
            u64::from(n)
        }
        (Format::Csv | Format::Xlsx, Some(_)) => {
            return Err(ApiError::field(
                "limit",
                "invalid_limit",
                format!("an export holds 1 to {MAX_LEDGER_EXPORT} entries"),
            ));
        }
    };
    let rows = reports::merchant_ledger(&state.read_db(), &id, after, limit).await?;
    let page = Page::from_rows(rows, limit, |r| (r.transaction_id.clone(), r.line), |r| r);
    if format == Format::Json {
        return Ok(HttpResponse::Ok().json(page));
    }
    let mut response = export::respond(
        &req,
        &params,
        &format!("ledger-{}-{}", &*id, wib_date(state.now())),
        &page,
        || reports::ledger_table(&page.items),
    )?;
    if let Some(next) = page
        .next_cursor
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response
            .headers_mut()
            .insert(HeaderName::from_static("next-cursor"), next);
    }
    Ok(response)
}

/// The city's turnover by kecamatan and merchant kind. `format=csv` (or `Accept: text/csv`)
/// gives CSV (`kecamatan_code`, `kecamatan_name`, `kind`, `merchants`, `gross_amount`,
/// `refunds_amount`, `net_amount`, `completed_orders`), `format=xlsx` a workbook.
#[utoipa::path(
    tag = "turnover",
    security(("bearer" = [])),
    params(RangeQuery, ExportParams),
    responses(
        (status = 200, description = "Report", content(
            (CityTurnover = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/turnover")]
async fn city_turnover(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOrAdmin>,
    query: web::Query<RangeQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (from, to) = range(&state, &query)?;
    let report = reports::city_turnover(&state.read_db(), &state.regions, from, to).await?;
    export::respond(
        &req,
        &params,
        &format!("turnover-{from}-{to}"),
        &report,
        || reports::city_turnover_table(&report),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// WIB year, e.g. 2026.
    pub year: Option<i32>,
    pub merchant_id: Option<String>,
}

/// Merchants whose cumulative yearly turnover crossed Rp500 million or Rp4.8 billion (newest
/// first); each threshold is recorded once per merchant and year. `format=csv` gives
/// `merchant_id`, `year`, `threshold_amount`, `turnover_amount`, `crossed_at`; `format=xlsx` a
/// workbook.
#[utoipa::path(
    tag = "turnover",
    security(("bearer" = [])),
    params(AlertQuery, ExportParams),
    responses((status = 200, description = "Alerts, or their sheet when asked", content(
        (Vec<AlertView> = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )))
)]
#[get("/treasury/turnover-alerts")]
async fn turnover_alerts(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOrAdmin>,
    query: web::Query<AlertQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let alerts: Vec<AlertView> = peken_ledger::read::turnover_alerts(
        &state.read_db(),
        query.merchant_id.as_deref(),
        query.year,
    )
    .await?
    .into_iter()
    .map(AlertView::from)
    .collect();
    let filename = match query.year {
        Some(year) => format!("turnover-alerts-{year}"),
        None => format!("turnover-alerts-{}", wib_date(state.now())),
    };
    export::respond(&req, &params, &filename, &alerts, || {
        reports::alerts_table(&alerts)
    })
}

/// Every account's balance; the sum of all balances is zero. `format=csv` gives the accounts
/// (`account`, `kind`, `merchant_id`, `normal_side`, `balance_amount`,
/// `normal_balance_amount`), `format=xlsx` a workbook; the file is named after today (WIB).
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(ExportParams),
    responses((status = 200, description = "Trial balance, or its sheet when asked", content(
        (TrialBalance = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )))
)]
#[get("/treasury/trial-balance")]
async fn trial_balance(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let report = reports::trial_balance(&state.read_db()).await?;
    export::respond(
        &req,
        &params,
        &format!("trial-balance-{}", wib_date(state.now())),
        &report,
        || reports::trial_balance_table(&report),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CashQuery {
    /// First WIB date, `YYYY-MM-DD`; default: the first of `to`'s month.
    pub from: Option<String>,
    /// Last WIB date, `YYYY-MM-DD`; default: today. At most 366 days from `from`.
    pub to: Option<String>,
}

/// The cash position: one row per WIB day from `from` to `to` (every day, also days without
/// movement) with what the city's collection account received (`collections_amount`: payments
/// confirmed, including money later owed back), paid back to buyers (`refunds_paid_amount`) and
/// paid out to merchants as seen on the bank statement (`payouts_amount`), any other change
/// (`other_amount`: reversals, adjustments), the day's net change, the platform fee recognised
/// (`fees_amount`: fee at completion less fee returned by refunds of completed orders), the
/// account's balance at the end of the day (`closing_collection_amount`: the previous day's
/// plus `net_amount`) and the float held for buyers at the end of the day
/// (`buyer_float_amount`: `buyer_funds_held` plus `refunds_payable`, on their normal side), with
/// the opening balances and the totals of the range. From the ledger alone.
///
/// `format=csv` gives the days and a last row `total` (`date`, `collections_amount`,
/// `refunds_paid_amount`, `payouts_amount`, `other_amount`, `net_amount`, `fees_amount`,
/// `closing_collection_amount`, `buyer_float_amount`; on the total row the balances are those
/// at the end of `to`), `format=xlsx` the same as a workbook.
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(CashQuery, ExportParams),
    responses(
        (status = 200, description = "The cash position, or its sheet when asked", content(
            (CashSeries = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "An invalid date, `from` after `to` (`invalid_range`) or more than 366 days (`range_too_long`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/cash-series")]
async fn cash_series(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<CashQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (from, to) = reports::cash_range(
        query.from.as_deref(),
        query.to.as_deref(),
        wib_date(state.now()),
    )?;
    let report = reports::cash_series(&state.read_db(), from, to).await?;
    export::respond(
        &req,
        &params,
        &format!("cash-position-{from}-{to}"),
        &report,
        || reports::cash_series_table(&report),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// WIB date `YYYY-MM-DD`; default today.
    pub date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    /// WIB date `YYYY-MM-DD`.
    pub date: String,
}

fn date_field(field: &str, value: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    match value {
        None => Ok(default),
        Some(text) => parse_date(text).map_err(|e| ApiError::field(field, e.code(), e.to_string())),
    }
}

/// The daily close as it stands: the ledger's collection account at the end of the date
/// against the closing balance of the bank statement for that date, with the difference and the
/// unmatched lines that may explain it.
///
/// `format=csv` gives a first row `close` (`date`, `ledger_amount`, `statement_amount`,
/// `difference_amount`, `in_transit_amount`, `status`, `statement_id`) and a row
/// `unmatched_line` per unmatched line (`date` its value date, `status`, `statement_id`,
/// `line_id`, `direction`, `amount`, `description`), under a header `row`, …, `description`;
/// `format=xlsx` the same as a workbook.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(DateQuery, ExportParams),
    responses(
        (status = 200, description = "Close, or its sheet when asked", content(
            (DailyClose = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Invalid date", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/daily-close")]
async fn get_daily_close(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<DateQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let date = date_field("date", query.date.as_deref(), wib_date(state.now()))?;
    let close = reports::daily_close(&state.read_db(), date).await?;
    export::respond(
        &req,
        &params,
        &format!("daily-close-{date}"),
        &close,
        || reports::daily_close_table(&close),
    )
}

/// Records the daily close of a date (as it stands now) in the close history.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    request_body = CloseRequest,
    responses(
        (status = 201, description = "Recorded", body = DailyClose),
        (status = 422, description = "Invalid date", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/daily-closes")]
async fn record_daily_close(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    body: web::Json<CloseRequest>,
) -> ApiResult<HttpResponse> {
    let date = date_field("date", Some(&body.date), wib_date(state.now()))?;
    let close = reports::record_close(&state.db, date, &auth, state.now()).await?;
    Ok(HttpResponse::Created().json(close))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlaQuery {
    /// First receipt date (WIB, `YYYY-MM-DD`); default 30 days ago.
    pub from: Option<String>,
    /// Last receipt date; default today.
    pub to: Option<String>,
}

/// The payout service level (working days from receipt to payout approval, a city policy):
/// breached items among receipts in the range, and money owed now past its deadline.
///
/// `format=csv` gives one row per breach (`section` `breach`) and per amount outstanding
/// (`outstanding`): `section`, `merchant_id`, `payout_item_id`, `reference`, `amount`,
/// `receipt_date`, `deadline`, `working_days` (taken, or waiting so far), `status` (the item's,
/// or `draft_batch`/`unbatched`), `held`; `format=xlsx` the same as a workbook.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(SlaQuery, ExportParams),
    responses(
        (status = 200, description = "Report, or its sheet when asked", content(
            (SlaReport = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Invalid dates", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/payout-sla")]
async fn payout_sla(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOrAdmin>,
    query: web::Query<SlaQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let now = state.now();
    let today = wib_date(now);
    let to = date_field("to", query.to.as_deref(), today)?;
    let from = date_field("from", query.from.as_deref(), to - chrono::Days::new(30))?;
    let policies = state.policies.get(&state.db).await?;
    let report = reports::sla(
        &state.read_db(),
        &state.calendar,
        policies.payout_sla_working_days,
        from,
        to,
        now,
    )
    .await?;
    export::respond(
        &req,
        &params,
        &format!("payout-sla-{from}-{to}"),
        &report,
        || reports::sla_table(&report),
    )
}
