//! Stock and its movements. Every change of a listing's stock is one conditional UPDATE of the
//! listing plus one movement row, inside the caller's transaction, so the stock always equals
//! the sum of the listing's movements and never goes below zero.
//!
//! Callers that change several listings in one transaction (checkout, releases) apply the
//! changes sorted by listing id, so two transactions lock rows in the same order and cannot
//! deadlock.

use chrono::{DateTime, Utc};
use peken_kernel::ApiError;
use peken_kernel::db::new_id;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, Statement};

use crate::store::{listing, stock_movement};

/// The most units one listing may hold or one movement may move.
pub const MAX_UNITS: i64 = 1_000_000;

/// Why the stock of a listing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    /// New goods arrived (and a listing's initial stock).
    Restock,
    /// A correction by the merchant: counted stock, damage, loss.
    Adjustment,
    /// Units held for an unpaid order.
    Reservation,
    /// Reserved units given back (order expired, cancelled or rejected).
    Release,
    /// Reserved units sold: the available stock does not change.
    Sale,
}

impl MovementKind {
    pub const ALL: [MovementKind; 5] = [
        MovementKind::Restock,
        MovementKind::Adjustment,
        MovementKind::Reservation,
        MovementKind::Release,
        MovementKind::Sale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Restock => "restock",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Reservation => "reservation",
            MovementKind::Release => "release",
            MovementKind::Sale => "sale",
        }
    }

    pub fn parse(s: &str) -> Option<MovementKind> {
        MovementKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One change of one listing's stock.
#[derive(Debug, Clone, Copy)]
pub struct StockChange<'a> {
    pub listing_id: &'a str,
    pub kind: MovementKind,
    /// Effect on available stock (negative for reservation; 0 for sale, which converts reserved
    /// units).
    pub quantity_delta: i64,
    /// Units the movement concerns (always > 0).
    pub units: i64,
    /// What caused it, e.g. `Some(("order", order_id))`.
    pub reference: Option<(&'a str, &'a str)>,
    pub note: Option<&'a str>,
    pub actor_id: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("listing {listing_id} has only {available} units available")]
    Insufficient { listing_id: String, available: i64 },
    #[error("listing {listing_id} not found")]
    NotFound { listing_id: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<StockError> for ApiError {
    fn from(err: StockError) -> Self {
        match err {
            StockError::Insufficient {
                listing_id,
                available,
            } => ApiError::conflict(
                "out_of_stock",
                "the stock of this listing is too low for this change",
            )
            .with_context(serde_json::json!({
                "listing_id": listing_id,
                "available": available,
            })),
            StockError::NotFound { .. } => ApiError::not_found("listing"),
            StockError::Db(e) => e.into(),
        }
    }
}

/// Applies one change inside the caller's transaction: a conditional UPDATE
/// (`stock = stock + delta WHERE id = … AND stock + delta >= 0`), then the movement row with the
/// stock after it. Returns the stock after the change. It never starts a transaction itself.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    change: StockChange<'_>,
    now: DateTime<Utc>,
) -> Result<i64, StockError> {
    check(&change)?;
    let backend = conn.get_database_backend();
    // `stock >= -delta` is `stock + delta >= 0` without an overflow in the database. The row
    // stays locked until the caller commits, so the stock_after values of one listing form an
    // unbroken sequence.
    let updated = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE listings SET stock = stock + $1, updated_at = $2 \
             WHERE id = $3 AND stock >= $4 RETURNING stock",
            [
                change.quantity_delta.into(),
                now.into(),
                change.listing_id.into(),
                (-change.quantity_delta).into(),
            ],
        ))
        .await?;
    let Some(row) = updated else {
        return Err(refusal(conn, change.listing_id).await);
    };
    let stock_after: i64 = row.try_get_by_index(0)?;
    stock_movement::Entity::insert(movement(&change, stock_after, now))
        .exec_without_returning(conn)
        .await?;
    Ok(stock_after)
}

