//! What one buyer may hold without paying. A checkout reserves stock before any money moves, so
//! without a bound one buyer could keep a listing unsellable for everyone else by checking out
//! again and again. Checkout refuses a buyer who already holds
//! `PEKEN_UNPAID_CHECKOUTS_PER_BUYER` open bills, or whose cart would take the units held in
//! unpaid orders past `PEKEN_RESERVED_UNITS_PER_BUYER`; the bills themselves expire with the
//! reservation window (or the proof wait, `payment.rs`).

use peken_kernel::settings::Settings;
use peken_kernel::{ApiError, ApiResult};
use sea_orm::{ConnectionTrait, Statement};

/// Checks the buyer's holdings inside the checkout's transaction. On PostgreSQL it first locks
/// the buyer's user row (`FOR NO KEY UPDATE`, which the foreign keys' `KEY SHARE` locks do not
/// wait for), so two checkouts of one buyer count one after the other; the count is a statement
/// of its own, so its snapshot is taken after the lock, with the other checkout committed.
/// SQLite has one writer anyway.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    settings: &Settings,
    buyer_id: &str,
    cart_units: i64,
) -> ApiResult<()> {
    peken_identity::people::lock(conn, buyer_id).await?;
    check_locked(conn, settings, buyer_id, cart_units).await
}

/// [`check`] for a caller that holds the buyer's lock already (taken in an earlier statement
/// of its transaction, so the count's snapshot comes after it).
pub async fn check_locked<C: ConnectionTrait>(
    conn: &C,
    settings: &Settings,
    buyer_id: &str,
    cart_units: i64,
) -> ApiResult<()> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT \
               (SELECT COUNT(*) FROM payments WHERE buyer_id = $1 AND status = 'pending') AS bills, \
               CAST((SELECT COALESCE(SUM(i.quantity), 0) FROM orders o \
                  JOIN order_items i ON i.order_id = o.id \
                 WHERE o.buyer_id = $1 AND o.status = 'awaiting_payment') AS BIGINT) AS units",
            [buyer_id.into()],
        ))
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("holding count returned no row")))?;
    let bills: i64 = row.try_get("", "bills")?;
    let units: i64 = row.try_get("", "units")?;
    let max_bills = i64::from(settings.unpaid_checkouts_per_buyer);
    if bills >= max_bills {
        return Err(ApiError::conflict(
            "too_many_unpaid_checkouts",
            format!(
                "pay or cancel an open checkout first: at most {max_bills} may wait for payment"
            ),
        )
        .with_context(serde_json::json!({"unpaid_checkouts": bills, "limit": max_bills})));
    }
    let max_units = i64::from(settings.reserved_units_per_buyer);
    if units.saturating_add(cart_units) > max_units {
        return Err(ApiError::conflict(
            "too_many_reserved_units",
            format!("unpaid checkouts may hold at most {max_units} units per buyer"),
        )
        .with_context(serde_json::json!({
            "reserved_units": units, "cart_units": cart_units, "limit": max_units,
        })));
    }
    Ok(())
}
