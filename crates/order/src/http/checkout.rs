//! `POST /checkout`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use peken_kernel::auth::{Auth, BuyerOnly};
use peken_kernel::error::Problem;
use peken_kernel::{ApiError, ApiResult, AppState, Validation};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::checkout::{Cart, CheckoutResponse, FulfilmentMethod, PaymentMethod};
use peken_kernel::idempotency;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(checkout);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CartItem {
    pub listing_id: String,
    /// A positive whole number of units.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FulfilmentRequest {
    pub method: FulfilmentMethod,
    /// For delivery: one of the caller's addresses (`/me/addresses`); each order keeps a copy.
    pub address_id: Option<String>,
    /// For delivery, instead of `address_id`: the address as free text (up to 500 characters).
    pub address: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    pub items: Vec<CartItem>,
    pub fulfilment: FulfilmentRequest,
    pub payment_method: PaymentMethod,
}

impl CheckoutRequest {
    /// Checks the shape of the cart; prices, stock and rules are checked by the service.
    pub(super) fn into_cart(self) -> ApiResult<Cart> {
        if self.items.is_empty() {
            return Err(ApiError::unprocessable(
                "empty_cart",
                "the cart has no items",
            ));
        }
        let mut v = Validation::new();
        let mut lines: BTreeMap<String, i64> = BTreeMap::new();
        for (i, item) in self.items.iter().enumerate() {
            let id = item.listing_id.trim();
            if id.is_empty() || id.len() > 64 {
                v.push(
                    &format!("items[{i}].listing_id"),
                    "invalid_listing_id",
                    "not a listing id".into(),
                );
            }
            if item.quantity <= 0 {
                v.push(
                    &format!("items[{i}].quantity"),
                    "invalid_quantity",
                    "a quantity is a positive whole number".into(),
                );
                continue;
            }
            let entry = lines.entry(id.to_owned()).or_insert(0);
            *entry = entry.saturating_add(item.quantity);
        }
        let address = self
            .fulfilment
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let address_id = self
            .fulfilment
            .address_id
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        if self.fulfilment.method == FulfilmentMethod::Delivery
            && address.is_none()
            && address_id.is_none()
        {
            v.push(
                "fulfilment.address_id",
                "address_required",
                "delivery needs an address_id (or an address)".into(),
            );
        }
        if address.is_some() && address_id.is_some() {
            v.push(
                "fulfilment.address",
                "address_ambiguous",
                "give address_id or address, not both".into(),
            );
        }
        if address_id.is_some_and(|a| a.len() > 64) {
            v.push(
                "fulfilment.address_id",
                "unknown_address",
                "no such address in your address book".into(),
            );
        }
        if address.is_some_and(|a| a.chars().count() > 500) {
            v.push(
                "fulfilment.address",
                "too_long",
                "at most 500 characters".into(),
            );
        }
        v.finish()?;
        Ok(Cart {
            lines,
            fulfilment: self.fulfilment.method,
            address: address.map(str::to_owned),
            address_id: address_id.map(str::to_owned),
            payment_method: self.payment_method,
        })
    }
}

/// Place a cart: one payment, one order per shop, stock reserved until the payment expires.
///
/// Requires `Idempotency-Key`: the same key with the same body returns the first response again;
/// with a different body it is refused with 409 `idempotency_key_reused`.
#[utoipa::path(
    tag = "checkout",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per intended checkout")),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "Orders created, stock reserved", body = CheckoutResponse),
        (status = 400, description = "Missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Out of stock, not sellable, shop capped, daily limit, key reused", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cart", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many checkouts a minute", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/checkout")]
async fn checkout(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let key = idempotency::key_from(&req, true)?.unwrap_or_default();
    // A person places a few carts a minute; a script hammering checkout is slowed here.
    if let peken_kernel::cache::RateDecision::Limited { retry_after_secs } = state
        .stores
        .limiter
        .hit(
            &format!("checkout:{}", auth.user_id),
            state.settings.checkout_per_minute,
            std::time::Duration::from_secs(60),
        )
        .await
    {
        return Err(ApiError::too_many_requests(retry_after_secs));
    }
    let hash = idempotency::request_hash("checkout", &body);
    let request: CheckoutRequest = serde_json::from_value(body.into_inner()).map_err(|e| {
        ApiError::unprocessable("invalid_body", format!("the body does not match: {e}"))
    })?;
    let cart = request.into_cart()?;
    let outcome = crate::checkout::checkout(&state, &auth, &key, &hash, &cart).await?;
    let status = actix_web::http::StatusCode::from_u16(outcome.status)
        .unwrap_or(actix_web::http::StatusCode::CREATED);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(outcome.body))
}
