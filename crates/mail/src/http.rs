//! Admin routes of the outbox.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::{AdminOnly, Auth};
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::outbox::message_id;
use crate::service;
use crate::store::outbox;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_outbox).service(retry_message);
    crate::me::configure(cfg);
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its first or next attempt.
    #[default]
    Pending,
    Sent,
    /// Every attempt failed, or the failure was permanent; waits for an admin.
    Failed,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => crate::outbox::PENDING,
            OutboxStatus::Sent => crate::outbox::SENT,
            OutboxStatus::Failed => crate::outbox::FAILED,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending` (the default), `sent` or `failed`.
    #[param(inline)]
    pub status: Option<OutboxStatus>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One message in the outbox. The body is not shown; the subject says what it is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    /// The Message-ID header every attempt of this message carries.
    pub message_id: String,
    /// Which template it was rendered from, e.g. `order_paid`.
    pub template: String,
    pub to: String,
    pub subject: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<outbox::Model> for OutboxMessage {
    fn from(m: outbox::Model) -> Self {
        Self {
            message_id: message_id(&m.id),
            id: m.id,
            template: m.template,
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// Messages in the outbox by status, newest first.
#[utoipa::path(
    tag = "mail",
    security(("bearer" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, description = "One page of messages", body = Page<OutboxMessage>),
        (status = 400, description = "Unknown status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/outbox")]
async fn list_outbox(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    query: web::Query<OutboxQuery>,
) -> ApiResult<web::Json<Page<OutboxMessage>>> {
    let query = query.into_inner();
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let before: Option<String> = page.cursor()?;
    let status = query.status.unwrap_or_default();
    let rows = service::list(&state, status.as_str(), before, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |m| m.id.clone(),
        OutboxMessage::from,
    )))
}

/// Sends a failed (or waiting) message again now, with a fresh set of attempts.
#[utoipa::path(
    tag = "mail",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Outbox message id")),
    responses(
        (status = 200, description = "The message, due now", body = OutboxMessage),
        (status = 404, description = "No such message", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already sent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
async fn retry_message(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<OutboxMessage>> {
    let row = service::retry(&state, &auth, &id).await?;
    Ok(web::Json(OutboxMessage::from(row)))
}
