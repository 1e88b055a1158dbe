//! The city's ASN roster as CSV: creates new ASN and updates known ones (matched by NIP), in
//! bulk. A bad line is reported with its number and a stable code and never stops the good
//! ones; nobody missing from the file is deactivated.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::ids::{AsnKind, AsnNumber};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait, Value};
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::asn_kind_str;

/// Columns of the roster, in any order; the first line is the header.
pub const COLUMNS: [&str; 7] = [
    "nip",
    "name",
    "email",
    "opd_code",
    "position_class",
    "domicile_kelurahan_code",
    "work_kelurahan_code",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectedLine {
    /// The line number in the file (the header is line 1).
    pub line: u64,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub rejected: Vec<RejectedLine>,
}

/// One valid line, ready to write.
struct Row {
    nip: String,
    kind: AsnKind,
    name: String,
    email: String,
    opd_id: String,
    position_class: String,
    domicile: Option<String>,
    work: Option<String>,
}

/// Rows written per statement: big enough to make 20,000 lines a few dozen round trips, small
/// enough to stay under every backend's parameter limit.
const CHUNK: usize = 400;

pub async fn import(state: &AppState, csv_text: &str) -> ApiResult<ImportReport> {
    let now = state.now();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            ApiError::unprocessable("invalid_csv", format!("cannot read the header: {e}"))
        })?
        .clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                i,
            )
        })
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|c| !c.ends_with("kelurahan_code") && !index.contains_key(**c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(
            "missing_columns",
            format!("the header lacks: {}", missing.join(", ")),
        )
        .with_context(serde_json::json!({ "missing": missing })));
    }
    let opds = opd_codes(&state.db).await?;
    let mut report = ImportReport::default();
    let mut rows: Vec<(u64, Row)> = Vec::new();
    let mut seen_nips = HashSet::new();
    let mut seen_emails = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report
                    .rejected
                    .push(reject(line, "invalid_csv", &e.to_string()));
                continue;
            }
        };
        let get = |name: &str| {
            index
                .get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        match parse_row(state, &opds, &get) {
            Ok(row) => {
                if !seen_nips.insert(row.nip.clone()) {
                    report.rejected.push(reject(
                        line,
                        "duplicate_nip",
                        "this NIP appears earlier in the file",
                    ));
                } else if !seen_emails.insert(row.email.clone()) {
                    report.rejected.push(reject(
                        line,
                        "duplicate_email",
                        "this e-mail appears earlier in the file",
                    ));
                } else {
                    rows.push((line, row));
                }
            }
            Err((code, message)) => report.rejected.push(reject(line, code, message)),
        }
    }

    let existing = existing_asn(&state.db).await?;
    let emails = email_owners(&state.db).await?;
    // An e-mail that belongs to another account would fail the whole chunk on the unique index:
    // refuse that line instead.
    rows.retain(|(line, row)| match emails.get(&row.email) {
        Some(owner_nip) if owner_nip.as_deref() != Some(row.nip.as_str()) => {
            report.rejected.push(reject(
                *line,
                "email_taken",
                "another account has this e-mail",
            ));
            false
        }
        _ => true,
    });
    let txn = state.db.begin().await?;
    for chunk in rows.chunks(CHUNK) {
        upsert(&txn, chunk, now).await?;
        record_opd_changes(&txn, chunk, &existing, now).await?;
        invite_new(&txn, chunk, &existing, now).await?;
    }
    txn.commit().await?;
    for (_, row) in &rows {
        if existing.contains_key(&row.nip) {
            report.updated += 1;
        } else {
            report.created += 1;
        }
    }
    report.rejected.sort_by_key(|r| r.line);
    tracing::info!(
        created = report.created,
        updated = report.updated,
        rejected = report.rejected.len(),
        "roster imported"
    );
    Ok(report)
}

