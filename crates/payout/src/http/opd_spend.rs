//! The report of OPD spend on micro and small businesses and cooperatives.

use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::auth::{Auth, Role};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams, Format, XLSX};
use peken_kernel::http_cache;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Validation, role_set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::reports::opd_spend::{self, OpdSpendReport, SpendScope};

role_set!(pub OpdSpendReaders = [Admin, Camat, OpdAdmin, OpdStaff]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(programme_opd_spend);
}

/// The rows of a CSV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpendRows {
    /// One row per OPD and month (the default).
    #[default]
    Month,
    /// One row per OPD, month and kecamatan of the shops.
    Kecamatan,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpdSpendQuery {
    /// First WIB month, `YYYY-MM`; default: January of this year.
    pub from: Option<String>,
    /// Last WIB month, `YYYY-MM`; default: this month. At most 120 months.
    pub to: Option<String>,
    /// One OPD (admin and camat); an OPD's own people always see their OPD only.
    pub opd_id: Option<String>,
    /// CSV only: `month` (default) or `kecamatan`. XLSX holds both as sheets.
    #[param(inline)]
    pub rows: Option<SpendRows>,
}

/// OPD spend on micro and small businesses and cooperatives
///
/// Per OPD and WIB month of payment: orders, spend (the orders' totals before tax withholding,
/// less refunds) and how much of it went to micro businesses, small businesses (by the shop's
/// annual sales in that year, PP 7/2021), cooperatives and others, the qualifying share in
/// basis points against the city's target (`opd_small_business_target_bps`), and the same by
/// kecamatan of the shops. Every OPD is listed, with every month. The cooperatives office sees
/// every OPD; an OPD admin or OPD staff its own OPD; a camat the spend at its kecamatan's shops.
/// `format=csv`: one row per OPD and month (`rows=kecamatan`: per kecamatan too); `xlsx`: a
/// sheet of each.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    params(OpdSpendQuery, ExportParams),
    responses(
        (status = 200, description = "The OPD spend", content(
            (OpdSpendReport = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "No such OPD (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month (`invalid_period`), `from` after `to` (`invalid_range`) or more than 120 months (`range_too_long`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programme/reports/opd-spend")]
async fn programme_opd_spend(
    state: web::Data<AppState>,
    auth: Auth<OpdSpendReaders>,
    query: web::Query<OpdSpendQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let now = Period::of(state.now());
    let mut v = Validation::new();
    let from = match &query.from {
        Some(f) => v.check("from", Period::parse(f)),
        None => Period::new(now.year(), 1).ok(),
    };
    let to = match &query.to {
        Some(t) => v.check("to", Period::parse(t)),
        None => Some(now),
    };
    v.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated range missing"
        )));
    };
    let caller = &auth.caller;
    let mut scope = SpendScope::default();
    match caller.role {
        Role::OpdAdmin | Role::OpdStaff => {
            let own = caller.opd_id.clone().ok_or_else(ApiError::forbidden)?;
            if query.opd_id.as_ref().is_some_and(|id| *id != own) {
                return Err(ApiError::not_found("opd"));
            }
            scope.opd_id = Some(own);
        }
        Role::Camat => {
            scope.kecamatan_code = Some(
                peken_identity::people::camat_kecamatan(&state.db, &caller.user_id)
                    .await?
                    .ok_or_else(ApiError::forbidden)?,
            );
            scope.opd_id.clone_from(&query.opd_id);
        }
        _ => scope.opd_id.clone_from(&query.opd_id),
    }
    if let Some(id) = &scope.opd_id
        && !peken_identity::people::opds(&state.db)
            .await?
            .iter()
            .any(|o| o.id == *id)
    {
        return Err(ApiError::not_found("opd"));
    }
    let target = state
        .policies
        .get(&state.db)
        .await?
        .opd_small_business_target_bps;
    let report =
        opd_spend::report(&state.read_db(), &state.regions, &scope, from, to, target).await?;
    let name = format!("belanja-opd-{from}-{to}");
    if params.format(&req) == Format::Xlsx {
        let body = export::xlsx(&[
            opd_spend::monthly_table(&report),
            opd_spend::kecamatan_table(&report),
        ])?;
        return Ok(export::attachment(XLSX, &format!("{name}.xlsx"), body));
    }
    let rows = query.rows.unwrap_or_default();
    export::respond(&req, &params, &name, &report, || match rows {
        SpendRows::Month => opd_spend::monthly_table(&report),
        SpendRows::Kecamatan => opd_spend::kecamatan_table(&report),
    })
}
