//! The purchase receipt (BAST) as a PDF, and its public verification.

use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::auth::Auth;
use peken_kernel::error::Problem;
use peken_kernel::http_cache;
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::orders::OrderReaders;
use crate::receipt::{self, VerifiedReceipt};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(receipt_pdf).service(verify_receipt);
}

/// The purchase receipt (BAST) as a PDF
///
/// *Berita Acara Serah Terima Barang*: an A4 PDF in Indonesian with the document number, the
/// parties (the shop with its owner, address, NIB and NPWP; the buyer with NIP and OPD for an
/// ASN, never a NIK), the lines, the totals, when it was paid and received (WIB), room for
/// signatures, and a QR code of the public verification address
/// (`GET /api/v1/verify/orders/{id}?code=…`) printed beside it. For the order's buyer, its
/// shop, admin and treasury, once the order is paid. The document depends only on the order's
/// state: its `ETag` changes when the order does, and `If-None-Match` with it answers 304.
#[utoipa::path(
    tag = "orders",
    operation_id = "get_order_receipt_pdf",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The order"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds; a match answers 304"),
    ),
    responses(
        (status = 200, description = "The receipt as an A4 PDF, offered inline as `BAST-{number}.pdf`; `ETag` set", content(
            (inline(http_cache::Binary) = "application/pdf"),
        )),
        (status = 304, description = "Not modified: `If-None-Match` names the receipt's current ETag"),
        (status = 404, description = "No such order for this caller (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order is not paid yet (`order_not_paid`), or was cancelled, rejected or refunded (`order_voided`); `context.status` says which status", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}/receipt.pdf")]
async fn receipt_pdf(
    state: web::Data<AppState>,
    auth: Auth<OrderReaders>,
    request: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let receipt = receipt::for_caller(&state, &auth, &id).await?;
    let file_name = receipt.file_name();
    http_cache::private_pdf(&request, &receipt.etag(), &file_name, move || {
        receipt.render()
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The code printed on the receipt (in its QR code), 16 characters.
    pub code: String,
}

/// Check that a receipt is genuine
///
/// Public: whoever holds a printed receipt (its QR code) compares what it says with what is
/// recorded: document number, shop, the buyer's name partly masked, total, status, and when it
/// was paid and received. A wrong code, an unknown order and an order without a receipt all
/// answer the same 404. Limited per client address (`PEKEN_VERIFY_IP_PER_MINUTE`).
#[utoipa::path(
    tag = "orders",
    operation_id = "verify_order_receipt",
    params(("id" = String, Path, description = "The order"), VerifyQuery),
    responses(
        (status = 200, description = "The code is genuine: the facts to compare with the paper", body = VerifiedReceipt),
        (status = 404, description = "No receipt with this order and code (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many verifications from this address (`too_many_requests`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/verify/orders/{id}")]
async fn verify_receipt(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<VerifyQuery>,
) -> ApiResult<web::Json<VerifiedReceipt>> {
    let client = peken_kernel::net::client_address(&request);
    if let peken_kernel::cache::RateDecision::Limited { retry_after_secs } = state
        .stores
        .limiter
        .hit(
            &format!("verify:ip:{client}"),
            state.settings.verify_ip_per_minute,
            std::time::Duration::from_secs(60),
        )
        .await
    {
        state.metrics.event("receipt_verification", "rate_limited");
        return Err(ApiError::too_many_requests(retry_after_secs));
    }
    let verified = receipt::verify(&state, &id, &query.code).await;
    state.metrics.event(
        "receipt_verification",
        if verified.is_ok() {
            "genuine"
        } else {
            "refused"
        },
    );
    Ok(web::Json(verified?))
}
