//! Treasury's list of refunds, the payment of one by hand (proposed by one treasury user,
//! confirmed by another), and the buyer's refund account.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use peken_kernel::auth::{Auth, BuyerOnly, TreasuryOnly};
use peken_kernel::error::{Problem, check_text};
use peken_kernel::export::{self, ExportParams};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState, Validation, http_cache};
use peken_merchant::http::{BankAccountBody, check_bank};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::refund_accounts::{self, RefundAccount};
use crate::refunds::{self, RefundView};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(pay)
        .service(approve_payment)
        .service(reject_payment)
        .service(get_refund_account)
        .service(put_refund_account);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundQuery {
    /// `due`, `batched`, `in_transit`, `payment_proposed` or `paid`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Refunds owed to buyers (and those already paid), oldest first. `format=csv` gives the page as
/// CSV (`id`, `created_at`, `order_id`, `payment_id`, `buyer_id`, `kind`, `reason`, `amount`,
/// `status`, `payment_reference`, `paid_at`), `format=xlsx` as a workbook.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(RefundQuery, ExportParams),
    responses(
        (status = 200, description = "One page of refunds", content(
            (Page<RefundView> = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Unknown status", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/refunds")]
async fn list(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<RefundQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let status = match query.status.as_deref() {
        None => None,
        Some(s) if refunds::STATUSES.contains(&s) => Some(s),
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "invalid_status",
                "due, batched, in_transit, payment_proposed or paid",
            ));
        }
    };
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    // The JSON page is the list treasury works from: a refund just proposed for payment by hand
    // must show as `payment_proposed` to the one who proposed it, so it is read on the primary.
    // A CSV or XLSX export is a report and may be seconds stale: the read replica serves it.
    let page = match params.format(&req) {
        export::Format::Json => refunds::list(&state, status, &page).await?,
        export::Format::Csv | export::Format::Xlsx => {
            refunds::list_from(&state.read_db(), status, &page).await?
        }
    };
    export::respond(&req, &params, "refunds", &page, || {
        refunds::table(&page.items)
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundPaymentRequest {
    /// The bank's or provider's reference of the money sent back.
    pub reference: String,
}

/// Propose that a refund was paid back to the buyer by hand (outside a refund batch). The
/// refund waits (`payment_proposed`) until a second treasury user confirms it; only then is it
/// posted.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RefundPaymentRequest,
    responses(
        (status = 200, description = "The refund, its payment waiting for a second treasury user", body = RefundView),
        (status = 404, description = "No such refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already paid (`refund_already_paid`), or not due: in a batch or proposed already (`refund_not_due`, `context.status`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reference", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refunds/{id}/payment")]
async fn pay(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    body: web::Json<RefundPaymentRequest>,
) -> ApiResult<web::Json<RefundView>> {
    let reference = refunds::check_reference(&body.reference)?;
    Ok(web::Json(
        refunds::propose_payment(&state, &id, reference, &auth).await?,
    ))
}

/// Confirm a proposed payment by hand (a treasury user other than the proposer): the refund is
/// paid and the ledger posts refunds payable → collection.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The refund, now paid", body = RefundView),
        (status = 403, description = "The proposer cannot confirm (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No payment by hand waits (`refund_payment_not_proposed`, `context.status`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refunds/{id}/payment/approval")]
async fn approve_payment(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<RefundView>> {
    Ok(web::Json(
        refunds::approve_payment(&state, &id, &auth).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundPaymentRejection {
    /// Why, e.g. `referensi tidak ditemukan di rekening koran`.
    pub reason: String,
}

/// Reject (or, by the proposer, withdraw) a proposed payment by hand: the refund is due again.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RefundPaymentRejection,
    responses(
        (status = 200, description = "The refund, due again", body = RefundView),
        (status = 404, description = "No such refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No payment by hand waits (`refund_payment_not_proposed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refunds/{id}/payment/rejection")]
async fn reject_payment(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    body: web::Json<RefundPaymentRejection>,
) -> ApiResult<web::Json<RefundView>> {
    let mut v = Validation::new();
    let reason = check_text(&mut v, "reason", &body.reason, 500);
    v.finish()?;
    let reason = reason.unwrap_or_default();
    Ok(web::Json(
        refunds::reject_payment(&state, &id, &reason, &auth).await?,
    ))
}

/// The bank account the caller's refunds are sent to.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The refund account", body = RefundAccount),
        (status = 404, description = "No refund account yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/refund-account")]
async fn get_refund_account(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
) -> ApiResult<web::Json<RefundAccount>> {
    refund_accounts::of_buyer(&state.db, &auth.user_id)
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::not_found("refund account"))
}

/// Set the bank account the caller's refunds are sent to. Refunds owed to a buyer without one
/// wait outside refund batches.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = BankAccountBody,
    responses(
        (status = 200, description = "The refund account", body = RefundAccount),
        (status = 422, description = "Invalid bank code, account number or name", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/refund-account")]
async fn put_refund_account(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    body: web::Json<BankAccountBody>,
) -> ApiResult<web::Json<RefundAccount>> {
    let mut v = Validation::new();
    let bank = check_bank(&mut v, "", &body);
    v.finish()?;
    let bank = bank.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated bank missing")))?;
    Ok(web::Json(
        refund_accounts::set(
            &state,
            &auth,
            &bank.bank_code,
            &bank.account_number,
            &bank.account_name,
        )
        .await?,
    ))
}
