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

/// Statements joined into one on PostgreSQL: `WITH a AS (…), b AS (…) <last>`, each part
/// written with its own placeholders from `$1` and numbered after the parts before it. A part
/// may read what an earlier one returns (`RETURNING`) by its name; data-modifying parts run
/// once, whether or not anything reads them, and all of them see the same snapshot.
#[derive(Debug, Default)]
pub struct Chain {
    sql: String,
    values: Vec<Value>,
}

impl Chain {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name AS (sql)`.
    pub fn with(&mut self, name: &str, sql: &str, values: Vec<Value>) -> &mut Self {
        self.sql
            .push_str(if self.sql.is_empty() { "WITH " } else { ", " });
        self.sql.push_str(name);
        self.sql.push_str(" AS (");
        self.sql.push_str(&renumber(sql, self.values.len()));
        self.sql.push(')');
        self.values.extend(values);
        self
    }

    /// Adds a statement's SQL and values (a sea-orm statement built for PostgreSQL).
    pub fn with_statement(&mut self, name: &str, statement: Statement) -> &mut Self {
        let values = statement.values.map(|v| v.0).unwrap_or_default();
        self.with(name, &statement.sql, values)
    }

    /// The whole statement, ending with `last`.
    pub fn finish(mut self, last: &str, values: Vec<Value>) -> Statement {
        self.sql.push(' ');
        self.sql.push_str(&renumber(last, self.values.len()));
        self.values.extend(values);
        Statement::from_sql_and_values(DbBackend::Postgres, self.sql, self.values)
    }
}

/// `INSERT … VALUES (…)` made `INSERT … SELECT * FROM (VALUES (…)) AS v WHERE <condition>`:
/// inside a [`Chain`], rows written only when an earlier part wrote or found something
/// (`EXISTS (SELECT 1 FROM p)`). The statement must end with its VALUES.
pub fn insert_only_if(statement: Statement, condition: &str) -> Statement {
    let sql = statement
        .sql
        .replacen(" VALUES ", " SELECT * FROM (VALUES ", 1)
        + ") AS v WHERE "
        + condition;
    Statement { sql, ..statement }
}

/// `sql` with every placeholder `$n` made `$(n + offset)`. The parts are this code's own SQL,
/// whose values are all bound: a `$` followed by digits is always a placeholder.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n: usize = 0;
        let mut digits = false;
        while let Some(&(_, d)) = chars.peek() {
            let Some(v) = d.to_digit(10) else { break };
            n = n * 10 + v as usize;
            digits = true;
            chars.next();
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_numbers_each_part_after_the_ones_before() {
        let mut chain = Chain::new();
        chain
            .with(
                "a",
                "UPDATE t SET x = $1 WHERE id = $2 RETURNING id",
                vec![1.into(), "i".into()],
            )
            .with(
                "b",
                "INSERT INTO u (id, y) SELECT id, $1 FROM a",
                vec![2.into()],
            );
        let s = chain.finish(
            "SELECT id, $1 FROM a WHERE $2 > 0 AND $1 < 10",
            vec![3.into(), 4.into()],
        );
        assert_eq!(
            s.sql,
            "WITH a AS (UPDATE t SET x = $1 WHERE id = $2 RETURNING id), \
             b AS (INSERT INTO u (id, y) SELECT id, $3 FROM a) \
             SELECT id, $4 FROM a WHERE $5 > 0 AND $4 < 10"
        );
        assert_eq!(s.values.map(|v| v.0.len()), Some(5));
        assert_eq!(renumber("$12 $1$2 $ x", 10), "$22 $11$12 $ x");
    }

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(values_rows(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_rows(1, 1, 4), "($4)");
        assert_eq!(list(3, 2), "$2, $3, $4");
    }
}
