//! Helping a buyer buy: a past order as a new cart proposal, and a basket that reaches a civil
//! servant's monthly minimum.

use actix_web::{get, post, web};
use peken_kernel::auth::{AsnOnly, Auth, BuyerOnly};
use peken_kernel::error::Problem;
use peken_kernel::{ApiResult, AppState};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::reorder::{ReorderProposal, propose};
use crate::suggestion::{Suggestion, suggest};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(reorder).service(suggestion);
}

/// Buy again: the order's lines at today's prices and stock, as a cart proposal (nothing is
/// reserved). Lines that cannot be bought as before are flagged; `items` is the cart to send
/// to `POST /checkout`.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "One of the caller's orders")),
    responses(
        (status = 200, description = "The proposal", body = ReorderProposal),
        (status = 404, description = "Not one of the caller's orders", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/reorder")]
async fn reorder(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ReorderProposal>> {
    Ok(web::Json(propose(&state, &auth, &id).await?))
}

/// A basket of staples from shops in the caller's kecamatan whose total covers what is still
/// required this WIB month: what the caller bought before first, then shops with less turnover
/// this month; within stock, HET, daily limits and cart limits. Nothing is reserved.
#[utoipa::path(
    tag = "mandate",
    security(("bearer" = [])),
    responses((status = 200, description = "The suggested basket (empty when the minimum is reached)", body = Suggestion))
)]
#[get("/mandate/me/suggestion")]
async fn suggestion(
    state: web::Data<AppState>,
    auth: Auth<AsnOnly>,
) -> ApiResult<web::Json<Suggestion>> {
    Ok(web::Json(suggest(&state, &auth).await?))
}
