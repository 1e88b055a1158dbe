//! The ASN mandate: one's own standing, the policies, and the compliance report.

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use peken_kernel::auth::{AdminOnly, AsnOnly, Auth};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams, Format, Table};
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah, role_set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::mandate::{self, ComplianceReport, MandatePolicy, ReportFilter};

role_set!(pub ReportReaders = [Admin, OpdAdmin]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me)
        .service(put_policy)
        .service(list_policies)
        .service(compliance);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// A WIB month, `YYYY-MM`; the current month when absent.
    pub period: Option<String>,
}

fn period_of(state: &AppState, raw: Option<&str>) -> ApiResult<Period> {
    mandate::period_param(state, raw)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MandateMe {
    pub period: Period,
    pub required_amount: Rupiah,
    pub spent_amount: Rupiah,
    pub remaining_amount: Rupiah,
    pub compliant: bool,
    /// False when no minimum is in force for the caller's position class this month.
    pub policy_found: bool,
}

/// The caller's standing for a month: what is required, spent and still to spend.
#[utoipa::path(
    tag = "mandate",
    operation_id = "my_mandate",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, description = "The caller's mandate for the month", body = MandateMe), (status = 422, description = "Bad period", body = Problem, content_type = "application/problem+json"))
)]
#[get("/mandate/me")]
async fn me(
    state: web::Data<AppState>,
    auth: Auth<AsnOnly>,
    query: web::Query<PeriodQuery>,
) -> ApiResult<web::Json<MandateMe>> {
    let period = period_of(&state, query.period.as_deref())?;
    let filter = ReportFilter {
        user_id: Some(auth.user_id.clone()),
        ..ReportFilter::default()
    };
    let mine = mandate::standings(&state, &state.db, period, &filter)
        .await?
        .into_iter()
        .next();
    Ok(web::Json(match mine {
        Some(s) => MandateMe {
            period,
            required_amount: s.required_amount,
            spent_amount: s.spent_amount,
            remaining_amount: s.remaining_amount,
            compliant: s.compliant,
            policy_found: s.policy_found,
        },
        // Not yet on the roster that month.
        None => MandateMe {
            period,
            required_amount: Rupiah::ZERO,
            spent_amount: Rupiah::ZERO,
            remaining_amount: Rupiah::ZERO,
            compliant: true,
            policy_found: false,
        },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyRequest {
    pub position_class: String,
    /// Whole rupiah, zero or more.
    pub min_amount: i64,
    /// The first WIB month it applies to, `YYYY-MM`.
    pub effective_from: String,
}

/// Set the monthly minimum of a position class from a month on (replacing one set for the same
/// month).
#[utoipa::path(
    tag = "mandate",
    security(("bearer" = [])),
    request_body = PolicyRequest,
    responses((status = 200, description = "The policy as stored", body = MandatePolicy), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"))
)]
#[put("/admin/mandate-policies")]
async fn put_policy(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    body: web::Json<PolicyRequest>,
) -> ApiResult<web::Json<MandatePolicy>> {
    let policy = mandate::policy_from(&body.position_class, body.min_amount, &body.effective_from)?;
    mandate::set_policy(&state, &policy, &auth).await?;
    Ok(web::Json(policy))
}

/// Every minimum with the month it takes effect.
#[utoipa::path(
    tag = "mandate",
    security(("bearer" = [])),
    responses((status = 200, description = "Every mandate policy", body = Vec<MandatePolicy>))
)]
#[get("/admin/mandate-policies")]
async fn list_policies(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
) -> ApiResult<web::Json<Vec<MandatePolicy>>> {
    Ok(web::Json(mandate::list_policies(&state.db).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// A WIB month, `YYYY-MM`; the current month when absent.
    pub period: Option<String>,
    /// Only this OPD (an OPD admin sees only its own).
    pub opd_id: Option<String>,
    /// Only ASN living (or, living outside Surabaya, working) in this kecamatan.
    pub kecamatan: Option<String>,
}

/// Who met the month's minimum: totals, per OPD, per kecamatan and per ASN. `format=csv` (or
/// `Accept: text/csv`) gives the per-ASN rows as CSV, `format=xlsx` as a workbook. JSON and CSV
/// are sent as they are read (chunked, no length first): the JSON's `asns` come before the
/// totals they add up to.
#[utoipa::path(
    tag = "mandate",
    security(("bearer" = [])),
    params(ComplianceQuery, ExportParams),
    responses(
        (status = 200, description = "The report, or as CSV or XLSX its per-ASN rows (period, nip, name, opd_code, kecamatan_code, position_class, required_amount, spent_amount, remaining_amount, compliant, policy_found)", content(
            (ComplianceReport = "application/json"),
            (String = "text/csv"),
            (inline(peken_kernel::http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "Another OPD (for an OPD admin)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/mandate-compliance")]
async fn compliance(
    state: web::Data<AppState>,
    auth: Auth<ReportReaders>,
    req: HttpRequest,
    query: web::Query<ComplianceQuery>,
    params: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let period = period_of(&state, query.period.as_deref())?;
    let filter = mandate::filter_for(
        &state,
        &auth,
        query.opd_id.as_deref(),
        query.kecamatan.as_deref(),
    )?;
    let name = format!("mandate-compliance-{period}");
    let format = params.format(&req);
    let mut run = mandate::ReportRun::open(&state, period, &filter).await?;
    match format {
        // A workbook is written whole; its rows are kept only as cells.
        Format::Xlsx => {
            let mut table = Table::new(format!("Kepatuhan {period}"), &mandate::COLUMNS);
            while let Some(s) = run.next().await? {
                table.push(run.row(&s));
            }
            Ok(export::attachment(
                export::XLSX,
                &format!("{name}.xlsx"),
                table.to_xlsx()?,
            ))
        }
        Format::Csv => {
            let mut csv = params.csv_writer();
            Ok(export::streamed(
                "text/csv; charset=utf-8",
                Some(&format!("{name}.csv")),
                move |mut out| async move {
                    csv.header(&mandate::COLUMNS);
                    while let Some(s) = run.next().await? {
                        export::csv_row(&mut csv, &run.row(&s));
                        csv.drain_into(&mut out.buf);
                        out.ready().await?;
                    }
                    csv.drain_into(&mut out.buf);
                    Ok(out)
                },
            ))
        }
        // `{"period": …, "asns": [ … ], "classes_without_policy": …, "totals": …, …}`: the
        // rows first, as they come, and what they add up to after them.
        Format::Json => Ok(export::streamed(
            "application/json",
            None,
            move |mut out| async move {
                let to_json = |e: serde_json::Error| ApiError::internal(anyhow::Error::new(e));
                out.buf.extend_from_slice(b"{\"period\":");
                serde_json::to_writer(&mut out.buf, &run.period).map_err(to_json)?;
                out.buf.extend_from_slice(b",\"asns\":[");
                let mut first = true;
                while let Some(s) = run.next().await? {
                    if !first {
                        out.buf.push(b',');
                    }
                    first = false;
                    serde_json::to_writer(&mut out.buf, &s).map_err(to_json)?;
                    out.ready().await?;
                }
                out.buf.extend_from_slice(b"],");
                let summary = serde_json::to_vec(&run.summary(&state.regions)).map_err(to_json)?;
                // The summary's own fields, without its opening brace, close the report.
                out.buf.extend_from_slice(summary.get(1..).unwrap_or(b"}"));
                Ok(out)
            },
        )),
    }
}
