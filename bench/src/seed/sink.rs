//! Bulk writing of generated rows: PostgreSQL `COPY … FROM STDIN` when the database is
//! PostgreSQL, multi-row INSERTs otherwise.
//!
//! Rows are buffered per table and flushed together, tables in the order they were declared, so
//! that a parent row is always written before the rows that refer to it. On PostgreSQL the COPY
//! sessions run as `session_replication_role = replica`, as `pg_restore --disable-triggers`
//! does: foreign keys are not checked row by row (that lock on every parent row would make the
//! load several times slower), and the seed checks every reference once at the end instead.
//! Tables are then copied over a few connections at once.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::{Connection, Executor, PgConnection};
use sea_orm::{DatabaseConnection, DbBackend, Value};

/// One value of a generated row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Self {
        Cell::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(v: &'a String) -> Self {
        Cell::Text(Some(v.as_str()))
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Cell::Text(v)
    }
}

impl From<i64> for Cell<'_> {
    fn from(v: i64) -> Self {
        Cell::Int(Some(v))
    }
}

impl From<i32> for Cell<'_> {
    fn from(v: i32) -> Self {
        Cell::Int(Some(i64::from(v)))
    }
}

impl From<bool> for Cell<'_> {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}

impl From<DateTime<Utc>> for Cell<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Cell::Time(Some(v))
    }
}

impl From<Option<DateTime<Utc>>> for Cell<'_> {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Cell::Time(v)
    }
}

/// A table and the columns the generator writes, in row order.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

struct Buffer {
    table: &'static Table,
    copy_text: Vec<u8>,
    values: Vec<Value>,
    rows: usize,
}

/// Buffers rows and writes them in bulk.
pub struct Sink {
    db: DatabaseConnection,
    /// COPY sessions on PostgreSQL; none elsewhere.
    copiers: Vec<PgConnection>,
    buffers: Vec<Buffer>,
    buffered: usize,
    /// Rows written per table, in declaration order.
    pub written: Vec<(&'static str, u64)>,
}

/// Flush once this many bytes of COPY text (or bound values) are buffered.
const FLUSH_AT: usize = 32 << 20;
/// Connections copying at once: the database server does the work, on every core it has.
const COPY_SESSIONS: usize = 3;
/// Bound values per INSERT statement, under SQLite's limit of 32,766.
const VALUES_PER_INSERT: usize = 30_000;

impl Sink {
    /// A sink for `tables`, flushed in this order; `url` is the database's, for the COPY
    /// sessions.
    pub async fn new(
        db: DatabaseConnection,
        url: &str,
        tables: &[&'static Table],
    ) -> anyhow::Result<Sink> {
        let mut copiers = Vec::new();
        if db.get_database_backend() == DbBackend::Postgres {
            for _ in 0..COPY_SESSIONS {
                let mut conn = PgConnection::connect(url)
                    .await
                    .context("opening a COPY session")?;
                conn.execute("SET session_replication_role = replica")
                    .await
                    .context("the seed needs a superuser to load without row-by-row FK checks")?;
                conn.execute("SET synchronous_commit = off").await?;
                copiers.push(conn);
            }
        }
        Ok(Sink {
            db,
            copiers,
            buffers: tables
                .iter()
                .map(|t| Buffer {
                    table: t,
                    copy_text: Vec::new(),
                    values: Vec::new(),
                    rows: 0,
                })
                .collect(),
            buffered: 0,
            written: tables.iter().map(|t| (t.name, 0)).collect(),
        })
    }

    /// Adds a row to `table`; writes everything buffered when the buffers are full.
    pub async fn row(&mut self, table: &'static Table, cells: &[Cell<'_>]) -> anyhow::Result<()> {
        anyhow::ensure!(
            cells.len() == table.columns.len(),
            "{}: {} values for {} columns",
            table.name,
            cells.len(),
            table.columns.len()
        );
        let copy = !self.copiers.is_empty();
        let buffer = self
            .buffers
            .iter_mut()
            .find(|b| std::ptr::eq(b.table, table))
            .with_context(|| format!("table {} not declared", table.name))?;
        if copy {
            let before = buffer.copy_text.len();
            encode_copy_row(&mut buffer.copy_text, cells);
            self.buffered += buffer.copy_text.len() - before;
        } else {
            buffer.values.extend(cells.iter().map(|c| to_value(*c)));
            self.buffered += cells.len() * 32;
        }
        buffer.rows += 1;
        if self.buffered >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes every buffered row: on PostgreSQL the tables spread over the COPY sessions, else
    /// table by table in declaration order.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        let mut work: Vec<Vec<(&'static Table, Vec<u8>)>> = vec![Vec::new(); self.copiers.len()];
        let mut next = 0;
        for i in 0..self.buffers.len() {
            let buffer = &mut self.buffers[i];
            if buffer.rows == 0 {
                continue;
            }
            let table = buffer.table;
            self.written[i].1 += buffer.rows as u64;
            buffer.rows = 0;
            if work.is_empty() {
                let values = std::mem::take(&mut buffer.values);
                insert(&self.db, table, values).await?;
            } else {
                let sessions = work.len();
                work[next % sessions].push((table, std::mem::take(&mut buffer.copy_text)));
                next += 1;
            }
        }
        let sessions = self
            .copiers
            .iter_mut()
            .zip(work)
            .map(|(conn, jobs)| async move {
                for (table, text) in jobs {
                    copy_in(conn, table, &text).await?;
                }
                anyhow::Ok(())
            });
        for done in futures_util::future::join_all(sessions).await {
            done?;
        }
        self.buffered = 0;
        Ok(())
    }
}

async fn copy_in(conn: &mut PgConnection, table: &Table, text: &[u8]) -> anyhow::Result<()> {
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        table.name,
        table.columns.join(", ")
    );
    let mut copy = conn
        .copy_in_raw(&statement)
        .await
        .with_context(|| format!("starting COPY into {}", table.name))?;
    copy.send(text)
        .await
        .with_context(|| format!("COPY into {}", table.name))?;
    copy.finish()
        .await
        .with_context(|| format!("COPY into {}", table.name))?;
    Ok(())
}

