//! Admin moderation: the verification queue, suspension and reinstatement, listing takedown.

use actix_web::{delete, get, post, web};
use peken_kernel::auth::{AdminOnly, Auth};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::listings::ListingResponse;
use super::merchants::MerchantResponse;
use crate::service::listings;
use crate::service::merchants::{self, ACTIVE, Access, PENDING, REJECTED, SUSPENDED};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_merchants)
        .service(verify)
        .service(suspend)
        .service(reinstate)
        .service(confirm_bank_account)
        .service(take_down)
        .service(restore);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MerchantListQuery {
    /// `pending`, `active`, `rejected` or `suspended`.
    pub status: Option<String>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Merchants, oldest registration first; `status=pending` is the verification queue.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(MerchantListQuery),
    responses(
        (status = 200, description = "One page of merchants", body = Page<MerchantResponse>),
        (status = 422, description = "Unknown status or bad cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/merchants")]
async fn list_merchants(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    query: web::Query<MerchantListQuery>,
) -> ApiResult<web::Json<Page<MerchantResponse>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let status = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(status) = status
        && ![PENDING, ACTIVE, REJECTED, SUSPENDED].contains(&status)
    {
        return Err(ApiError::field(
            "status",
            "unknown_status",
            "one of pending, active, rejected, suspended",
        ));
    }
    let found = merchants::list(&state, status, page.cursor()?, page.limit()?).await?;
    Ok(web::Json(Page {
        items: found
            .items
            .into_iter()
            .map(|m| MerchantResponse::new(&state, m, Access::Full))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationRequest {
    pub decision: Decision,
    /// Required when rejecting; shown to the merchant.
    pub reason: Option<String>,
}

pub fn check_reason(v: &mut Validation, reason: Option<&str>, required: bool) -> Option<String> {
    if let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        check_text(v, "reason", r, 500)
    } else {
        v.require(!required, "reason", "required", "a reason is required");
        None
    }
}

/// Approve (→ `active`) or reject (→ `rejected`, with a reason) a registration.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = VerificationRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant's new status", body = MerchantResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting verification", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing on a rejection", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/merchants/{id}/verification")]
async fn verify(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<VerificationRequest>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let approve = matches!(body.decision, Decision::Approve);
    let mut v = Validation::new();
    let reason = check_reason(&mut v, body.reason.as_deref(), !approve);
    v.finish()?;
    let updated = merchants::verify(&state, &auth, &id, approve, reason).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}

/// Confirm a merchant's new bank account (after checking it with the owner): payouts to it
/// start with the next batch instead of after the cooling-off period.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant, its bank account no longer held", body = MerchantResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No new bank account waits for confirmation (`bank_account_not_held`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/merchants/{id}/bank-account/confirmation")]
async fn confirm_bank_account(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let confirmed = merchants::confirm_bank_account(&state, &auth, &id).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        confirmed,
        Access::Full,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    pub reason: String,
}

/// Suspend an active merchant: hidden from browsing, takes no orders.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Suspended", body = MerchantResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/merchants/{id}/suspension")]
async fn suspend(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<ReasonRequest>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let mut v = Validation::new();
    let reason = check_reason(&mut v, Some(&body.reason), true);
    v.finish()?;
    let reason = reason.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated")))?;
    let updated = merchants::suspend(&state, &auth, &id, reason).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}

/// End a suspension: the merchant is active again.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Reinstated", body = MerchantResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/admin/merchants/{id}/suspension")]
async fn reinstate(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let updated = merchants::reinstate(&state, &auth, &id).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}

/// Take a listing down. The reason is kept and shown to the merchant; the listing is hidden
/// and not sold.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(("id" = String, Path, description = "Listing id")),
    responses(
        (status = 200, description = "Taken down", body = ListingResponse),
        (status = 404, description = "No such listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already taken down", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/listings/{id}/takedown")]
async fn take_down(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<ReasonRequest>,
) -> ApiResult<web::Json<ListingResponse>> {
    let mut v = Validation::new();
    let reason = check_reason(&mut v, Some(&body.reason), true);
    v.finish()?;
    let reason = reason.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated")))?;
    let detail = listings::take_down(&state, &auth, &id, reason).await?;
    Ok(web::Json(detail.into()))
}

/// Lift a takedown: the listing can be sold again (if it otherwise qualifies). The takedown and
/// its reason stay in the audit log.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Listing id")),
    responses(
        (status = 200, description = "Restored", body = ListingResponse),
        (status = 404, description = "No such listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not taken down (not_taken_down)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/admin/listings/{id}/takedown")]
async fn restore(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ListingResponse>> {
    let detail = listings::restore(&state, &auth, &id).await?;
    Ok(web::Json(detail.into()))
}
