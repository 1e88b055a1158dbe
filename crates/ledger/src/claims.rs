//! Payable movements and their claims by payouts.
//!
//! Each merchant's movements are numbered (`seq`) in commit order. A payout item claims a range
//! `(seq_after, seq_to]` of one merchant and moves the merchant's watermark from `seq_after` to
//! `seq_to`; everything after the watermark is open. Claiming is a handful of statements for
//! thousands of merchants, whatever the number of orders, and an amount is claimed by one live
//! item at most because ranges only move the watermark forward from where it stood.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use peken_kernel::sql;

/// What one merchant's open movements up to a cut-off add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub merchant_id: String,
    pub amount: i64,
    pub movements: i64,
    pub oldest_receipt_at: Option<DateTime<Utc>>,
    /// The watermark the claim starts from.
    pub seq_after: i64,
    /// The last movement it covers.
    pub seq_to: i64,
}

const OPEN: &str = "WITH open_moves AS ( \
     SELECT m.merchant_id, m.seq, m.amount, m.occurred_at, m.receipt_at, \
     COALESCE(w.seq, 0) AS seq_after \
     FROM ledger_payable_movements m \
     LEFT JOIN payable_watermarks w ON w.merchant_id = m.merchant_id \
     WHERE m.seq > COALESCE(w.seq, 0)), \
     stops AS (SELECT merchant_id, MIN(seq) AS stop FROM open_moves \
     WHERE occurred_at > $1 GROUP BY merchant_id) \
     SELECT o.merchant_id, CAST(SUM(o.amount) AS BIGINT) AS amount, COUNT(*) AS movements, \
     MIN(o.receipt_at) AS oldest_receipt_at, MIN(o.seq_after) AS seq_after, \
     MAX(o.seq) AS seq_to \
     FROM open_moves o LEFT JOIN stops s ON s.merchant_id = o.merchant_id \
     WHERE s.stop IS NULL OR o.seq < s.stop \
     GROUP BY o.merchant_id ORDER BY o.merchant_id";

/// Per merchant, the open movements that occurred up to `cutoff`: from the watermark up to the
/// first open movement that occurred later (a later movement posted earlier waits, with all
/// after it, for the next cut-off, so a claim is always one contiguous range). Totals may be
/// zero or negative when refunds exceed sales; the caller decides what to pay.
pub async fn open_claims<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
) -> Result<Vec<Claim>, DbErr> {
    let rows = sql::query(conn, OPEN, vec![cutoff.into()]).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Claim {
                merchant_id: r.try_get("", "merchant_id")?,
                amount: r.try_get("", "amount")?,
                movements: r.try_get("", "movements")?,
                oldest_receipt_at: r.try_get("", "oldest_receipt_at")?,
                seq_after: r.try_get("", "seq_after")?,
                seq_to: r.try_get("", "seq_to")?,
            })
        })
        .collect()
}

/// Moves each claimed merchant's watermark from `seq_after` to `seq_to`, only where it still
/// stands at `seq_after`. Returns false (and the caller must roll back) when any merchant's
/// watermark moved meanwhile: another claim got there first.
pub async fn take<C: ConnectionTrait>(conn: &C, claims: &[Claim]) -> Result<bool, DbErr> {
    move_watermarks(
        conn,
        &claims
            .iter()
            .map(|c| (c.merchant_id.clone(), c.seq_after, c.seq_to))
            .collect::<Vec<_>>(),
    )
    .await
}

/// Gives claims back (a cancelled draft): each watermark returns from `seq_to` to `seq_after`,
/// only where it still stands at `seq_to`. Returns false when any had moved on.
pub async fn give_back<C: ConnectionTrait>(
    conn: &C,
    ranges: &[(String, i64, i64)],
) -> Result<bool, DbErr> {
    let reversed: Vec<(String, i64, i64)> = ranges
        .iter()
        .map(|(m, after, to)| (m.clone(), *to, *after))
        .collect();
    move_watermarks(conn, &reversed).await
}

