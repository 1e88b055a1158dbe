//! A shop's own payouts: the list, one payout with what it pays, and its remittance advice as a
//! PDF.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use peken_kernel::auth::Auth;
use peken_kernel::error::Problem;
use peken_kernel::http_cache;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::PayoutReaders;
use crate::merchant_payouts::{
    self, MerchantPayout, MerchantPayoutDetail, PayoutFilter, PayoutStatus,
};
use crate::remittance;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_payouts)
        .service(get_payout)
        .service(remittance_pdf);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PayoutQuery {
    pub status: Option<PayoutStatus>,
    /// Payouts approved on or after this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Payouts approved on or before this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A shop's payouts
///
/// Every payout treasury approved for the shop, newest first: amount, status (`in_transit`
/// until the transfer is seen on the city's bank statement, then `paid` with the statement's
/// value date, bank reference and narrative; `failed` when the bank returned it), rail, the
/// batch's cut-off, the transfer reference and the account paid. Drafts not yet approved are
/// not shown: they may still be cancelled. For the shop's owner and staff (staff see the account
/// number masked), admins and treasury; another shop's payouts are 404.
#[utoipa::path(
    tag = "payouts",
    operation_id = "list_merchant_payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), PayoutQuery),
    responses(
        (status = 200, description = "A page of payouts, newest first", body = Page<MerchantPayout>),
        (status = 404, description = "No such merchant, or not yours (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from` after `to` (`invalid_date_range`), a bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/payouts")]
async fn list_payouts(
    state: web::Data<AppState>,
    auth: Auth<PayoutReaders>,
    id: web::Path<String>,
    query: web::Query<PayoutQuery>,
) -> ApiResult<web::Json<Page<MerchantPayout>>> {
    let viewer = merchant_payouts::viewer(&state.db, &auth.caller, &id).await?;
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let filter = PayoutFilter {
        status: query.status,
        from: query.from,
        to: query.to,
    };
    Ok(web::Json(
        merchant_payouts::list(&state.db, &viewer, &filter, &page).await?,
    ))
}

/// One payout with the orders and refunds it pays
///
/// The payout and each order (what the shop is owed for it), refund of a completed order
/// (negative) and returned earlier payout it pays, read from the journal: the lines add up to
/// the payout's amount exactly.
#[utoipa::path(
    tag = "payouts",
    operation_id = "get_merchant_payout",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("payout_id" = String, Path, description = "Payout (item) id"),
    ),
    responses(
        (status = 200, description = "The payout and its lines", body = MerchantPayoutDetail),
        (status = 404, description = "No such merchant or payout, or not yours, or not approved yet (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/payouts/{payout_id}")]
async fn get_payout(
    state: web::Data<AppState>,
    auth: Auth<PayoutReaders>,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<MerchantPayoutDetail>> {
    let (id, payout_id) = path.into_inner();
    let viewer = merchant_payouts::viewer(&state.db, &auth.caller, &id).await?;
    Ok(web::Json(
        merchant_payouts::detail(&state.db, &viewer, &payout_id).await?,
    ))
}

/// A payout's remittance advice as a PDF
///
/// An A4 PDF in Indonesian: the shop, the account paid (all but its last four digits masked),
/// the transfer reference, rail, cut-off and approval (and payment, with the bank's reference)
/// times in WIB, the orders, refunds and returned payouts it pays, and the total. Available once
/// the batch is approved. The document depends only on the payout's state: its `ETag` changes
/// when the payout does (paid, failed), and `If-None-Match` with it answers 304.
#[utoipa::path(
    tag = "payouts",
    operation_id = "get_merchant_payout_remittance_pdf",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("payout_id" = String, Path, description = "Payout (item) id"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds; a match answers 304"),
    ),
    responses(
        (status = 200, description = "The remittance advice as an A4 PDF, offered inline as `remitansi-{reference}.pdf`; `ETag` set", content(
            (inline(http_cache::Binary) = "application/pdf"),
        )),
        (status = 304, description = "Not modified: `If-None-Match` names the advice's current ETag"),
        (status = 404, description = "No such merchant or payout, or not yours, or not approved yet (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/payouts/{payout_id}/remittance.pdf")]
async fn remittance_pdf(
    state: web::Data<AppState>,
    auth: Auth<PayoutReaders>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, payout_id) = path.into_inner();
    let viewer = merchant_payouts::viewer(&state.db, &auth.caller, &id).await?;
    let detail = merchant_payouts::detail(&state.db, &viewer, &payout_id).await?;
    let advice = remittance::advice(&state, detail).await?;
    let file_name = advice.file_name();
    http_cache::private_pdf(&request, &advice.etag(), &file_name, move || {
        advice.render()
    })
    .await
}
