//! The read side of merchants that payouts and reports need, in bulk: one query for thousands
//! of merchants instead of one call each (name, kind, kecamatan, bank account, owner).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// What a payout and a report need to know about a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantFacts {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kecamatan_code: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    pub owner_user_id: String,
    /// Payouts to a new bank account wait until then (unless an admin confirmed it).
    pub bank_account_hold_until: Option<DateTime<Utc>>,
}

/// The facts of the given merchants, by id; unknown ids are absent.
pub async fn facts<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, MerchantFacts>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(sql::CHUNK_ROWS * 4) {
        let values: Vec<Value> = chunk.iter().map(|id| id.clone().into()).collect();
        let rows = sql::query(
            conn,
            format!(
                "SELECT id, name, kind, kecamatan_code, bank_code, account_number, account_name, \
                 owner_user_id, bank_account_hold_until FROM merchants WHERE id IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for r in rows {
            let facts = MerchantFacts {
                id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                kind: r.try_get("", "kind")?,
                kecamatan_code: r.try_get("", "kecamatan_code")?,
                bank_code: r.try_get("", "bank_code")?,
                account_number: r.try_get("", "account_number")?,
                account_name: r.try_get("", "account_name")?,
                owner_user_id: r.try_get("", "owner_user_id")?,
                bank_account_hold_until: r.try_get("", "bank_account_hold_until")?,
            };
            out.insert(facts.id.clone(), facts);
        }
    }
    Ok(out)
}

/// Whether a merchant exists.
pub async fn exists<C: ConnectionTrait>(conn: &C, id: &str) -> Result<bool, DbErr> {
    Ok(sql::query_one(
        conn,
        "SELECT id FROM merchants WHERE id = $1",
        vec![id.into()],
    )
    .await?
    .is_some())
}

/// Whether `caller` may read merchant `id`'s reports: a merchant's people only their own, staff
/// roles any merchant that exists. Anything else is 404 `not_found`, so another shop's id tells
/// nothing.
pub async fn visible_to<C: ConnectionTrait>(
    conn: &C,
    caller: &peken_kernel::auth::Caller,
    id: &str,
) -> peken_kernel::ApiResult<()> {
    if caller.role == peken_kernel::auth::Role::Merchant && !caller.is_merchant_of(id) {
        return Err(peken_kernel::ApiError::not_found("merchant"));
    }
    if !exists(conn, id).await? {
        return Err(peken_kernel::ApiError::not_found("merchant"));
    }
    Ok(())
}

/// A shop as a document (the purchase receipt) names it. The NPWP is left out when it is the
/// owner's NIK (an individual's NPWP is the NIK since 2024): a document never carries a NIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopParty {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    pub nib: String,
    pub npwp: Option<String>,
    pub owner_user_id: String,
}

/// One shop for a document; `None` for an unknown id.
pub async fn shop_party<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<ShopParty>, DbErr> {
    let Some(r) = sql::query_one(
        conn,
        "SELECT name, kind, address, kelurahan_code, kecamatan_code, COALESCE(nib, '') AS nib, npwp, owner_nik, \
         owner_user_id FROM merchants WHERE id = $1",
        vec![id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let owner_nik: String = r.try_get("", "owner_nik")?;
    let npwp: Option<String> = r.try_get("", "npwp")?;
    Ok(Some(ShopParty {
        name: r.try_get("", "name")?,
        kind: r.try_get("", "kind")?,
        address: r.try_get("", "address")?,
        kelurahan_code: r.try_get("", "kelurahan_code")?,
        kecamatan_code: r.try_get("", "kecamatan_code")?,
        nib: r.try_get("", "nib")?,
        npwp: npwp.filter(|n| n.trim() != owner_nik.trim() && !n.trim().is_empty()),
        owner_user_id: r.try_get("", "owner_user_id")?,
    }))
}
