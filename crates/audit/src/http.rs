//! The audit log for admins and treasury: who changed what, newest first.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::Auth;
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState, role_set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::chain::Row;
use crate::read::{Filter, list};

role_set!(pub AuditReaders = [Admin, Treasury]);

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(audit_log);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes of this kind of thing, e.g. `merchant`, `listing`, `payout_batch`.
    pub subject_type: Option<String>,
    /// Only changes of this one (with `subject_type`).
    pub subject_id: Option<String>,
    /// Only changes made by this user.
    pub actor_id: Option<String>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One row of the audit log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    /// The actor's role, or `system` for a background process.
    pub actor_role: String,
    /// What was done, e.g. `merchant.suspended`.
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    /// The relevant state before the change (absent for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The relevant state after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The HTTP request that made the change (the server's id, as in its `X-Request-Id` answer
    /// and its log).
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client sent with that request, if it sent a sane one.
    pub client_request_id: Option<String>,
    /// The SHA-256 of this row and the previous row's hash; `peken audit verify` checks them.
    pub hash: String,
}

impl AuditEntry {
    fn new(row: Row, hash: String) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            seq: row.seq,
            occurred_at: row.occurred_at,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            before: json(row.before_state),
            after: json(row.after_state),
            request_id: row.request_id,
            client_request_id: row.client_request_id,
            hash,
        }
    }
}

/// The audit log, newest first: every change of money, stock, status or policy made by an
/// admin, treasury or a merchant, with the state before and after.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the log", body = Page<AuditEntry>),
        (status = 422, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/audit-log")]
async fn audit_log(
    state: web::Data<AppState>,
    _auth: Auth<AuditReaders>,
    query: web::Query<AuditQuery>,
) -> ApiResult<web::Json<Page<AuditEntry>>> {
    let query = query.into_inner();
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let filter = Filter {
        subject_type: query.subject_type,
        subject_id: query.subject_id,
        actor_id: query.actor_id,
        before_seq: page.cursor()?,
    };
    let rows = list(&state.read_db(), &filter, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |(row, _)| row.seq,
        |(row, hash)| AuditEntry::new(row, hash),
    )))
}
