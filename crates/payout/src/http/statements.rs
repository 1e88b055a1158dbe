//! Bank statement import, the exceptions list and manual matches.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use peken_kernel::auth::{Auth, TreasuryOnly};
use peken_kernel::error::Problem;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::pagination::MAX_LIMIT;
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use peken_kernel::export::ExportParams;

use crate::reconcile::{self, CreditProposalView, Exceptions, Format, ImportResult, ProposalView};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(import_statement)
        .service(exceptions)
        .service(propose_match)
        .service(approve_match)
        .service(reject_match)
        .service(propose_credit_match)
        .service(approve_credit_match)
        .service(reject_credit_match);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The account the statement is of, for CSV files (MT940 names it in `:25:`).
    pub account: Option<String>,
}

/// Import a bank statement of the collection account: `text/csv`
/// (`value_date,description,debit,credit,balance`) or MT940 (`application/x-mt940`, or
/// `text/plain` containing `:20:`). Lines are stored raw and deduplicated by content, so
/// importing the same lines again adds nothing; payout debits are matched by reference and exact
/// amount, then by amount, date window and account. A file with any bad line is refused whole.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(ImportQuery, ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    request_body(description = "The statement file", content(
        (String = "text/csv"),
        (String = "application/x-mt940"),
        (String = "text/plain"),
    )),
    responses(
        (status = 201, description = "Imported", body = ImportResult),
        (status = 200, description = "The same statement was imported before; nothing added", body = ImportResult),
        (status = 422, description = "Bad lines, each listed as `line N`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/bank-statements")]
