//! Manual matches of credit lines to bills, proposed by one treasury user and approved by
//! another; approval has exactly the effect of an automatic match.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_order::credit::{Credit, CreditMatch, receive_credit};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credits::mark_matched;
use super::manual::decide;
use super::{LineView, find_line};

/// A manual match of a credit line to a bill, waiting for or decided by a second treasury user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditProposalView {
    pub id: String,
    pub statement_line_id: String,
    pub payment_id: String,
    pub note: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// What the approval did: `confirmed` (a callback's money), `paid` (a pending bill) or
    /// `refund_due` (the bill could not take it; owed back). Only in the approval's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

fn proposal_row(r: &QueryResult) -> Result<CreditProposalView, sea_orm::DbErr> {
    Ok(CreditProposalView {
        id: r.try_get("", "id")?,
        statement_line_id: r.try_get("", "statement_line_id")?,
        payment_id: r.try_get("", "payment_id")?,
        note: r.try_get("", "note")?,
        status: r.try_get("", "status")?,
        proposed_by: r.try_get("", "proposed_by")?,
        proposed_at: r.try_get("", "proposed_at")?,
        decided_by: r.try_get("", "decided_by")?,
        decided_at: r.try_get("", "decided_at")?,
        outcome: None,
    })
}

const PROPOSAL_SELECT: &str = "SELECT id, statement_line_id, payment_id, note, status, \
     proposed_by, proposed_at, decided_by, decided_at FROM credit_match_proposals";

pub(super) async fn credit_proposals<C: ConnectionTrait>(
    conn: &C,
    status: &str,
) -> ApiResult<Vec<CreditProposalView>> {
    let rows = sql::query(
        conn,
        format!("{PROPOSAL_SELECT} WHERE status = $1 ORDER BY proposed_at, id"),
        vec![status.into()],
    )
    .await?;
    Ok(rows.iter().map(proposal_row).collect::<Result<_, _>>()?)
}

async fn find_proposal<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<CreditProposalView> {
    let row = sql::query_one(
        conn,
        format!("{PROPOSAL_SELECT} WHERE id = $1"),
        vec![id.into()],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("match"))?;
    Ok(proposal_row(&row)?)
}

/// Checks that a credit line and a bill can be matched now.
async fn check_pair<C: ConnectionTrait>(
    conn: &C,
    line_id: &str,
    payment_id: &str,
) -> ApiResult<LineView> {
    let line = find_line(conn, line_id).await?;
    let bill = match peken_order::payment::find(conn, payment_id).await {
        Ok(bill) => Some(bill),
        Err(e) if e.status() == actix_web::http::StatusCode::NOT_FOUND => None,
        Err(e) => return Err(e),
    };
    let mut v = peken_kernel::Validation::new();
    v.require(
        line.is_some(),
        "statement_line_id",
        "unknown_statement_line",
        "no statement line with this id",
    );
    v.require(
        bill.is_some(),
        "payment_id",
        "unknown_payment",
        "no bill with this id",
    );
    let (line, bill) = v.finish_with((line, bill))?;
    if line.status != "unmatched" {
        return Err(ApiError::conflict(
            "statement_line_matched",
            "this statement line is matched already",
        ));
    }
    if line.direction != "credit" {
        return Err(ApiError::unprocessable(
            "not_a_credit",
            "a bill is matched to a credit line",
        ));
    }
    if bill.amount != line.amount.get() {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "the line's amount differs from the bill's",
        ));
    }
    Ok(line)
}

/// Proposes a manual match of a credit line to a bill; it takes effect only when another
/// treasury user approves it.
pub async fn propose_credit(
    db: &DatabaseConnection,
    line_id: &str,
    payment_id: &str,
    note: Option<String>,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<CreditProposalView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    check_pair(&txn, line_id, payment_id).await?;
    let pending = sql::query_one(
        &txn,
        "SELECT id FROM credit_match_proposals WHERE status = 'pending' AND statement_line_id = $1",
        vec![line_id.into()],
    )
    .await?;
    if pending.is_some() {
        return Err(ApiError::conflict(
            "match_pending",
            "a manual match of this line is already waiting for approval",
        ));
    }
    let id = new_id();
    sql::exec(
        &txn,
        "INSERT INTO credit_match_proposals (id, statement_line_id, payment_id, note, status, \
         proposed_by, proposed_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
        vec![
            id.clone().into(),
            line_id.into(),
            payment_id.into(),
            note.into(),
            actor.into(),
            now.into(),
        ],
    )
    .await?;
    let view = find_proposal(&txn, &id).await?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new("credit_match.proposed", "credit_match_proposal", &id).after(
            serde_json::json!({
                "status": "pending", "statement_line_id": line_id, "payment_id": payment_id,
            }),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// A second treasury user approves a manual credit match: the credit confirms a callback's
/// money, pays the pending bill, or is owed back, exactly like an automatic match.
pub async fn approve_credit_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<CreditProposalView>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let proposal = find_proposal(txn, proposal_id).await?;
        decide(
            txn,
            "credit_match_proposals",
            proposal_id,
            (&proposal.status, &proposal.proposed_by),
            "approved",
            actor,
            now,
        )
        .await?;
        let line = check_pair(txn, &proposal.statement_line_id, &proposal.payment_id).await?;
        let value_date = peken_kernel::period::parse_date(&line.value_date)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored value date: {e}")))?;
        let credit = Credit {
            line_id: line.id.clone(),
            value_date,
            amount: Rupiah::new(line.amount.get()),
            narrative: line.description.clone(),
        };
        let outcome = receive_credit(txn, &proposal.payment_id, &credit, now).await?;
        mark_matched(
            txn,
            &[CreditMatch {
                line_id: line.id,
                payment_id: proposal.payment_id.clone(),
                outcome,
            }],
        )
        .await?;
        let mut view = find_proposal(txn, proposal_id).await?;
        view.outcome = Some(outcome.as_str().to_owned());
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new(
                "credit_match.approved",
                "credit_match_proposal",
                proposal_id,
            )
            .before(serde_json::json!({"status": "pending"}))
            .after(serde_json::json!({
                "status": "approved", "statement_line_id": view.statement_line_id,
                "payment_id": view.payment_id, "outcome": outcome.as_str(),
                "amount": line.amount,
            })),
            now,
        )
        .await?;
        Ok(view)
    })
    .await
}

/// Rejects a pending manual credit match; nothing else changes.
pub async fn reject_credit_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<CreditProposalView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    let before = find_proposal(&txn, proposal_id).await?;
    decide(
        &txn,
        "credit_match_proposals",
        proposal_id,
        (&before.status, &before.proposed_by),
        "rejected",
        actor,
        now,
    )
    .await?;
    let proposal = find_proposal(&txn, proposal_id).await?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new(
            "credit_match.rejected",
            "credit_match_proposal",
            proposal_id,
        )
        .before(serde_json::json!({"status": "pending"}))
        .after(serde_json::json!({"status": "rejected"})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(proposal)
}
