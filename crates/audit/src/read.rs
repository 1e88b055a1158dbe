//! Reading the log: newest first, optionally about one subject or by one actor.

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use crate::chain::Row;
use crate::verify::read_row;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub actor_id: Option<String>,
    /// Only rows before this position (the cursor of the previous page).
    pub before_seq: Option<i64>,
}

/// Up to `limit` rows matching `filter`, newest first, each with its stored hash.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    limit: u64,
) -> Result<Vec<(Row, String)>, DbErr> {
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |sql: &str, value: Value| {
        values.push(value);
        conditions.push(format!("{sql} = ${}", values.len()));
    };
    if let Some(t) = &filter.subject_type {
        add("subject_type", t.clone().into());
    }
    if let Some(id) = &filter.subject_id {
        add("subject_id", id.clone().into());
    }
    if let Some(actor) = &filter.actor_id {
        add("actor_id", actor.clone().into());
    }
    if let Some(before) = filter.before_seq {
        values.push(before.into());
        conditions.push(format!("seq < ${}", values.len()));
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            format!(
                "SELECT seq, occurred_at, actor_id, actor_role, action, subject_type, subject_id, \
                 before_state, after_state, request_id, client_request_id, prev_hash, hash \
                 FROM audit_log {condition} \
                 ORDER BY seq DESC LIMIT ${}",
                values.len()
            ),
            values,
        ))
        .await?;
    rows.iter().map(read_row).collect()
}
