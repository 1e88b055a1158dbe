//! Treasury's list of refunds and the record of paying one.

use actix_web::{get, post, web};
use peken_kernel::auth::{Auth, TreasuryOnly};
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::refunds::{self, RefundView};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list).service(pay);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundQuery {
    /// `due` or `paid`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Refunds owed to buyers (and those already paid), oldest first.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(RefundQuery),
    responses((status = 200, description = "One page of refunds", body = Page<RefundView>))
)]
#[get("/treasury/refunds")]
async fn list(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<RefundQuery>,
) -> ApiResult<web::Json<Page<RefundView>>> {
    let status = match query.status.as_deref() {
        None => None,
        Some(s @ ("due" | "paid")) => Some(s),
        Some(_) => return Err(ApiError::field("status", "invalid_status", "due or paid")),
    };
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    Ok(web::Json(refunds::list(&state, status, &page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundPaymentRequest {
    /// The bank's or provider's reference of the money sent back.
    pub reference: String,
}

/// Record that a refund was paid back to the buyer.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = RefundPaymentRequest,
    responses(
        (status = 200, description = "The refund, now paid", body = RefundView),
        (status = 409, description = "Already paid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/refunds/{id}/payment")]
async fn pay(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    body: web::Json<RefundPaymentRequest>,
) -> ApiResult<web::Json<RefundView>> {
    let reference = body.reference.trim();
    if reference.is_empty() || reference.len() > 64 {
        return Err(ApiError::field(
            "reference",
            "invalid_reference",
            "1 to 64 characters",
        ));
    }
    Ok(web::Json(
        refunds::mark_paid(&state, &id, reference, &auth).await?,
    ))
}
