//! Manual matches, proposed by one treasury user and approved by another.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::matching::{Found, apply_matches};
use super::{LineView, find_line};
use crate::batches::find_item;
use crate::views::ItemView;

/// A manual match waiting for, or decided by, a second treasury user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    pub id: String,
    pub statement_line_id: String,
    pub payout_item_id: String,
    pub note: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn proposal_row(r: &QueryResult) -> Result<ProposalView, sea_orm::DbErr> {
    Ok(ProposalView {
        id: r.try_get("", "id")?,
        statement_line_id: r.try_get("", "statement_line_id")?,
        payout_item_id: r.try_get("", "payout_item_id")?,
        note: r.try_get("", "note")?,
        status: r.try_get("", "status")?,
        proposed_by: r.try_get("", "proposed_by")?,
        proposed_at: r.try_get("", "proposed_at")?,
        decided_by: r.try_get("", "decided_by")?,
        decided_at: r.try_get("", "decided_at")?,
    })
}

const PROPOSAL_SELECT: &str = "SELECT id, statement_line_id, payout_item_id, note, status, \
     proposed_by, proposed_at, decided_by, decided_at FROM payout_match_proposals";

pub(super) async fn proposals<C: ConnectionTrait>(
    conn: &C,
    status: Option<&str>,
) -> ApiResult<Vec<ProposalView>> {
    let rows = match status {
        Some(s) => {
            sql::query(
                conn,
                format!("{PROPOSAL_SELECT} WHERE status = $1 ORDER BY proposed_at, id"),
                vec![s.into()],
            )
            .await?
        }
        None => {
            sql::query(
                conn,
                format!("{PROPOSAL_SELECT} ORDER BY proposed_at, id"),
                vec![],
            )
            .await?
        }
    };
    Ok(rows.iter().map(proposal_row).collect::<Result<_, _>>()?)
}

async fn find_proposal<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<ProposalView> {
    let row = sql::query_one(
        conn,
        format!("{PROPOSAL_SELECT} WHERE id = $1"),
        vec![id.into()],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("match"))?;
    Ok(proposal_row(&row)?)
}

/// Checks that a line and an item can be matched to each other now.
async fn check_pair<C: ConnectionTrait>(
    conn: &C,
    line_id: &str,
    item_id: &str,
) -> ApiResult<(LineView, ItemView)> {
    let line = find_line(conn, line_id).await?;
    let item = find_item(conn, item_id).await?;
    let mut v = peken_kernel::Validation::new();
    v.require(
        line.is_some(),
        "statement_line_id",
        "unknown_statement_line",
        "no statement line with this id",
    );
    v.require(
        item.is_some(),
        "payout_item_id",
        "unknown_payout_item",
        "no payout item with this id",
    );
    let (line, item) = v.finish_with((line, item))?;
    if line.status != "unmatched" {
        return Err(ApiError::conflict(
            "statement_line_matched",
            "this statement line is matched already",
        ));
    }
    if line.direction != "debit" {
        return Err(ApiError::unprocessable(
            "not_a_debit",
            "a payout is matched to a debit line",
        ));
    }
    if item.status != "approved" {
        return Err(ApiError::conflict(
            "payout_item_not_in_transit",
            format!("the payout item is {}, not in transit", item.status),
        )
        .with_context(serde_json::json!({ "status": item.status })));
    }
    if item.amount != line.amount {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "the line's amount differs from the item's",
        ));
    }
    Ok((line, item))
}

/// Proposes a manual match; it takes effect only when another treasury user approves it.
pub async fn propose(
    db: &DatabaseConnection,
    line_id: &str,
    item_id: &str,
    note: Option<String>,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<ProposalView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    check_pair(&txn, line_id, item_id).await?;
    let pending = sql::query_one(
        &txn,
        "SELECT id FROM payout_match_proposals WHERE status = 'pending' \
         AND (statement_line_id = $1 OR payout_item_id = $2)",
        vec![line_id.into(), item_id.into()],
    )
    .await?;
    if pending.is_some() {
        return Err(ApiError::conflict(
            "match_pending",
            "a manual match of this line or item is already waiting for approval",
        ));
    }
    let id = new_id();
    sql::exec(
        &txn,
        "INSERT INTO payout_match_proposals (id, statement_line_id, payout_item_id, note, status, \
         proposed_by, proposed_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
        vec![
            id.clone().into(),
            line_id.into(),
            item_id.into(),
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
        peken_audit::Change::new("reconciliation_match.proposed", "match_proposal", &id).after(
            serde_json::json!({
                "status": "pending", "statement_line_id": line_id, "payout_item_id": item_id,
            }),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// A second treasury user approves a manual match: the item is paid by the line and the ledger
/// moves the amount from in transit to the collection account.
pub async fn approve_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<ProposalView>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let proposal = find_proposal(txn, proposal_id).await?;
        decide(
            txn,
            "payout_match_proposals",
            proposal_id,
            (&proposal.status, &proposal.proposed_by),
            "approved",
            actor,
            now,
        )
        .await?;
        let (line, item) =
            check_pair(txn, &proposal.statement_line_id, &proposal.payout_item_id).await?;
        let value_date = peken_kernel::period::parse_date(&line.value_date)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored value date: {e}")))?;
        apply_matches(
            txn,
            &[Found {
                line_id: line.id,
                value_date,
                item,
                method: "manual",
            }],
            Some(&proposal.proposed_by),
            Some(actor),
            now,
        )
        .await?;
        let view = find_proposal(txn, proposal_id).await?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new(
                "reconciliation_match.approved",
                "match_proposal",
                proposal_id,
            )
            .before(serde_json::json!({"status": "pending"}))
            .after(serde_json::json!({
                "status": "approved", "statement_line_id": view.statement_line_id,
                "payout_item_id": view.payout_item_id,
            })),
            now,
        )
        .await?;
        let value = view;
        Ok(value)
    })
    .await
}

/// Rejects a pending manual match.
pub async fn reject_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<ProposalView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    let before = find_proposal(&txn, proposal_id).await?;
    decide(
        &txn,
        "payout_match_proposals",
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
            "reconciliation_match.rejected",
            "match_proposal",
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

/// Records a decision on a pending manual-match proposal in `table` (`payout_match_proposals`
/// or `credit_match_proposals`): a decided proposal is 409 `match_decided` with the status it
/// has, an approval by the proposer is 403 `four_eyes_required`, and the conditional update
/// makes two racing decisions one winner. `seen` is the proposal's status and proposer as read.
pub(super) async fn decide<C: ConnectionTrait>(
    conn: &C,
    table: &'static str,
    proposal_id: &str,
    seen: (&str, &str),
    decision: &'static str,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let (status, proposed_by) = seen;
    if status != "pending" {
        return Err(ApiError::conflict(
            "match_decided",
            format!("this match was {status} already"),
        )
        .with_context(serde_json::json!({ "status": status })));
    }
    if decision == "approved" && proposed_by == actor {
        return Err(ApiError::four_eyes());
    }
    let decided = sql::exec(
        conn,
        format!(
            "UPDATE {table} SET status = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND status = 'pending'"
        ),
        vec![
            decision.into(),
            actor.into(),
            now.into(),
            proposal_id.into(),
        ],
    )
    .await?;
    if decided != 1 {
        return Err(ApiError::conflict(
            "match_decided",
            "this match was decided meanwhile",
        ));
    }
    Ok(())
}
