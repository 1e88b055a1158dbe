//! The programme's reports: for the cooperatives office (admin) over the whole city, for a
//! camat over its kecamatan only.

use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::auth::{Auth, Caller, Role};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams, XLSX};
use peken_kernel::http_cache;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Validation};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::ProgrammeReaders;
use crate::reports::programme::{
    self, BuyerSeries, ClassChanges, DormantShops, MerchantClasses, ProgrammeSeries, Scope,
};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(programme_dormant_shops)
        .service(programme_monthly)
        .service(programme_buyers)
        .service(programme_class_changes)
        .service(programme_lkpj)
        .service(programme_merchant_classes);
}

/// The scope of the caller: the whole city for an admin, its kecamatan for a camat.
async fn scope_of(state: &AppState, caller: &Caller) -> ApiResult<Scope> {
    match caller.role {
        Role::Camat => peken_identity::people::camat_kecamatan(&state.db, &caller.user_id)
            .await?
            .map(Scope::kecamatan)
            .ok_or_else(ApiError::forbidden),
        _ => Ok(Scope::city()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DormantQuery {
    /// Months without a sale, 1 to 120; default 3. A sale on or after today (WIB) less this
    /// many months counts.
    pub months: Option<u32>,
}

/// Shops without a sale in the last N months
///
/// Active shops (verified, not suspended) without an order paid since today (WIB) less
/// `months` months, counted by kecamatan and kind, and listed (name, kelurahan, registered and
/// verified dates, last sale or none). A camat sees its kecamatan only. `format=csv|xlsx`: the
/// shops listed (`merchant_id`, `name`, `kind`, `kecamatan_code`, `kelurahan_code`,
/// `kelurahan_name`, `registered_on`, `verified_on`, `last_sale_on`).
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(DormantQuery, ExportParams),
    responses(
        (status = 200, description = "The shops without a sale", content(
            (DormantShops = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "`months` outside 1 to 120 (`invalid_months`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/dormant-shops")]
async fn programme_dormant_shops(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    query: web::Query<DormantQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let scope = scope_of(&state, &auth.caller).await?;
    let months = query.months.unwrap_or(3);
    let report = programme::dormant_shops(
        &state.read_db(),
        &state.regions,
        &scope,
        months,
        state.now(),
    )
    .await?;
    export::respond(
        &req,
        &params,
        &format!("toko-tanpa-penjualan-{months}-bulan-{}", report.since),
        &report,
        || programme::dormant_table(&report),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// First WIB month, `YYYY-MM`; default: the launch, 2021-10.
    pub from: Option<String>,
    /// Last WIB month, `YYYY-MM`; default: the current month. No longest range.
    pub to: Option<String>,
}

fn series_range(state: &AppState, q: &SeriesQuery) -> ApiResult<(Period, Period)> {
    let mut v = Validation::new();
    let from = match &q.from {
        Some(f) => v.check("from", Period::parse(f)),
        None => Some(programme::launch()),
    };
    let to = match &q.to {
        Some(t) => v.check("to", Period::parse(t)),
        None => Some(Period::of(state.now())),
    };
    v.finish()?;
    match (from, to) {
        (Some(from), Some(to)) => {
            programme::check_range(from, to)?;
            Ok((from, to))
        }
        _ => Err(ApiError::internal(anyhow::anyhow!(
            "validated range missing"
        ))),
    }
}

/// Turnover and orders per month since launch
///
/// Every WIB month from `from` (default the launch, October 2021) to `to` (default this
/// month), quiet months included: the journal's turnover (gross of orders completed, refunds,
/// net, orders completed) and the orders paid in the month. A camat sees its kecamatan's shops
/// only. `format=csv|xlsx`: the months and a last row `total` (`period`, `gross_amount`,
/// `refunds_amount`, `net_amount`, `completed_orders`, `paid_orders`).
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(SeriesQuery, ExportParams),
    responses(
        (status = 200, description = "The monthly series", content(
            (ProgrammeSeries = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "A malformed month (`invalid_period`) or `from` after `to` (`invalid_range`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/monthly")]
async fn programme_monthly(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    query: web::Query<SeriesQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let scope = scope_of(&state, &auth.caller).await?;
    let (from, to) = series_range(&state, &query)?;
    let report = programme::monthly_series(&state.read_db(), &scope, from, to).await?;
    export::respond(
        &req,
        &params,
        &format!("omzet-program-{from}-{to}"),
        &report,
        || programme::series_table(&report),
    )
}

/// Buyers per month since launch
///
/// Every WIB month from `from` (default October 2021) to `to` (default this month), quiet
/// months included: the distinct buyers with an order paid in the month (the month they paid
/// in), civil servants (ASN) and residents apart. A camat counts the buyers of its
/// kecamatan's shops. `format=csv|xlsx`: `period`, `buyers`, `asn_buyers`, `public_buyers`.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(SeriesQuery, ExportParams),
    responses(
        (status = 200, description = "The buyers per month", content(
            (BuyerSeries = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "A malformed month (`invalid_period`) or `from` after `to` (`invalid_range`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/buyers")]
async fn programme_buyers(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    query: web::Query<SeriesQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let scope = scope_of(&state, &auth.caller).await?;
    let (from, to) = series_range(&state, &query)?;
    let report = programme::buyer_series(&state.read_db(), &scope, from, to).await?;
    export::respond(
        &req,
        &params,
        &format!("pembeli-program-{from}-{to}"),
        &report,
        || programme::buyers_table(&report),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClassChangeQuery {
    /// The earlier WIB year; default: the year before `to_year`.
    pub from_year: Option<i32>,
    /// The later WIB year; default: last year.
    pub to_year: Option<i32>,
}

fn check_year(v: &mut Validation, field: &'static str, year: i32) {
    v.require(
        (2000..=2999).contains(&year),
        field,
        "invalid_period",
        "a year from 2000 to 2999",
    );
}

/// Shops that changed UMKM class
///
/// The shops whose class by annual sales (PP 7/2021 art. 35: micro up to Rp2 billion, small up
/// to Rp15 billion, medium up to Rp50 billion, else large; a year's sales are its turnover in
/// the journal) differs between `from_year` and `to_year`, `up` or `down`. A camat sees its
/// kecamatan only. `format=csv|xlsx`: one row per shop.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(ClassChangeQuery, ExportParams),
    responses(
        (status = 200, description = "The shops that changed class", content(
            (ClassChanges = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "A year outside 2000 to 2999 (`invalid_period`) or `from_year` not before `to_year` (`invalid_range`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/class-changes")]
async fn programme_class_changes(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    query: web::Query<ClassChangeQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let scope = scope_of(&state, &auth.caller).await?;
    let to_year = query
        .to_year
        .unwrap_or_else(|| Period::of(state.now()).year() - 1);
    let from_year = query.from_year.unwrap_or(to_year.saturating_sub(1));
    let mut v = Validation::new();
    check_year(&mut v, "from_year", from_year);
    check_year(&mut v, "to_year", to_year);
    v.finish()?;
    let report = programme::class_changes(&state.read_db(), &scope, from_year, to_year).await?;
    export::respond(
        &req,
        &params,
        &format!("perubahan-kelas-{from_year}-{to_year}"),
        &report,
        || programme::class_changes_table(&report),
    )
}

/// The year's programme totals for the LKPJ (XLSX)
///
/// One workbook for one WIB year, for the annual accountability report to the DPRD: sheets
/// `Total` (shops registered by the year's end, active in the year, never sold by its end;
/// buyers, ASN and public; orders paid and completed; gross, refunds and net turnover), `Per
/// kecamatan`, `Per jenis` (by kind), `Per bulan` (the monthly series) and `Perubahan kelas`
/// (class changes from the year before). Amounts are numbers. A camat gets its kecamatan's.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "The WIB year, 2000 to 2999")),
    responses(
        (status = 200, description = "The workbook", content(
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "A year outside 2000 to 2999 (`invalid_period`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/lkpj/{year}")]
async fn programme_lkpj(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    year: web::Path<i32>,
) -> ApiResult<HttpResponse> {
    let scope = scope_of(&state, &auth.caller).await?;
    let year = year.into_inner();
    let mut v = Validation::new();
    check_year(&mut v, "year", year);
    v.finish()?;
    let tables = programme::lkpj_tables(&state.read_db(), &state.regions, &scope, year).await?;
    let body = export::xlsx(&tables)?;
    let name = match &scope.kecamatan_code {
        Some(code) => format!("lkpj-{year}-{code}.xlsx"),
        None => format!("lkpj-{year}.xlsx"),
    };
    Ok(export::attachment(XLSX, &name, body))
}

/// A shop's UMKM class per year (naik kelas)
///
/// The shop's class by annual sales (PP 7/2021 art. 35) for every WIB year from the launch
/// (2021) to this year, from the journal's yearly turnover. A camat reads only the shops of its
/// kecamatan; another is 404.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The classes per year", body = MerchantClasses),
        (status = 404, description = "No such shop, or not in the camat's kecamatan", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/merchants/{id}/classes")]
async fn programme_merchant_classes(
    state: web::Data<AppState>,
    auth: Auth<ProgrammeReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<MerchantClasses>> {
    let scope = scope_of(&state, &auth.caller).await?;
    let shop = peken_merchant::programme::shop(&state.db, &id)
        .await?
        .filter(|s| {
            scope
                .kecamatan_code
                .as_deref()
                .is_none_or(|k| k == s.kecamatan_code)
        })
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    Ok(web::Json(
        programme::merchant_classes(&state.read_db(), &shop, state.now()).await?,
    ))
}