async fn insert(db: &DatabaseConnection, table: &Table, values: Vec<Value>) -> anyhow::Result<()> {
    let cols = table.columns.len();
    let per_statement = (VALUES_PER_INSERT / cols).max(1);
    let mut values = values.into_iter();
    loop {
        let chunk: Vec<Value> = values.by_ref().take(per_statement * cols).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        let rows = chunk.len() / cols;
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            table.columns.join(", "),
            peken_kernel::sql::values_rows(rows, cols, 1)
        );
        peken_kernel::sql::exec(db, sql, chunk)
            .await
            .with_context(|| format!("INSERT into {}", table.name))?;
    }
}

fn to_value(cell: Cell<'_>) -> Value {
    match cell {
        Cell::Text(v) => v.map(str::to_owned).into(),
        Cell::Int(v) => v.into(),
        Cell::Bool(v) => v.into(),
        Cell::Time(v) => v.into(),
    }
}

/// One row in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn encode_copy_row(out: &mut Vec<u8>, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Text(None) | Cell::Int(None) | Cell::Time(None) => out.extend_from_slice(b"\\N"),
            Cell::Text(Some(s)) => escape_into(out, s),
            Cell::Int(Some(n)) => out.extend_from_slice(n.to_string().as_bytes()),
            Cell::Bool(b) => out.push(if *b { b't' } else { b'f' }),
            Cell::Time(Some(t)) => {
                let s = t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
    out.push(b'\n');
}

fn escape_into(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn copy_rows_escape_and_mark_nulls() {
        let mut out = Vec::new();
        let at = Utc.with_ymd_and_hms(2026, 10, 3, 4, 5, 6).unwrap();
        encode_copy_row(
            &mut out,
            &[
                Cell::from("a\tb\\c\nd"),
                Cell::Text(None),
                Cell::from(-42_i64),
                Cell::from(true),
                Cell::from(at),
                Cell::Time(None),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\tb\\\\c\\nd\t\\N\t-42\tt\t2026-10-03 04:05:06.000000+00\t\\N\n"
        );
    }
}
