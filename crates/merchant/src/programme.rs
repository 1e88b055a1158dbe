//! What the programme's reports need of the shops, in one query each: who they are, where,
//! since when, and how many orders were paid to them each month. Read only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// A shop as the programme's reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeShop {
    pub id: String,
    pub name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    /// `pending`, `active`, `rejected` or `suspended`.
    pub status: String,
    pub registered_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// Every shop registered, or those of one kecamatan, in (kecamatan, kind, name, id) order.
pub async fn shops<C: ConnectionTrait>(
    conn: &C,
    kecamatan_code: Option<&str>,
) -> Result<Vec<ProgrammeShop>, DbErr> {
    let (filter, values) = match kecamatan_code {
        Some(code) => (" WHERE kecamatan_code = $1", vec![code.into()]),
        None => ("", Vec::new()),
    };
    let rows = sql::query(
        conn,
        format!(
            "SELECT id, name, kind, kelurahan_code, kecamatan_code, status, created_at, \
             verified_at FROM merchants{filter} ORDER BY kecamatan_code, kind, name, id"
        ),
        values,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ProgrammeShop {
                id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                kind: r.try_get("", "kind")?,
                kelurahan_code: r.try_get("", "kelurahan_code")?,
                kecamatan_code: r.try_get("", "kecamatan_code")?,
                status: r.try_get("", "status")?,
                registered_at: r.try_get("", "created_at")?,
                verified_at: r.try_get("", "verified_at")?,
            })
        })
        .collect()
}

/// The shop's name, kind and kecamatan, when it exists.
pub async fn shop<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<ProgrammeShop>, DbErr> {
    let row = sql::query_one(
        conn,
        "SELECT id, name, kind, kelurahan_code, kecamatan_code, status, created_at, verified_at \
         FROM merchants WHERE id = $1",
        vec![id.into()],
    )
    .await?;
    row.map(|r| {
        Ok(ProgrammeShop {
            id: r.try_get("", "id")?,
            name: r.try_get("", "name")?,
            kind: r.try_get("", "kind")?,
            kelurahan_code: r.try_get("", "kelurahan_code")?,
            kecamatan_code: r.try_get("", "kecamatan_code")?,
            status: r.try_get("", "status")?,
            registered_at: r.try_get("", "created_at")?,
            verified_at: r.try_get("", "verified_at")?,
        })
    })
    .transpose()
}

/// The orders paid in each WIB month from `from` to `to` (`YYYY-MM`, inclusive), whatever became
/// of them later, at the shops given or at all (`None`), from the month-to-date turnover every
/// payment keeps (`merchant_turnover`); months without any are absent.
///
/// # Errors
/// When the statement fails.
pub async fn paid_orders_by_period<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
    from: &str,
    to: &str,
) -> Result<HashMap<String, i64>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(HashMap::new());
    }
    let (filter, shop_values) = sql::shop_filter(shops, 3);
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.extend(shop_values);
    sql::query(
        conn,
        format!(
            "SELECT period, CAST(SUM(order_count) AS BIGINT) AS paid_orders FROM merchant_turnover \
             WHERE period >= $1 AND period <= $2{filter} GROUP BY period"
        ),
        values,
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("", "period")?, r.try_get("", "paid_orders")?)))
    .collect()
}

/// The first WIB month each shop had an order paid in (`merchant_turnover`); shops that never
/// sold are absent. `shops` limits the answer to those shops (`None`: every shop).
///
/// # Errors
/// When the statement fails.
pub async fn first_paid_periods<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
) -> Result<HashMap<String, String>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(HashMap::new());
    }
    let (filter, values) = sql::shop_filter(shops, 1);
    sql::query(
        conn,
        format!(
            "SELECT merchant_id, MIN(period) AS first_period FROM merchant_turnover \
             WHERE order_count > 0{filter} GROUP BY merchant_id"
        ),
        values,
    )
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("", "merchant_id")?,
            r.try_get("", "first_period")?,
        ))
    })
    .collect()
}
