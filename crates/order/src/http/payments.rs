//! The payment provider's callback, manual transfer proofs and their verification.

use actix_web::{HttpRequest, get, post, web};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use peken_kernel::auth::{Auth, BuyerOnly, TreasuryOnly};
use peken_kernel::error::Problem;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah, role_set};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::payment::{self, Notice, ReceiptOutcome};
use crate::store::payment as store;

role_set!(pub PaymentReaders = [Asn, Public, Admin, Treasury]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(callback)
        .service(get_payment)
        .service(proof)
        .service(verification);
}

pub const SIGNATURE_HEADER: &str = "X-Peken-Signature";

/// `sha256=<hex HMAC-SHA256 of body>`: what the provider sends, and what `peken pay` signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks the signature in constant time.
fn verify(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallbackBody {
    pub payment_id: String,
    pub provider_reference: String,
    /// Whole rupiah.
    pub amount: i64,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallbackResponse {
    /// `applied`, `replayed` (seen before, nothing changed), `refund_due` (the bill could no
    /// longer be paid; the money is recorded as owed back) or `confirmed` (the bank statement
    /// recorded this money first; the notification confirms it and counts nothing again).
    pub outcome: String,
}

/// The payment provider's signed notification that a bill was paid.
#[utoipa::path(
    tag = "payments",
    params(("X-Peken-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body>")),
    request_body = CallbackBody,
    responses(
        (status = 200, description = "Recorded (or seen before)", body = CallbackResponse),
        (status = 401, description = "Bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Amount differs from the bill; nothing recorded", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payments/callback")]
async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<CallbackResponse>> {
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !verify(state.webhook_secret.expose(), &body, header) {
        tracing::warn!("payment callback with a bad signature refused");
        return Err(ApiError::unauthorized(
            "invalid_signature",
            "the signature does not match",
        ));
    }
    let notice: CallbackBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::unprocessable("invalid_body", format!("the body does not match: {e}"))
    })?;
    if notice.provider_reference.trim().is_empty() || notice.provider_reference.len() > 128 {
        return Err(ApiError::field(
            "provider_reference",
            "invalid_reference",
            "1 to 128 characters",
        ));
    }
    let outcome = payment::receive(
        &state,
        &Notice {
            payment_id: notice.payment_id,
            provider_reference: notice.provider_reference,
            amount: Rupiah::new(notice.amount),
            paid_at: notice.paid_at,
        },
    )
    .await?;
    Ok(web::Json(CallbackResponse {
        outcome: outcome_str(outcome).to_owned(),
    }))
}

fn outcome_str(outcome: ReceiptOutcome) -> &'static str {
    match outcome {
        ReceiptOutcome::Applied => "applied",
        ReceiptOutcome::Replayed => "replayed",
        ReceiptOutcome::RefundDue => "refund_due",
        ReceiptOutcome::Confirmed => "confirmed",
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    pub checkout_id: String,
    pub method: String,
    pub amount: Rupiah,
    /// `pending`, `paid`, `expired` or `cancelled`.
    pub status: String,
    pub va_number: Option<String>,
    pub qris_payload: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// `none`, `submitted`, `approval_proposed` (one treasury user approved; a second one
    /// must), `approved`, `rejected` or `confirmed_by_statement` (a matching credit on the bank
    /// statement paid the bill; no second approval was needed).
    pub proof_status: String,
    pub proof_reference: Option<String>,
    /// While a proof waits: when the bill expires if treasury has not decided.
    pub proof_wait_until: Option<DateTime<Utc>>,
    /// The treasury user who proposed approving the proof.
    pub proof_proposed_by: Option<String>,
}

impl From<store::Model> for PaymentView {
    fn from(p: store::Model) -> Self {
        Self {
            id: p.id,
            checkout_id: p.checkout_id,
            method: p.method,
            amount: Rupiah::new(p.amount),
            status: p.status,
            va_number: p.va_number,
            qris_payload: p.qris_payload,
            expires_at: p.expires_at,
            paid_at: p.paid_at,
            proof_status: p.proof_status,
            proof_reference: p.proof_reference,
            proof_wait_until: p.proof_wait_until,
            proof_proposed_by: p.proof_proposed_by,
        }
    }
}

/// A payment: its buyer, admin and treasury see it.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The payment", body = PaymentView), (status = 404, description = "No such payment for this caller", body = Problem, content_type = "application/problem+json"))
)]
#[get("/payments/{id}")]
async fn get_payment(
    state: web::Data<AppState>,
    auth: Auth<PaymentReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<PaymentView>> {
    let found = payment::find(&state.db, &id).await?;
    if auth.role.is_buyer() && found.buyer_id != auth.user_id {
        return Err(ApiError::not_found("payment"));
    }
    Ok(web::Json(found.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProofRequest {
    /// The bank's reference of the transfer.
    pub transfer_reference: String,
    pub paid_at: DateTime<Utc>,
}

/// The buyer reports a bank transfer by hand when the provider's notification did not arrive.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ProofRequest,
    responses(
        (status = 200, description = "Waiting for treasury", body = PaymentView),
        (status = 409, description = "Payment not open (`payment_not_pending`), expired (`payment_expired`), or a proof already waits", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payments/{id}/proof")]
async fn proof(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    id: web::Path<String>,
    body: web::Json<ProofRequest>,
) -> ApiResult<web::Json<PaymentView>> {
    let reference = body.transfer_reference.trim();
    if reference.is_empty() || reference.len() > 64 {
        return Err(ApiError::field(
            "transfer_reference",
            "invalid_reference",
            "1 to 64 characters",
        ));
    }
    if body.paid_at > state.now() + chrono::Duration::minutes(5) {
        return Err(ApiError::field(
            "paid_at",
            "in_the_future",
            "a transfer cannot be in the future",
        ));
    }
    let updated = payment::submit_proof(&state, &auth, &id, reference, body.paid_at).await?;
    Ok(web::Json(updated.into()))
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
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationResponse {
    pub payment: PaymentView,
    /// For approvals: `approval_proposed` (the first treasury user's), then `applied` or
    /// `refund_due` (the second one's).
    pub outcome: Option<String>,
}

/// Treasury approves or rejects a buyer's transfer proof after checking the bank. Approval takes
/// two treasury users: the first proposes, the second's approval marks the bill paid.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The decision and the payment after it", body = VerificationResponse),
        (status = 403, description = "The proposer cannot approve too (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No proof waiting", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/payments/{id}/verification")]
async fn verification(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    body: web::Json<VerificationRequest>,
) -> ApiResult<web::Json<VerificationResponse>> {
    let approve = matches!(body.decision, Decision::Approve);
    let (found, decision) = payment::verify_proof(&state, &auth, &id, approve).await?;
    Ok(web::Json(VerificationResponse {
        payment: found.into(),
        outcome: match decision {
            payment::ProofDecision::Proposed => Some("approval_proposed".to_owned()),
            payment::ProofDecision::Received(outcome) => Some(outcome_str(outcome).to_owned()),
            payment::ProofDecision::Rejected => None,
        },
    }))
}