async fn import_statement(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::unprocessable("invalid_encoding", "the statement must be UTF-8 text")
    })?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let account = query
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    if account.as_ref().is_some_and(|a| a.len() > 64) {
        return Err(ApiError::field(
            "account",
            "too_long",
            "at most 64 characters",
        ));
    }
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "bank_statements.import",
        &json!({"account": account, "body": text}),
    )?;
    let parsed = reconcile::parse(Format::detect(content_type, text), text, account)?;
    let outcome = reconcile::import(&state.db, &parsed, &auth, state.now(), key.as_ref()).await?;
    Ok(match outcome {
        Outcome::Done(result) if result.already_imported => HttpResponse::Ok().json(result),
        other => idempotency::respond(other, 201),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionQuery {
    /// Unmatched lines of this direction: `debit` (default: money that left and no payout
    /// explains), `credit`, or `all`.
    pub direction: Option<String>,
    /// Longest list: 1 to 200, default 200.
    pub limit: Option<u32>,
}

/// What reconciliation could not settle: unmatched statement lines, payouts in transit past the
/// allowed working days, credit lines no bill explains, callbacks' money no credit confirms
/// after `PEKEN_RECEIPT_UNCONFIRMED_WORKING_DAYS` working days, and manual matches waiting for
/// approval. `format=csv` gives one table with a `kind` column (the list a row is from),
/// `format=xlsx` a workbook with one sheet per list.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(ExceptionQuery, ExportParams),
    responses(
        (status = 200, description = "Exceptions", content(
            (Exceptions = "application/json"),
            (String = "text/csv"),
            (inline(peken_kernel::http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/treasury/reconciliation/exceptions")]
async fn exceptions(
    state: web::Data<AppState>,
    _auth: Auth<TreasuryOnly>,
    query: web::Query<ExceptionQuery>,
    params: web::Query<ExportParams>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let direction = match query.direction.as_deref().unwrap_or("debit") {
        "all" => None,
        d @ ("debit" | "credit") => Some(d),
        _ => {
            return Err(ApiError::field(
                "direction",
                "invalid_direction",
                "debit, credit or all",
            ));
        }
    };
    let limit = match query.limit {
        None => u64::from(MAX_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => u64::from(n),
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                "invalid_limit",
                format!("limit must be from 1 to {MAX_LIMIT}"),
            ));
        }
    };
    let found = reconcile::exceptions(
        &state.db,
        &state.calendar,
        direction,
        limit,
        state.settings.receipt_unconfirmed_working_days,
        state.now(),
    )
    .await?;
    reconcile::exceptions_download(&req, &params, &found, state.now())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MatchRequest {
    pub statement_line_id: String,
    pub payout_item_id: String,
    /// Why the two belong together.
    pub note: Option<String>,
}

/// Propose a manual match of a statement line to a payout item in transit (same amount). It
/// takes effect only when a second treasury user approves it.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    request_body = MatchRequest,
    responses(
        (status = 201, description = "Waiting for approval", body = ProposalView),
        (status = 409, description = "Line matched, item not in transit, or a match is pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown line or item, or amounts differ", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/matches")]
async fn propose_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    body: web::Json<MatchRequest>,
) -> ApiResult<HttpResponse> {
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(500).collect());
    let proposal = reconcile::propose(
        &state.db,
        &body.statement_line_id,
        &body.payout_item_id,
        note,
        &auth,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(proposal))
}

/// Approve a manual match (a treasury user other than the proposer): the item is paid by the
/// line, and the ledger moves its amount from in transit to the collection account.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Match id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    responses(
        (status = 200, description = "Approved and applied", body = ProposalView),
        (status = 403, description = "The proposer cannot approve (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such match", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or the line or item changed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/matches/{id}/approval")]
async fn approve_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "matches.approve",
        &json!({"match_id": &*id}),
    )?;
    let outcome =
        reconcile::approve_match(&state.db, &id, &auth, state.now(), key.as_ref()).await?;
    Ok(idempotency::respond(outcome, 200))
}

/// Reject a pending manual match.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Match id")),
    responses(
        (status = 200, description = "Rejected", body = ProposalView),
        (status = 404, description = "No such match", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/matches/{id}/rejection")]
async fn reject_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ProposalView>> {
    Ok(web::Json(
        reconcile::reject_match(&state.db, &id, &auth, state.now()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreditMatchRequest {
    /// A credit line of an imported statement.
    pub statement_line_id: String,
    /// The bill the money was for (same amount).
    pub payment_id: String,
    /// Why the two belong together.
    pub note: Option<String>,
}

/// Propose a manual match of a credit line to a bill (same amount). It takes effect only when
/// a second treasury user approves it.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    request_body = CreditMatchRequest,
    responses(
        (status = 201, description = "Waiting for approval", body = CreditProposalView),
        (status = 409, description = "Line matched already, or a match of it is pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown line or bill, not a credit, or amounts differ", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/credit-matches")]
async fn propose_credit_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    body: web::Json<CreditMatchRequest>,
) -> ApiResult<HttpResponse> {
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(500).collect());
    let proposal = reconcile::propose_credit(
        &state.db,
        &body.statement_line_id,
        &body.payment_id,
        note,
        &auth,
        state.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(proposal))
}

/// Approve a manual credit match (a treasury user other than the proposer): the credit confirms
/// the money a callback recorded, pays the pending bill, or is recorded as owed back, exactly as
/// an automatic match would.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Credit match id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key returns the first answer")),
    responses(
        (status = 200, description = "Approved and applied", body = CreditProposalView),
        (status = 403, description = "The proposer cannot approve (`four_eyes_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such match", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, or the line was matched meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The line or bill changed so they no longer agree", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/credit-matches/{id}/approval")]
async fn approve_credit_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = Key::from_request(
        &req,
        &auth.user_id,
        "credit_matches.approve",
        &json!({"match_id": &*id}),
    )?;
    let outcome =
        reconcile::approve_credit_match(&state.db, &id, &auth, state.now(), key.as_ref()).await?;
    Ok(idempotency::respond(outcome, 200))
}

/// Reject a pending manual credit match; nothing else changes.
#[utoipa::path(
    tag = "reconciliation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Credit match id")),
    responses(
        (status = 200, description = "Rejected", body = CreditProposalView),
        (status = 404, description = "No such match", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/treasury/reconciliation/credit-matches/{id}/rejection")]
async fn reject_credit_match(
    state: web::Data<AppState>,
    auth: Auth<TreasuryOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<CreditProposalView>> {
    Ok(web::Json(
        reconcile::reject_credit_match(&state.db, &id, &auth, state.now()).await?,
    ))
}
