//! The in-app inbox: writing entries inside the event's transaction (with a push message per
//! device of the person), and reading and marking them for their owner.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use serde_json::Value;

use crate::notice::Notice;
use crate::push;
use crate::store::notification::{self, Column, Entity};
use crate::store::push_device;

/// An inbox entry to write: for whom, under which event key, saying what.
#[derive(Debug, Clone)]
pub struct Entry {
    pub user_id: String,
    pub dedupe_key: String,
    pub notice: Notice,
}

/// Keys or rows per statement: well under the parameter limits of both databases.
pub(crate) const CHUNK: usize = 500;

/// The messages' insert (`mail`, a PostgreSQL statement that returns a row per message
/// written) and the inbox entries with their push messages, in one statement on PostgreSQL for
/// at most [`CHUNK`] entries; a second one only when a new entry's user has devices to push to.
/// Returns how many messages were written.
pub(crate) async fn record_after<C: ConnectionTrait>(
    conn: &C,
    mail: sea_orm::Statement,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut seen: HashSet<String> = HashSet::new();
    let fresh: Vec<(String, Entry)> = entries
        .into_iter()
        .filter(|e| seen.insert(e.dedupe_key.clone()))
        .map(|e| (new_id(), e))
        .collect();
    let mut chain = peken_kernel::sql::Chain::new();
    chain.with_statement("m", mail);
    let last = if fresh.is_empty() {
        "SELECT (SELECT COUNT(*) FROM m) AS mails, NULL AS id, NULL AS device"
    } else {
        let rows = fresh.iter().map(|(id, e)| entry_row(id, e, now));
        let mut insert = Entity::insert_many(rows)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .build(sea_orm::DbBackend::Postgres);
        insert.sql.push_str(" RETURNING id, user_id");
        chain.with_statement("n", insert);
        // One row when nothing is to be pushed, else one per new entry and device.
        "SELECT (SELECT COUNT(*) FROM m) AS mails, n.id, d.id AS device FROM (SELECT 1) AS one \
         LEFT JOIN (n JOIN push_devices d ON d.user_id = n.user_id) ON true"
    };
    let rows = conn.query_all_raw(chain.finish(last, Vec::new())).await?;
    let mut written = 0;
    let mut devices: Vec<(String, String)> = Vec::new();
    for row in rows {
        written = row.try_get::<i64>("", "mails")?;
        if let (Some(id), Some(device)) = (
            row.try_get::<Option<String>>("", "id")?,
            row.try_get::<Option<String>>("", "device")?,
        ) {
            devices.push((id, device));
        }
    }
    let by_id: HashMap<&str, &Entry> = fresh.iter().map(|(id, e)| (id.as_str(), e)).collect();
    let messages: Vec<push::outbox::Message<'_>> = devices
        .iter()
        .filter_map(|(id, device)| Some(push_message(id, by_id.get(id.as_str())?, device)))
        .collect();
    if !messages.is_empty() {
        push::outbox::enqueue(conn, messages, now).await?;
    }
    Ok(u64::try_from(written).unwrap_or(0))
}

/// The push message of the inbox entry `id` to one device of its user.
fn push_message<'a>(id: &str, e: &'a Entry, device: &str) -> push::outbox::Message<'a> {
    push::outbox::Message {
        notification_id: id.to_owned(),
        dedupe_key: format!("{}:{device}", e.dedupe_key),
        user_id: e.user_id.clone(),
        device_id: device.to_owned(),
        notice: &e.notice,
    }
}

/// The inbox row of an entry.
fn entry_row(id: &str, e: &Entry, now: DateTime<Utc>) -> notification::ActiveModel {
    notification::ActiveModel {
        id: Set(id.to_owned()),
        user_id: Set(e.user_id.clone()),
        dedupe_key: Set(e.dedupe_key.clone()),
        kind: Set(e.notice.kind.to_owned()),
        title: Set(e.notice.title.clone()),
        body: Set(e.notice.body.clone()),
        target: Set(Value::Object(e.notice.target.clone()).to_string()),
        created_at: Set(now),
        read_at: Set(None),
    }
}

/// Writes the entries inside the caller's transaction, and for each new one a push message to
/// every device of its user (a deactivated user has none: identity forgets them). An entry whose `dedupe_key` is already
/// in an inbox is skipped with its push messages, so a replayed event notifies once. Returns how
/// many entries were written.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if entries.is_empty() {
        return Ok(0);
    }
    // Leave out events already in an inbox (and repeats within this call).
    let mut seen: HashSet<String> = HashSet::new();
    let keys: Vec<String> = entries.iter().map(|e| e.dedupe_key.clone()).collect();
    for chunk in keys.chunks(CHUNK) {
        let found: Vec<String> = Entity::find()
            .select_only()
            .column(Column::DedupeKey)
            .filter(Column::DedupeKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        seen.extend(found);
    }
    let fresh: Vec<(String, Entry)> = entries
        .into_iter()
        .filter(|e| seen.insert(e.dedupe_key.clone()))
        .map(|e| (new_id(), e))
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    let mut written = 0;
    for chunk in fresh.chunks(CHUNK) {
        let rows = chunk.iter().map(|(id, e)| entry_row(id, e, now));
        let result = Entity::insert_many(rows)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .exec_without_returning(conn)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(n) = result {
            written += n;
        }
    }
    // The devices of these people, then one push row per entry and device.
    let mut users: Vec<String> = fresh.iter().map(|(_, e)| e.user_id.clone()).collect();
    users.sort();
    users.dedup();
    let mut devices: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in users.chunks(CHUNK) {
        let found: Vec<(String, String)> = push_device::Entity::find()
            .select_only()
            .column(push_device::Column::UserId)
            .column(push_device::Column::Id)
            .filter(push_device::Column::UserId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        for (user, device) in found {
            devices.entry(user).or_default().push(device);
        }
    }
    let mut messages = Vec::new();
    for (id, e) in &fresh {
        for device in devices.get(&e.user_id).into_iter().flatten() {
            messages.push(push_message(id, e, device));
        }
    }
    push::outbox::enqueue(conn, messages, now).await?;
    Ok(written)
}

/// Up to `limit + 1` entries of a user, newest first, after the `before` id; only unread ones
/// when `unread`.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    unread: bool,
    before: Option<String>,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    let mut query = Entity::find().filter(Column::UserId.eq(user_id));
    if unread {
        query = query.filter(Column::ReadAt.is_null());
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    query
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await
}

/// How many entries of a user are unread.
pub async fn unread_count<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::ReadAt.is_null())
        .count(conn)
        .await
}

/// Marks one entry of the user read (once: a second call keeps the first time). `None` when the
/// user has no such entry.
pub async fn mark_read<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<notification::Model>, DbErr> {
    Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(Some(now)))
        .filter(Column::Id.eq(id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Entity::find_by_id(id)
        .filter(Column::UserId.eq(user_id))
        .one(conn)
        .await
}

/// Marks every unread entry of the user read; returns how many were.
pub async fn mark_all_read<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(Some(now)))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::ReadAt.is_null())
        .exec(conn)
        .await?
        .rows_affected)
}
