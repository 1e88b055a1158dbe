//! Orders: lists, one order, and the transitions of its lifecycle.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use peken_kernel::auth::Caller;
use peken_kernel::auth::{AdminOnly, Auth, BuyerOnly, MerchantOnly};
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState, role_set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::actions;
use crate::partial::AcceptRequest;
use crate::status::{Action, OrderStatus};
use crate::views::{self, OrderEventView, OrderView};
use peken_kernel::idempotency::Key;

role_set!(pub OrderListers = [Asn, Public, Merchant, Admin]);
role_set!(pub OrderReaders = [Asn, Public, Merchant, Admin, Treasury]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_orders)
        .service(get_order)
        .service(order_events)
        .service(cancel)
        .service(accept)
        .service(reject)
        .service(ship)
        .service(receipt)
        .service(dispute)
        .service(resolve_dispute);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    /// Orders placed on or after this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<chrono::NaiveDate>,
    /// Orders placed on or before this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<chrono::NaiveDate>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Orders, newest first: a buyer's own, a merchant's shop's, or all for admin; by status and by
/// the WIB days they were placed on.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(OrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderView>),
        (status = 422, description = "`from` after `to` (`invalid_date_range`), a bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders")]
async fn list_orders(
    state: web::Data<AppState>,
    auth: Auth<OrderListers>,
    query: web::Query<OrderQuery>,
) -> ApiResult<web::Json<Page<OrderView>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let filter = views::OrderFilter {
        status: query.status,
        from: query.from,
        to: query.to,
        opd_id: None,
    };
    Ok(web::Json(views::list(&state, &auth, &filter, &page).await?))
}

/// The timeline of an order: each change of status, who made it and when, oldest first.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The order's events, oldest first", body = Vec<OrderEventView>),
        (status = 404, description = "No such order for this caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}/events")]
async fn order_events(
    state: web::Data<AppState>,
    auth: Auth<OrderReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<OrderEventView>>> {
    Ok(web::Json(views::events(&state, &auth, &id).await?))
}

/// One order with its items and history.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order for this caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}")]
async fn get_order(
    state: web::Data<AppState>,
    auth: Auth<OrderReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<OrderView>> {
    Ok(web::Json(views::get(&state, &state.db, &auth, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    pub reason: String,
}

fn reason_of(body: &ReasonRequest) -> ApiResult<String> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::field(
            "reason",
            "invalid_reason",
            "a reason of 1 to 500 characters",
        ));
    }
    Ok(reason.to_owned())
}

/// Runs an action and answers the order afterwards; honours an optional `Idempotency-Key`.
async fn run(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    id: &str,
    action: Action,
    reason: Option<&str>,
) -> ApiResult<HttpResponse> {
    let idem = Key::from_request(
        req,
        &caller.user_id,
        &format!("order:{id}:{}", action.to().as_str()),
        &serde_json::json!({ "reason": reason }),
    )?;
    let body = actions::act(state, caller, id, action, reason, idem.as_ref()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// Cancel an order before the shop accepts it: its stock returns, a paid order is refunded.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not cancellable now", body = Problem, content_type = "application/problem+json")))]
#[post("/orders/{id}/cancel")]
async fn cancel(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    run(
        &state,
        &auth,
        &req,
        &id,
        Action::Cancel,
        Some("cancelled by the buyer"),
    )
    .await
}

/// The shop accepts a paid order, whole or with some units short. With no body (or no `short`
/// lines) it accepts everything. With `short` lines (by listing, each with the units that
/// cannot be supplied), the short units are refunded to the buyer in the same step (the value
/// of those units as paid, through the ledger; an ASN's monthly spend drops by it), go back on
/// the shelf, and the buyer is told; completion then pays the shop for what it supplied.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Option<AcceptRequest>, description = "Optional: the lines the shop cannot supply in full", content_type = "application/json"),
    responses(
        (status = 200, description = "The order after the step", body = OrderView),
        (status = 409, description = "Not in a state to accept (`invalid_transition`), or every unit short (`all_lines_short`: reject it instead)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A short line not of this order (`unknown_order_line`), named twice (`duplicate_order_line`), a quantity below 1 (`invalid_quantity`) or above the ordered one (`short_quantity_too_large`), a body of another shape (`invalid_body`)", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/orders/{id}/accept")]
async fn accept(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let request: AcceptRequest = if body.iter().all(u8::is_ascii_whitespace) {
        AcceptRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::unprocessable("invalid_body", format!("the body does not match: {e}"))
        })?
    };
    // A whole acceptance keys its idempotency as it always did; a partial one by its lines too.
    let fingerprint = if request.short.is_empty() {
        serde_json::json!({ "reason": null })
    } else {
        serde_json::json!({ "reason": null, "short": request.short })
    };
    let idem = Key::from_request(
        &req,
        &auth.user_id,
        &format!("order:{id}:{}", Action::Accept.to().as_str()),
        &fingerprint,
    )?;
    let body = actions::act_with(
        &state,
        &auth,
        &id,
        Action::Accept,
        None,
        &request.short,
        idem.as_ref(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The shop rejects a paid order with a reason: stock returns, the buyer is refunded.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not in a state to reject", body = Problem, content_type = "application/problem+json")))]
#[post("/orders/{id}/reject")]
async fn reject(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ReasonRequest>,
) -> ApiResult<HttpResponse> {
    let reason = reason_of(&body)?;
    run(&state, &auth, &req, &id, Action::Reject, Some(&reason)).await
}

/// The shop ships the order (or makes it ready for pickup).
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not accepted yet", body = Problem, content_type = "application/problem+json")))]
#[post("/orders/{id}/ship")]
async fn ship(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    run(&state, &auth, &req, &id, Action::Ship, None).await
}

/// The buyer confirms receipt (BAST): the order completes and the shop is owed its money.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not shipped", body = Problem, content_type = "application/problem+json")))]
#[post("/orders/{id}/receipt")]
async fn receipt(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    run(&state, &auth, &req, &id, Action::ConfirmReceipt, None).await
}

/// The buyer disputes a shipped order before confirming receipt.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not shipped", body = Problem, content_type = "application/problem+json")))]
#[post("/orders/{id}/dispute")]
async fn dispute(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ReasonRequest>,
) -> ApiResult<HttpResponse> {
    let reason = reason_of(&body)?;
    run(&state, &auth, &req, &id, Action::Dispute, Some(&reason)).await
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Completed,
    Refunded,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolutionRequest {
    pub resolution: Resolution,
    pub reason: String,
}

/// An admin resolves a dispute: the shop is owed (`completed`) or the buyer refunded.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(("id" = String, Path)), request_body = ResolutionRequest,
    responses((status = 200, description = "The order after the step", body = OrderView), (status = 409, description = "Not disputed", body = Problem, content_type = "application/problem+json")))]
#[post("/admin/orders/{id}/dispute-resolution")]
async fn resolve_dispute(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ResolutionRequest>,
) -> ApiResult<HttpResponse> {
    let reason = reason_of(&ReasonRequest {
        reason: body.reason.clone(),
    })?;
    let action = match body.resolution {
        Resolution::Completed => Action::ResolveCompleted,
        Resolution::Refunded => Action::ResolveRefunded,
    };
    run(&state, &auth, &req, &id, action, Some(&reason)).await
}