fn reject(line: u64, code: &str, message: &str) -> RejectedLine {
    RejectedLine {
        line,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

type LineError = (&'static str, &'static str);

fn parse_row(
    state: &AppState,
    opds: &HashMap<String, String>,
    get: &dyn Fn(&str) -> String,
) -> Result<Row, LineError> {
    let nip =
        AsnNumber::parse(&get("nip")).map_err(|_| ("invalid_nip", "not a valid NIP or NI PPPK"))?;
    let name = get("name");
    if name.is_empty() || name.chars().count() > 120 {
        return Err(("invalid_name", "a name of 1 to 120 characters"));
    }
    let email = get("email").to_ascii_lowercase();
    let mut v = peken_kernel::Validation::new();
    if peken_kernel::error::check_email(&mut v, "email", &email).is_none() {
        return Err(("invalid_email", "not a valid e-mail address"));
    }
    let opd_id = opds
        .get(&get("opd_code").to_ascii_uppercase())
        .cloned()
        .ok_or(("unknown_opd", "no OPD has this code"))?;
    let class = get("position_class").to_ascii_lowercase();
    if class.is_empty()
        || class.len() > 50
        || !class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(("invalid_position_class", "1 to 50 of a-z, 0-9 and '_'"));
    }
    let kelurahan = |field: &str| -> Result<Option<String>, LineError> {
        let code = get(field);
        if code.is_empty() {
            return Ok(None);
        }
        state
            .regions
            .kelurahan(&code)
            .map(|c| Some(c.as_str().to_owned()))
            .ok_or(("unknown_region", "not an official kelurahan code"))
    };
    let domicile = kelurahan("domicile_kelurahan_code")?;
    let work = kelurahan("work_kelurahan_code")?;
    if domicile.is_none() && work.is_none() {
        return Err((
            "area_required",
            "a domicile or a work kelurahan is required",
        ));
    }
    Ok(Row {
        kind: nip.kind(),
        nip: nip.as_str().to_owned(),
        name,
        email,
        opd_id,
        position_class: class,
        domicile,
        work,
    })
}

async fn opd_codes<C: ConnectionTrait>(conn: &C) -> ApiResult<HashMap<String, String>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(backend, "SELECT id, code FROM opds"))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(
            row.try_get::<String>("", "code")?,
            row.try_get::<String>("", "id")?,
        );
    }
    Ok(out)
}

/// NIP → current OPD of every ASN.
async fn existing_asn<C: ConnectionTrait>(conn: &C) -> ApiResult<HashMap<String, Option<String>>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT nip, opd_id FROM users WHERE nip IS NOT NULL",
        ))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(
            row.try_get::<String>("", "nip")?,
            row.try_get::<Option<String>>("", "opd_id")?,
        );
    }
    Ok(out)
}

/// E-mail → NIP of its owner (None for accounts without a NIP).
async fn email_owners<C: ConnectionTrait>(conn: &C) -> ApiResult<HashMap<String, Option<String>>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT email, nip FROM users WHERE email IS NOT NULL",
        ))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(
            row.try_get::<String>("", "email")?,
            row.try_get::<Option<String>>("", "nip")?,
        );
    }
    Ok(out)
}