/// Applies changes to several listings (each listing once) with two statements whatever their
/// number: one guarded UPDATE that returns each listing's stock after it, then one insert of the
/// movements (on PostgreSQL one statement, whose insert reads the update's rows). On PostgreSQL
/// the UPDATE first locks the listings in id order (a sub-select `FOR UPDATE`), as single
/// changes applied in id order would, so it cannot deadlock with them. A
/// change the guard refuses fails the call with the first refused listing; nothing of it counts
/// once the caller rolls back. Returns the stock after each change, in the order given.
pub async fn apply_many<C: ConnectionTrait>(
    conn: &C,
    changes: &[StockChange<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StockError> {
    let backend = conn.get_database_backend();
    match changes {
        [] => return Ok(Vec::new()),
        _ if backend == sea_orm::DbBackend::Postgres => {
            return apply_many_pg(conn, changes, now).await;
        }
        [one] => return Ok(vec![apply(conn, *one, now).await?]),
        _ => {}
    }
    for change in changes {
        check(change)?;
    }
    let n = changes.len();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(1 + n * 3);
    values.push(now.into());
    for change in changes {
        values.extend([change.listing_id.into(), change.quantity_delta.into()]);
    }
    values.extend(changes.iter().map(|c| c.listing_id.into()));
    let lock = if backend == sea_orm::DbBackend::Postgres {
        " ORDER BY id FOR UPDATE"
    } else {
        ""
    };
    let rows = peken_kernel::sql::query(
        conn,
        format!(
            "UPDATE listings SET stock = listings.stock + v.column2, updated_at = $1 \
             FROM (VALUES {}) AS v WHERE listings.id = v.column1 AND listings.stock >= -v.column2 \
             AND listings.id IN (SELECT id FROM listings WHERE id IN ({}){lock}) \
             RETURNING listings.id, listings.stock",
            peken_kernel::sql::values_rows(n, 2, 2),
            peken_kernel::sql::list(n, 2 + n * 2)
        ),
        values,
    )
    .await?;
    let stocks = stocks_after(conn, rows, changes).await?;
    let movements = changes
        .iter()
        .zip(&stocks)
        .map(|(change, stock_after)| movement(change, *stock_after, now));
    stock_movement::Entity::insert_many(movements)
        .exec_without_returning(conn)
        .await?;
    Ok(stocks)
}

/// `apply_many` on PostgreSQL: the guarded update and the movements in one statement (the
/// movements insert reads the update's `RETURNING`), each listing locked in id order first.
async fn apply_many_pg<C: ConnectionTrait>(
    conn: &C,
    changes: &[StockChange<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StockError> {
    let mut chain = peken_kernel::sql::Chain::new();
    let updated = apply_many_chained(&mut chain, "stock", changes, now)?;
    let rows = conn
        .query_all_raw(chain.finish(&format!("SELECT id, stock FROM {updated}"), Vec::new()))
        .await?;
    stocks_after(conn, rows, changes).await
}

/// [`apply_many`]'s statement as parts of a PostgreSQL [`peken_kernel::sql::Chain`], named
/// after `prefix`: the changes, the guarded update (each listing locked in id order first) and
/// the movements. Returns the name of the part whose rows are each updated listing's
/// `(id, stock)`: the caller reads them and passes them to [`check_applied`], which fails the
/// call when the guard left a listing out.
pub fn apply_many_chained(
    chain: &mut peken_kernel::sql::Chain,
    prefix: &str,
    changes: &[StockChange<'_>],
    now: DateTime<Utc>,
) -> Result<String, StockError> {
    const COLS: usize = 9;
    for change in changes {
        check(change)?;
    }
    let n = changes.len();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(n * COLS);
    for change in changes {
        values.extend([
            change.listing_id.into(),
            change.quantity_delta.into(),
            new_id().into(),
            change.kind.as_str().into(),
            change.units.into(),
            change.reference.map(|(t, _)| t).into(),
            change.reference.map(|(_, id)| id).into(),
            change.note.into(),
            change.actor_id.into(),
        ]);
    }
    let (v, u, m) = (
        format!("{prefix}_v"),
        format!("{prefix}_u"),
        format!("{prefix}_m"),
    );
    let mut ids: Vec<sea_orm::Value> = vec![now.into()];
    ids.extend(changes.iter().map(|c| c.listing_id.into()));
    chain
        .with(
            &format!(
                "{v} (listing_id, delta, id, kind, units, reference_type, reference_id, note, \
                 actor_id)"
            ),
            &format!("VALUES {}", peken_kernel::sql::values_rows(n, COLS, 1)),
            values,
        )
        .with(
            &u,
            &format!(
                "UPDATE listings SET stock = listings.stock + {v}.delta, updated_at = $1 \
                 FROM {v} WHERE listings.id = {v}.listing_id AND listings.stock >= -{v}.delta \
                 AND listings.id IN (SELECT id FROM listings WHERE id IN ({}) ORDER BY id \
                 FOR UPDATE) RETURNING listings.id, listings.stock",
                peken_kernel::sql::list(n, 2)
            ),
            ids,
        )
        .with(
            &m,
            &format!(
                "INSERT INTO stock_movements (id, listing_id, kind, quantity_delta, units, \
                 stock_after, reference_type, reference_id, note, actor_id, created_at) \
                 SELECT {v}.id, {v}.listing_id, {v}.kind, {v}.delta, {v}.units, {u}.stock, \
                 {v}.reference_type, {v}.reference_id, {v}.note, {v}.actor_id, $1 \
                 FROM {v} JOIN {u} ON {u}.id = {v}.listing_id"
            ),
            vec![now.into()],
        );
    Ok(u)
}

/// The stock after each change, in the order given, from the guarded update's rows (listing id,
/// stock); a change the guard refused fails with its reason.
async fn stocks_after<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<sea_orm::QueryResult>,
    changes: &[StockChange<'_>],
) -> Result<Vec<i64>, StockError> {
    let mut after = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        after.insert(
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    check_applied(conn, &after, changes).await
}

/// The stock after each change, in the order given, from each updated listing's stock after
/// the guarded update (by listing id); a change the guard refused fails with its reason.
pub async fn check_applied<C: ConnectionTrait, S: std::hash::BuildHasher>(
    conn: &C,
    after: &std::collections::HashMap<String, i64, S>,
    changes: &[StockChange<'_>],
) -> Result<Vec<i64>, StockError> {
    let mut stocks = Vec::with_capacity(changes.len());
    for change in changes {
        let Some(stock_after) = after.get(change.listing_id).copied() else {
            return Err(refusal(conn, change.listing_id).await);
        };
        stocks.push(stock_after);
    }
    Ok(stocks)
}

/// Callers validate quantities before they get here; a bad one is a bug, not bad input.
fn check(change: &StockChange<'_>) -> Result<(), StockError> {
    if change.units <= 0 || change.quantity_delta == i64::MIN {
        return Err(StockError::Db(DbErr::Custom(format!(
            "invalid stock change on {}: units {}, delta {}",
            change.listing_id, change.units, change.quantity_delta
        ))));
    }
    Ok(())
}

/// Why the guarded update left a listing out: too little stock (with what is left), or no such
/// listing.
async fn refusal<C: ConnectionTrait>(conn: &C, listing_id: &str) -> StockError {
    match listing::Entity::find_by_id(listing_id.to_owned())
        .one(conn)
        .await
    {
        Ok(Some(l)) => StockError::Insufficient {
            listing_id: l.id,
            available: l.stock,
        },
        Ok(None) => StockError::NotFound {
            listing_id: listing_id.to_owned(),
        },
        Err(e) => StockError::Db(e),
    }
}

fn movement(
    change: &StockChange<'_>,
    stock_after: i64,
    now: DateTime<Utc>,
) -> stock_movement::ActiveModel {
    stock_movement::ActiveModel {
        id: Set(new_id()),
        listing_id: Set(change.listing_id.to_owned()),
        kind: Set(change.kind.as_str().to_owned()),
        quantity_delta: Set(change.quantity_delta),
        units: Set(change.units),
        stock_after: Set(stock_after),
        reference_type: Set(change.reference.map(|(t, _)| t.to_owned())),
        reference_id: Set(change.reference.map(|(_, id)| id.to_owned())),
        note: Set(change.note.map(str::to_owned)),
        actor_id: Set(change.actor_id.map(str::to_owned)),
        created_at: Set(now),
    }
}
