//! What the programme's reports need of the shops, in one query: who they are, where, since
//! when. Read only.

use chrono::{DateTime, Utc};
use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr};

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
