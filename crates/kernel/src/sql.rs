//! Small helpers for portable raw SQL: numbered placeholders work on PostgreSQL and SQLite.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// Rows per multi-row statement. Kept well under SQLite's limit of 32,766 bound values and
/// PostgreSQL's 65,535 for the widest rows written here.
pub const CHUNK_ROWS: usize = 1_000;

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `cols` values, numbered from `first`.
pub fn values_rows(rows: usize, cols: usize, first: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    let mut n = first;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for col in 0..cols {
            if col > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&n.to_string());
            n += 1;
        }
        out.push(')');
    }
    out
}

/// `$first, $first+1, …` for an `IN (…)` list of `count` values.
pub fn list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AND merchant_id IN (…)` for the shops given, its placeholders numbered from `first`, and
/// their values; nothing for all shops (`None`).
pub fn shop_filter(shops: Option<&[String]>, first: usize) -> (String, Vec<Value>) {
    match shops {
        None => (String::new(), Vec::new()),
        Some(ids) => (
            format!(" AND merchant_id IN ({})", list(ids.len(), first)),
            ids.iter().map(|id| Value::from(id.clone())).collect(),
        ),
    }
}

/// The WIB day of a UTC timestamp column as `YYYY-MM-DD` text, on either database (WIB is
/// UTC+7 without daylight saving time).
pub fn wib_day(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("TO_CHAR({column} AT TIME ZONE 'UTC' + INTERVAL '7 hours', 'YYYY-MM-DD')")
        }
        _ => format!("DATE({column}, '+7 hours')"),
    }
}

pub fn stmt(backend: DbBackend, sql: impl Into<String>, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql.into(), values)
}

pub async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: impl Into<String>,
    values: Vec<Value>,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    Ok(conn
        .execute_raw(stmt(backend, sql, values))
        .await?
        .rows_affected())
}

pub async fn query<C: ConnectionTrait>(
    conn: &C,
    sql: impl Into<String>,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = conn.get_database_backend();
    conn.query_all_raw(stmt(backend, sql, values)).await
}

pub async fn query_one<C: ConnectionTrait>(
    conn: &C,
    sql: impl Into<String>,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, DbErr> {
    let backend = conn.get_database_backend();
    conn.query_one_raw(stmt(backend, sql, values)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(values_rows(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_rows(1, 1, 4), "($4)");
        assert_eq!(list(3, 2), "$2, $3, $4");
    }
}
