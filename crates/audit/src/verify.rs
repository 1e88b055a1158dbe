//! Walking the chain: every row's hash recomputed, every link checked, the head compared with
//! the last row.

use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, Value};

use crate::chain::{GENESIS, Row, hash_row};

/// Rows read per query while verifying.
const PAGE: i64 = 1000;

/// One place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The row's content no longer matches its hash: it was edited.
    Edited { seq: i64 },
    /// The row does not point at the hash of the row before it: a row before it was replaced.
    Unlinked { seq: i64 },
    /// Positions `from..=to` are missing: those rows were deleted.
    Missing { from: i64, to: i64 },
    /// The head names a position or hash the last row does not have: rows at the end were
    /// deleted or the last row replaced.
    Head { head_seq: i64, last_seq: i64 },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Edited { seq } => write!(f, "row {seq}: content does not match its hash"),
            Break::Unlinked { seq } => {
                write!(
                    f,
                    "row {seq}: does not chain to the hash of the row before it"
                )
            }
            Break::Missing { from, to } if from == to => write!(f, "row {from}: missing"),
            Break::Missing { from, to } => write!(f, "rows {from} to {to}: missing"),
            Break::Head { head_seq, last_seq } => write!(
                f,
                "head: names row {head_seq} but the chain ends at row {last_seq} with another hash"
            ),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows read.
    pub rows: u64,
    /// The position and hash of the head when verification began.
    pub head_seq: i64,
    pub head_hash: String,
    pub breaks: Vec<Break>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// Verifies the chain up to the head as it is now. Rows appended while this runs are beyond the
/// head read first and are left for the next run.
pub async fn verify<C: ConnectionTrait>(conn: &C) -> Result<Verification, DbErr> {
    let backend = conn.get_database_backend();
    let head = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq, hash FROM audit_head WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".to_owned()))?;
    let head_seq: i64 = head.try_get("", "seq")?;
    let head_hash: String = head.try_get("", "hash")?;

    let mut breaks = Vec::new();
    let mut rows = 0_u64;
    let mut last_seq = 0_i64;
    let mut last_hash = GENESIS.to_owned();
    loop {
        let page = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT seq, occurred_at, actor_id, actor_role, action, subject_type, subject_id, \
                 before_state, after_state, request_id, client_request_id, prev_hash, hash \
                 FROM audit_log \
                 WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
                [
                    Value::from(last_seq),
                    Value::from(head_seq),
                    Value::from(PAGE),
                ],
            ))
            .await?;
        if page.is_empty() {
            break;
        }
        for result in &page {
            let (row, stored_hash) = read_row(result)?;
            rows += 1;
            if row.seq != last_seq + 1 {
                breaks.push(Break::Missing {
                    from: last_seq + 1,
                    to: row.seq - 1,
                });
            }
            if row.prev_hash != last_hash {
                breaks.push(Break::Unlinked { seq: row.seq });
            }
            if hash_row(&row) != stored_hash {
                breaks.push(Break::Edited { seq: row.seq });
            }
            last_seq = row.seq;
            last_hash = stored_hash;
        }
    }
    if last_seq != head_seq || last_hash != head_hash {
        if last_seq < head_seq {
            breaks.push(Break::Missing {
                from: last_seq + 1,
                to: head_seq,
            });
        } else {
            breaks.push(Break::Head { head_seq, last_seq });
        }
    }
    Ok(Verification {
        rows,
        head_seq,
        head_hash,
        breaks,
    })
}

pub(crate) fn read_row(r: &QueryResult) -> Result<(Row, String), DbErr> {
    let row = Row {
        seq: r.try_get("", "seq")?,
        occurred_at: r.try_get::<DateTime<Utc>>("", "occurred_at")?,
        actor_id: r.try_get("", "actor_id")?,
        actor_role: r.try_get("", "actor_role")?,
        action: r.try_get("", "action")?,
        subject_type: r.try_get("", "subject_type")?,
        subject_id: r.try_get("", "subject_id")?,
        before_state: r.try_get("", "before_state")?,
        after_state: r.try_get("", "after_state")?,
        request_id: r.try_get("", "request_id")?,
        client_request_id: r.try_get("", "client_request_id")?,
        prev_hash: r.try_get("", "prev_hash")?,
    };
    let hash = r.try_get("", "hash")?;
    Ok((row, hash))
}