/// Moves watermarks `(merchant, from, to)` with guarded statements: an UPDATE for merchants
/// whose watermark is past zero, an upsert for those at zero (with or without a row).
async fn move_watermarks<C: ConnectionTrait>(
    conn: &C,
    moves: &[(String, i64, i64)],
) -> Result<bool, DbErr> {
    let (fresh, existing): (Vec<_>, Vec<_>) = moves.iter().partition(|(_, from, _)| *from == 0);
    for chunk in existing.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (merchant, from, to) in chunk {
            values.extend([merchant.clone().into(), (*from).into(), (*to).into()]);
        }
        let changed = sql::exec(
            conn,
            format!(
                "UPDATE payable_watermarks SET seq = v.column3 FROM (VALUES {}) AS v \
                 WHERE payable_watermarks.merchant_id = v.column1 \
                 AND payable_watermarks.seq = v.column2",
                sql::values_rows(chunk.len(), 3, 1)
            ),
            values,
        )
        .await?;
        if changed != chunk.len() as u64 {
            return Ok(false);
        }
    }
    for chunk in fresh.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 2);
        for (merchant, _, to) in chunk {
            values.extend([merchant.clone().into(), (*to).into()]);
        }
        let inserted = sql::exec(
            conn,
            format!(
                "INSERT INTO payable_watermarks (merchant_id, seq) VALUES {} \
                 ON CONFLICT (merchant_id) DO UPDATE SET seq = excluded.seq \
                 WHERE payable_watermarks.seq = 0",
                sql::values_rows(chunk.len(), 2, 1)
            ),
            values,
        )
        .await?;
        if inserted != chunk.len() as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One movement of a claimed range, with the order (or the failed payout) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMovement {
    pub merchant_id: String,
    pub seq: i64,
    pub kind: String,
    pub order_id: Option<String>,
    /// The payout item a `payout_failed` movement returned to the payable.
    pub payout_item_id: Option<String>,
    pub amount: i64,
    pub occurred_at: DateTime<Utc>,
}

/// The movements of the given ranges `(merchant, seq_after, seq_to]`, by merchant and number.
pub async fn movements_in<C: ConnectionTrait>(
    conn: &C,
    ranges: &[(String, i64, i64)],
) -> Result<Vec<ClaimedMovement>, DbErr> {
    let mut out = Vec::new();
    for chunk in ranges.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (merchant, after, to) in chunk {
            values.extend([merchant.clone().into(), (*after).into(), (*to).into()]);
        }
        let rows = sql::query(
            conn,
            format!(
                "SELECT m.merchant_id, m.seq, m.kind, t.order_id, t.payout_item_id, m.amount, \
                 m.occurred_at \
                 FROM ledger_payable_movements m \
                 JOIN (VALUES {}) AS r ON m.merchant_id = r.column1 \
                 AND m.seq > r.column2 AND m.seq <= r.column3 \
                 JOIN ledger_transactions t ON t.id = m.txn_id \
                 ORDER BY m.merchant_id, m.seq",
                sql::values_rows(chunk.len(), 3, 1)
            ),
            values,
        )
        .await?;
        for r in rows {
            out.push(ClaimedMovement {
                merchant_id: r.try_get("", "merchant_id")?,
                seq: r.try_get("", "seq")?,
                kind: r.try_get("", "kind")?,
                order_id: r.try_get("", "order_id")?,
                payout_item_id: r.try_get("", "payout_item_id")?,
                amount: r.try_get("", "amount")?,
                occurred_at: r.try_get("", "occurred_at")?,
            });
        }
    }
    Ok(out)
}

/// Per merchant, every open movement that occurred up to `until` (after any stop), with the
/// oldest receipt among them: money owed but not yet in any payout.
pub async fn open_until<C: ConnectionTrait>(
    conn: &C,
    until: DateTime<Utc>,
) -> Result<Vec<Claim>, DbErr> {
    let rows = sql::query(
        conn,
        "SELECT m.merchant_id, CAST(SUM(m.amount) AS BIGINT) AS amount, COUNT(*) AS movements, \
         MIN(m.receipt_at) AS oldest_receipt_at, MIN(COALESCE(w.seq, 0)) AS seq_after, \
         MAX(m.seq) AS seq_to FROM ledger_payable_movements m \
         LEFT JOIN payable_watermarks w ON w.merchant_id = m.merchant_id \
         WHERE m.seq > COALESCE(w.seq, 0) AND m.occurred_at <= $1 \
         GROUP BY m.merchant_id ORDER BY m.merchant_id",
        vec![until.into()],
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Claim {
                merchant_id: r.try_get("", "merchant_id")?,
                amount: r.try_get("", "amount")?,
                movements: r.try_get("", "movements")?,
                oldest_receipt_at: r.try_get("", "oldest_receipt_at")?,
                seq_after: r.try_get("", "seq_after")?,
                seq_to: r.try_get("", "seq_to")?,
            })
        })
        .collect()
}
