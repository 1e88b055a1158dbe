//! Refund batches: refunds owed to buyers paid by bank transfer, with four-eyes approval, a
//! transfer file, and failed transfers.

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::{Auth, TreasuryOnly};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams};
use peken_kernel::idempotency::{self, Key};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState, http_cache};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::refund_batches::{self, RefundBatchDetail, RefundBatchView, RefundItemView};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(refund_create_batch)
        .service(refund_list_batches)
        .service(refund_get_batch)
        .service(refund_approve_batch)
        .service(refund_cancel_batch)
        .service(refund_transfer_file)
        .service(refund_fail_item);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRefundBatchRequest {
    /// Refunds owed (created) up to this instant are paid.
    pub cutoff: String,
}

/// Build a draft refund batch: one item per refund due up to the cut-off whose buyer has a
/// refund account; the others are listed under `skipped` (`no_refund_account`) and stay due.
/// Nothing is paid until a second treasury user approves it.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    request_body = CreateRefundBatchRequest,
    responses(
        (status = 201, description = "Draft refund batch", body = RefundBatchDetail,
            headers(("Location" = String, description = "The batch: `/api/v1/treasury/refund-batches/{id}`"))),
        (status = 409, description = "The refunds were taken meanwhile (`concurrent_batch`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cut-off, or nothing to refund (`nothing_to_refund`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refund-batches")]
async fn refund_create_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    req: HttpRequest,
    body: web::Json<CreateRefundBatchRequest>,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "refund_batches.create",
        &json!({"cutoff": body.cutoff}),
    )?;
    let cutoff = DateTime::parse_from_rfc3339(body.cutoff.trim())
        .map(|c| c.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::field(
                "cutoff",
                "invalid_timestamp",
                "an RFC 3339 timestamp, e.g. 2026-03-31T17:00:00Z",
            )
        })?;
    let outcome =
        refund_batches::build(&state.db, cutoff, &auth, state.now(), key.as_ref()).await?;
    let batch_id = match &outcome {
        idempotency::Outcome::Done(detail) => Some(detail.batch.id.clone()),
        idempotency::Outcome::Replay { status: 201, body } => {
            serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
        }
        idempotency::Outcome::Replay { .. } => None,
    };
    let mut response = idempotency::respond(outcome, 201);
    if let Some(value) = batch_id
        .and_then(|id| HeaderValue::from_str(&format!("/api/v1/treasury/refund-batches/{id}")).ok())
    {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// Refund batches, newest first.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "Refund batches", body = Page<RefundBatchView>))
)]
#[get("/treasury/refund-batches")]
async fn refund_list_batches(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<RefundBatchView>>> {
    let limit = page.limit()?;
    let after: Option<String> = page.cursor()?;
    let rows = refund_batches::list(&state.db, after, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |b| b.id.clone(),
        |b| b,
    )))
}

/// One refund batch with its items. `format=csv` gives the items as CSV (`item_id`,
/// `refund_id`, `order_id`, `buyer_id`, `amount`, `reference`, `bank_code`, `account_number`,
/// `account_name`, `rail`, `status`, `settled_at`, `failure_reason`), `format=xlsx` as a
/// workbook.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Refund batch id"), ExportParams),
    responses(
        (status = 200, description = "Refund batch", content(
            (RefundBatchDetail = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/refund-batches/{id}")]
async fn refund_get_batch(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let detail = refund_batches::detail(&state.db, &id).await?;
    export::respond(
        &req,
        &params,
        &format!("refund-batch-{}", &*id),
        &detail,
        || refund_batches::items_table(&detail),
    )
}

/// Approve a draft refund batch (a treasury user other than its creator): its refunds are in
/// transit and the transfer file may be fetched. The ledger posts each refund when the
/// statement shows its transfer.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Refund batch id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    responses(
        (status = 200, description = "Approved", body = RefundBatchDetail),
        (status = 403, description = "The creator cannot approve (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft (`batch_not_draft`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refund-batches/{id}/approval")]
async fn refund_approve_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "refund_batches.approve",
        &json!({"batch_id": &*id}),
    )?;
    let outcome = refund_batches::approve(&state.db, &id, &auth, state.now(), key.as_ref()).await?;
    Ok(idempotency::respond(outcome, 200))
}

/// Cancel a draft refund batch; its refunds are due again.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Refund batch id")),
    responses(
        (status = 200, description = "Cancelled", body = RefundBatchView),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft (`batch_not_draft`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refund-batches/{id}/cancellation")]
async fn refund_cancel_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<RefundBatchView>> {
    Ok(web::Json(
        refund_batches::cancel(&state.db, &id, &auth, state.now()).await?,
    ))
}

/// The bank transfer file of an approved refund batch, in the payout transfer file's format:
/// CSV `reference,bank_code,account_number,account_name,amount,rail,remark`, the rail chosen by
/// amount (BIFAST ≤ Rp250 million, SKN ≤ Rp1 billion, else RTGS), the reference in the remark.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Refund batch id")),
    responses(
        (status = 200, description = "Transfer file", body = String, content_type = "text/csv"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`batch_not_approved`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/refund-batches/{id}/transfer-file")]
async fn refund_transfer_file(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let body = refund_batches::transfer_file(&state.db, &id).await?;
    Ok(export::attachment(
        "text/csv; charset=utf-8",
        &format!("refund-{}.csv", &*id),
        body.into_bytes(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundFailureRequest {
    /// What the bank said, e.g. `rekening tidak ditemukan`.
    pub reason: String,
}

/// The bank returned a refund transfer (or never carried it out): the refund is due again and
/// the next refund batch pays it once more.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Refund item id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    request_body = RefundFailureRequest,
    responses(
        (status = 200, description = "Failed; the refund is due again", body = RefundItemView),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in transit (`refund_already_settled`, `refund_item_already_failed`, `refund_item_not_in_transit`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refund-items/{id}/failure")]
async fn refund_fail_item(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Json<RefundFailureRequest>,
) -> ApiResult<HttpResponse> {
    let reason = refund_batches::check_failure_reason(&body.reason)?;
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "refund_items.failure",
        &json!({"item_id": &*id, "reason": reason}),
    )?;
    let outcome =
        refund_batches::fail_item(&state.db, &id, &reason, &auth, state.now(), key.as_ref())
            .await?;
    Ok(idempotency::respond(outcome, 200))
}