/// One statement per chunk: new NIPs are inserted, known ones updated in place. A new ASN has
/// no usable password until it sets one, so the import never hashes passwords.
async fn upsert<C: ConnectionTrait>(
    conn: &C,
    chunk: &[(u64, Row)],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    const COLS: usize = 13;
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
    for (_, row) in chunk {
        values.extend([
            new_id().into(),
            "asn".into(),
            row.name.clone().into(),
            row.email.clone().into(),
            row.nip.clone().into(),
            asn_kind_str(row.kind).into(),
            "!".into(),
            row.opd_id.clone().into(),
            row.position_class.clone().into(),
            row.domicile.clone().into(),
            row.work.clone().into(),
            now.into(),
            now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO users (id, role, name, email, nip, asn_kind, password_hash, opd_id, \
         position_class, domicile_kelurahan_code, work_kelurahan_code, created_at, updated_at) \
         VALUES {} ON CONFLICT (nip) DO UPDATE SET name = excluded.name, email = excluded.email, \
         asn_kind = excluded.asn_kind, opd_id = excluded.opd_id, \
         position_class = excluded.position_class, \
         domicile_kelurahan_code = excluded.domicile_kelurahan_code, \
         work_kelurahan_code = excluded.work_kelurahan_code, updated_at = excluded.updated_at",
        sql::values_rows(chunk.len(), COLS, 1)
    );
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
        .await?;
    Ok(())
}

/// Remembers when an ASN joined an OPD, so a month's report counts each ASN in the OPD it
/// belonged to at the month's end.
async fn record_opd_changes<C: ConnectionTrait>(
    conn: &C,
    chunk: &[(u64, Row)],
    existing: &HashMap<String, Option<String>>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let changed: Vec<&Row> = chunk
        .iter()
        .map(|(_, r)| r)
        .filter(|r| {
            existing
                .get(&r.nip)
                .is_none_or(|opd| opd.as_deref() != Some(r.opd_id.as_str()))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::new();
    let mut tuples = Vec::new();
    for (i, row) in changed.iter().enumerate() {
        tuples.push(format!(
            "((SELECT id FROM users WHERE nip = ${}), ${}, ${})",
            i * 3 + 1,
            i * 3 + 2,
            i * 3 + 3
        ));
        values.extend([
            row.nip.clone().into(),
            row.opd_id.clone().into(),
            now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO asn_opd_history (user_id, opd_id, valid_from) VALUES {} \
         ON CONFLICT (user_id, valid_from) DO UPDATE SET opd_id = excluded.opd_id",
        tuples.join(", ")
    );
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
        .await?;
    Ok(())
}

/// Queues an activation mail for every ASN of the chunk that the import created, in the
/// import's transaction: a newly imported ASN has no usable password, and the mail's single-use
/// code lets it set one. Known ASN are not mailed again.
async fn invite_new<C: ConnectionTrait>(
    conn: &C,
    chunk: &[(u64, Row)],
    existing: &HashMap<String, Option<String>>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let created: Vec<&Row> = chunk
        .iter()
        .map(|(_, r)| r)
        .filter(|r| !existing.contains_key(&r.nip))
        .collect();
    if created.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT id, nip FROM users WHERE nip IN ({})",
        sql::list(created.len(), 1)
    );
    let values: Vec<Value> = created.iter().map(|r| r.nip.clone().into()).collect();
    let backend = conn.get_database_backend();
    let mut ids = HashMap::new();
    for row in conn
        .query_all_raw(Statement::from_sql_and_values(backend, &sql, values))
        .await?
    {
        ids.insert(
            row.try_get::<String>("", "nip")?,
            row.try_get::<String>("", "id")?,
        );
    }
    let invitees: Vec<crate::password::Invitee> = created
        .iter()
        .filter_map(|r| {
            Some(crate::password::Invitee {
                user_id: ids.get(&r.nip)?.clone(),
                name: r.name.clone(),
                email: r.email.clone(),
                login: r.nip.clone(),
            })
        })
        .collect();
    crate::password::enqueue_activations(conn, &invitees, now).await?;
    Ok(())
}

/// Records an ASN's OPD from `at` on (single creations and OPD changes).
pub async fn record_opd<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    opd_id: &str,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO asn_opd_history (user_id, opd_id, valid_from) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, valid_from) DO UPDATE SET opd_id = excluded.opd_id",
        [user_id.into(), opd_id.into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// One civil servant as the roster stood at a moment: who, which class, where they live or
/// work, and the OPD they belonged to then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub user_id: String,
    pub nip: String,
    pub name: String,
    pub email: Option<String>,
    pub position_class: String,
    pub domicile_kelurahan_code: Option<String>,
    pub work_kelurahan_code: Option<String>,
    /// The OPD at `end` (the latest history row before it), else the user's current one.
    pub opd_id: Option<String>,
}

/// Every active ASN created before `end` (or only `user_id`), with the OPD each belonged to
/// at `end`, by NIP, in one statement. The OPD is found with an anti-join, one pass over the
/// history rather than a subquery per ASN (15,000 index probes, and a plan costly enough for
/// PostgreSQL to compile it with JIT on every report).
pub async fn roster_at<C: ConnectionTrait>(
    conn: &C,
    end: DateTime<Utc>,
    user_id: Option<&str>,
) -> Result<Vec<RosterEntry>, sea_orm::DbErr> {
    let rows = conn
        .query_all_raw(roster_statement(conn.get_database_backend(), end, user_id))
        .await?;
    rows.iter().map(roster_entry).collect()
}

/// The same roster row by row as the database sends it, for a report that writes each ASN out
/// as it comes instead of holding the whole city: the stream keeps one pooled connection until
/// it ends or is dropped.
pub async fn roster_stream(
    conn: &sea_orm::DatabaseConnection,
    end: DateTime<Utc>,
    user_id: Option<&str>,
) -> Result<RosterStream, sea_orm::DbErr> {
    use sea_orm::StreamTrait;
    let rows = conn
        .stream_raw(roster_statement(conn.get_database_backend(), end, user_id))
        .await?;
    Ok(RosterStream { rows })
}

/// The roster's rows as they arrive ([`roster_stream`]).
pub struct RosterStream {
    rows: sea_orm::QueryStream,
}

impl RosterStream {
    /// The next civil servant, or `None` after the last.
    pub async fn next(&mut self) -> Result<Option<RosterEntry>, sea_orm::DbErr> {
        use futures_util::StreamExt;
        match self.rows.next().await {
            Some(row) => roster_entry(&row?).map(Some),
            None => Ok(None),
        }
    }
}

fn roster_statement(
    backend: sea_orm::DbBackend,
    end: DateTime<Utc>,
    user_id: Option<&str>,
) -> Statement {
    let mut sql = String::from(
        "SELECT u.id, u.nip, u.name, u.email, u.position_class, u.domicile_kelurahan_code, \
         u.work_kelurahan_code, COALESCE(h.opd_id, u.opd_id) AS opd_id \
         FROM users u \
         LEFT JOIN asn_opd_history h ON h.user_id = u.id AND h.valid_from < $1 \
         AND NOT EXISTS (SELECT 1 FROM asn_opd_history l WHERE l.user_id = h.user_id \
                         AND l.valid_from < $1 AND l.valid_from > h.valid_from) \
         WHERE u.role = 'asn' AND u.active = $2 AND u.created_at < $1",
    );
    let mut values: Vec<Value> = vec![end.into(), true.into()];
    if let Some(user_id) = user_id {
        sql.push_str(" AND u.id = $3");
        values.push(user_id.into());
    }
    sql.push_str(" ORDER BY u.nip");
    Statement::from_sql_and_values(backend, sql, values)
}

fn roster_entry(row: &sea_orm::QueryResult) -> Result<RosterEntry, sea_orm::DbErr> {
    Ok(RosterEntry {
        user_id: row.try_get("", "id")?,
        nip: row
            .try_get::<Option<String>>("", "nip")?
            .unwrap_or_default(),
        name: row.try_get("", "name")?,
        email: row.try_get("", "email")?,
        position_class: row
            .try_get::<Option<String>>("", "position_class")?
            .unwrap_or_default(),
        domicile_kelurahan_code: row.try_get("", "domicile_kelurahan_code")?,
        work_kelurahan_code: row.try_get("", "work_kelurahan_code")?,
        opd_id: row.try_get("", "opd_id")?,
    })
}

/// Every OPD's code and name, by id (reports name the OPDs they group by).
pub async fn opd_names<C: ConnectionTrait>(
    conn: &C,
) -> Result<HashMap<String, (String, String)>, sea_orm::DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT id, code, name FROM opds",
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "id")?,
                (r.try_get("", "code")?, r.try_get("", "name")?),
            ))
        })
        .collect()
}
