//! Payout batches, their transfer files, failed items and holds.

use std::collections::HashMap;

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::{Auth, TreasuryOnly};
use peken_kernel::error::{Problem, check_text};
use peken_kernel::export::{self, ExportParams, Format};
use peken_kernel::http_cache;
use peken_kernel::idempotency::{self, Key};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::wib_date;
use peken_kernel::{ApiError, ApiResult, AppState, Validation};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::views::{BatchDetail, BatchView, HoldView, ItemView};
use crate::{batches, holds, reports};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_batch)
        .service(list_batches)
        .service(get_batch)
        .service(approve_batch)
        .service(cancel_batch)
        .service(transfer_file)
        .service(fail_item)
        .service(list_holds)
        .service(clear_hold);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateBatchRequest {
    /// Payables from completed orders (and other changes) up to this instant are paid.
    pub cutoff: String,
}

/// Build a draft payout batch: one item per merchant owed money up to the cut-off, net of
/// refunds, except merchants held after a failed payout. Nothing moves until a second treasury
/// user approves it.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    request_body = CreateBatchRequest,
    responses(
        (status = 201, description = "Draft batch", body = BatchDetail,
            headers(("Location" = String, description = "The batch: `/api/v1/treasury/payout-batches/{id}`"))),
        (status = 422, description = "Invalid cut-off, or nothing to pay", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payout-batches")]
async fn create_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    req: HttpRequest,
    body: web::Json<CreateBatchRequest>,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "payout_batches.create",
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
    let outcome = batches::build(&state.db, cutoff, &auth, state.now(), key.as_ref()).await?;
    // A replayed answer says where the batch is as the first one did.
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
        .and_then(|id| HeaderValue::from_str(&format!("/api/v1/treasury/payout-batches/{id}")).ok())
    {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

/// Payout batches, newest first. `format=csv` gives the page asked for (`limit`, `cursor`) as
/// `id`, `status`, `cutoff`, `item_count`, `total_amount`, `created_by`, `created_at`,
/// `approved_by`, `approved_at`, `cancelled_by`, `cancelled_at`; `format=xlsx` as a workbook.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(PageParams, ExportParams),
    responses((status = 200, description = "Batches, or their sheet when asked", content(
        (Page<BatchView> = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )))
)]
#[get("/treasury/payout-batches")]
async fn list_batches(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    page: web::Query<PageParams>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after: Option<String> = page.cursor()?;
    let rows = batches::list(&state.db, after, limit).await?;
    let page = Page::from_rows(rows, limit, |b| b.id.clone(), |b| b);
    export::respond(
        &req,
        &params,
        &format!("payout-batches-{}", wib_date(state.now())),
        &page,
        || reports::batches_table(&page.items),
    )
}

/// One batch with its items. `format=csv` gives the items (`item_id`, `merchant_id`,
/// `merchant_name`, `amount`, `reference`, `bank_code`, `account_number`, `account_name`,
/// `rail`, `status`, `approved_at`, `settled_at`, `failed_at`, `failure_reason`) in a file named
/// after the batch and its cut-off date (WIB); `format=xlsx` the same as a workbook.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id"), ExportParams),
    responses(
        (status = 200, description = "Batch, or its items' sheet when asked", content(
            (BatchDetail = "application/json"),
            (String = "text/csv"),
            (inline(http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/payout-batches/{id}")]
async fn get_batch(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let batch = batches::find_batch(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("payout batch"))?;
    let items = batches::items_of(&state.db, &id).await?;
    let detail = BatchDetail {
        batch,
        items,
        held_merchants: Vec::new(),
        skipped: Vec::new(),
    };
    if params.format(&req) == Format::Json {
        return Ok(HttpResponse::Ok().json(detail));
    }
    let mut ids: Vec<String> = detail.items.iter().map(|i| i.merchant_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
        .await?
        .into_iter()
        .map(|(id, f)| (id, f.name))
        .collect();
    export::respond(
        &req,
        &params,
        &format!(
            "payout-batch-{}-{}",
            wib_date(detail.batch.cutoff),
            detail.batch.id
        ),
        &detail,
        || reports::batch_items_table(&detail.items, &names),
    )
}

/// Approve a draft batch (a treasury user other than its creator): every item's amount moves
/// from the merchant's payable to payout in transit, and each merchant gets a remittance advice.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    responses(
        (status = 200, description = "Approved", body = BatchDetail),
        (status = 403, description = "The creator cannot approve (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft (`batch_not_draft`), or a merchant is owed less than its item (`insufficient_payable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payout-batches/{id}/approval")]
async fn approve_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "payout_batches.approve",
        &json!({"batch_id": &*id}),
    )?;
    let outcome = batches::approve(&state.db, &id, &auth, state.now(), key.as_ref()).await?;
    Ok(idempotency::respond(outcome, 200))
}

/// Cancel a draft batch; its amounts are free for the next batch.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id")),
    responses(
        (status = 200, description = "Cancelled", body = BatchView),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payout-batches/{id}/cancellation")]
async fn cancel_batch(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<BatchView>> {
    Ok(web::Json(
        batches::cancel(&state.db, &id, &auth, state.now()).await?,
    ))
}

/// The bank transfer file of an approved batch: CSV
/// `reference,bank_code,account_number,account_name,amount,rail,remark`, the rail chosen by
/// amount (BIFAST ≤ Rp250 million, SKN ≤ Rp1 billion, else RTGS), the reference in the remark.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id")),
    responses(
        (status = 200, description = "Transfer file", body = String, content_type = "text/csv"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`batch_not_approved`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/payout-batches/{id}/transfer-file")]
async fn transfer_file(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let body = batches::transfer_file(&state.db, &id).await?;
    Ok(peken_kernel::export::attachment(
        "text/csv; charset=utf-8",
        &format!("payout-{}.csv", &*id),
        body.into_bytes(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FailureRequest {
    /// What the bank said, e.g. `rekening tidak ditemukan`.
    pub reason: String,
}

/// The bank returned a payout item (or never carried it out): the money goes back to the
/// merchant's payable and the merchant's payouts are held until a person clears the hold.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Payout item id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    request_body = FailureRequest,
    responses(
        (status = 200, description = "Failed and held", body = ItemView),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in transit (`payout_already_settled`, `payout_already_failed`, `payout_item_not_in_transit`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payout-items/{id}/failure")]
async fn fail_item(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Json<FailureRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let reason = check_text(&mut v, "reason", &body.reason, 500);
    v.finish()?;
    let reason = reason.unwrap_or_default();
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "payout_items.failure",
        &json!({"item_id": &*id, "reason": reason}),
    )?;
    let outcome =
        holds::fail_item(&state.db, &id, &reason, &auth, state.now(), key.as_ref()).await?;
    Ok(idempotency::respond(outcome, 200))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldQuery {
    /// Include cleared holds.
    pub all: Option<bool>,
}

/// Holds on merchants' payouts (active ones unless `all=true`).
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(HoldQuery),
    responses((status = 200, description = "Holds", body = Vec<HoldView>))
)]
#[get("/treasury/payout-holds")]
async fn list_holds(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<HoldQuery>,
) -> ApiResult<web::Json<Vec<HoldView>>> {
    Ok(web::Json(
        holds::holds(&state.db, query.all.unwrap_or(false)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClearRequest {
    /// What was done about the cause, e.g. `rekening diperbaiki`.
    pub note: String,
}

/// Clear a hold once its cause is dealt with; the merchant is paid by the next batch.
#[utoipa::path(
    tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Hold id")),
    request_body = ClearRequest,
    responses(
        (status = 200, description = "Cleared", body = HoldView),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cleared already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payout-holds/{id}/clearance")]
async fn clear_hold(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    body: web::Json<ClearRequest>,
) -> ApiResult<web::Json<HoldView>> {
    let mut v = Validation::new();
    let note = check_text(&mut v, "note", &body.note, 500);
    v.finish()?;
    let note = note.unwrap_or_default();
    Ok(web::Json(
        holds::clear_hold(&state.db, &id, &note, &auth, state.now()).await?,
    ))
}
