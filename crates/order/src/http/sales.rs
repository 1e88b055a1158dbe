//! The shop's sales report.

use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::auth::Auth;
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams};
use peken_kernel::http_cache;
use peken_kernel::period::wib_date;
use peken_kernel::{ApiResult, AppState, role_set};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::sales::{self, SalesGroup, SalesReport};

role_set!(pub SalesReaders = [Merchant, Treasury, Admin]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(sales_report);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// First WIB day, `YYYY-MM-DD`; default: the first of `to`'s month.
    pub from: Option<String>,
    /// Last WIB day, `YYYY-MM-DD`, at most 366 days after `from`; default: today.
    pub to: Option<String>,
    /// `day` (the default: every day of the range) or `product`.
    #[param(inline)]
    pub group: Option<SalesGroup>,
}

/// A shop's sales per WIB day or per product
///
/// Units sold, gross, refunds and net (gross − refunds) per WIB day of the range (every day,
/// quiet ones included) or per product (listing), with totals. A sale counts on the WIB day its
/// order's payment was recorded, whatever became of the order later; a refund counts on the WIB
/// day it was made, against the lines of its order: a shortfall refund against the short units
/// of each line, any other against what was supplied (shared in proportion, half up). Over a span in
/// which every paid order was completed or refunded, `total.net_amount` equals the net of the
/// turnover report (`GET /merchants/{id}/turnover`, which counts an order at completion).
///
/// For the shop's owner and staff (their own shop; another is 404), treasury and admins.
/// `format=csv` (or `Accept: text/csv`) answers the rows and a `total` row as CSV
/// (`delimiter=semicolon` for Indonesian Excel, with a byte order mark), `format=xlsx` as a
/// workbook.
#[utoipa::path(
    tag = "turnover",
    operation_id = "get_merchant_sales_report",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), SalesQuery, ExportParams),
    responses(
        (status = 200, description = "The report; as CSV (`group=day`: date, orders, quantity, gross_amount, refunds_amount, net_amount; `group=product`: listing_id, product_id, name, unit and the same amounts; a last row `total`) or as an XLSX workbook when asked", content(
            (SalesReport = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "No such merchant, or not yours (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date that is not a real `YYYY-MM-DD` (`invalid_date`), `from` after `to` (`invalid_range`), more than 366 days (`range_too_long`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/reports/sales")]
async fn sales_report(
    state: web::Data<AppState>,
    auth: Auth<SalesReaders>,
    id: web::Path<String>,
    query: web::Query<SalesQuery>,
    params: web::Query<ExportParams>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    peken_merchant::facts::visible_to(&state.db, &auth.caller, &id).await?;
    let (from, to) = sales::date_range(
        query.from.as_deref(),
        query.to.as_deref(),
        wib_date(state.now()),
    )?;
    let group = query.group.unwrap_or_default();
    let report: SalesReport = sales::report(&state.read_db(), &id, from, to, group).await?;
    let group_name = match group {
        SalesGroup::Day => "day",
        SalesGroup::Product => "product",
    };
    export::respond(
        &request,
        &params,
        &format!("sales-{group_name}-{from}-{to}"),
        &report,
        || sales::table(&report),
    )
}
