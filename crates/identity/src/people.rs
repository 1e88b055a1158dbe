//! Users as the other domains see them. No other crate reads or writes `users` (or any identity
//! table): they call these functions and get a [`Person`], never the stored row, whose password
//! hash, NIK and lockout state stay here.

use chrono::{DateTime, Utc};
use peken_kernel::ApiResult;
use peken_kernel::auth::Role;
use peken_kernel::regions::Regions;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::service::{NewUser, insert_user};
use crate::store::user;

/// Who a user is and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    /// The stored role name (`Role::as_str`).
    pub role: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub merchant_id: Option<String>,
    /// `owner` or `staff` for merchant users.
    pub merchant_role: Option<String>,
    pub opd_id: Option<String>,
    pub domicile_kelurahan_code: Option<String>,
    pub work_kelurahan_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for Person {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            role: u.role,
            name: u.name,
            email: u.email,
            phone: u.phone,
            active: u.active,
            merchant_id: u.merchant_id,
            merchant_role: u.merchant_role,
            opd_id: u.opd_id,
            domicile_kelurahan_code: u.domicile_kelurahan_code,
            work_kelurahan_code: u.work_kelurahan_code,
            created_at: u.created_at,
        }
    }
}

impl Person {
    /// The kecamatan an ASN shops in: that of the KTP domicile, or of the work place for one who
    /// lives outside Surabaya.
    pub fn shopping_kecamatan(&self, regions: &Regions) -> Option<String> {
        self.domicile_kelurahan_code
            .as_deref()
            .or(self.work_kelurahan_code.as_deref())
            .and_then(|code| regions.kelurahan(code))
            .and_then(|code| code.kecamatan())
            .map(|code| code.as_str().to_owned())
    }
}

/// One user by id.
pub async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Person>, DbErr> {
    Ok(user::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(Person::from))
}

/// The users of a set of ids that exist, in no particular order; read a thousand ids a query.
pub async fn find_many<C: ConnectionTrait>(conn: &C, ids: &[String]) -> Result<Vec<Person>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let found = user::Entity::find()
            .filter(user::Column::Id.is_in(chunk.to_vec()))
            .all(conn)
            .await?;
        out.extend(found.into_iter().map(Person::from));
    }
    Ok(out)
}

/// The contacts of users as the part `name` of a PostgreSQL [`peken_kernel::sql::Chain`]:
/// rows of `(id, name, email)` of those of `ids`, and of the ids in column `column` of the
/// earlier part `part`, that have an e-mail address.
pub fn contacts_chained(
    chain: &mut peken_kernel::sql::Chain,
    name: &str,
    ids: &[&str],
    (part, column): (&str, &str),
) {
    chain.with(
        name,
        &format!(
            "SELECT id, name, email FROM users WHERE email IS NOT NULL \
             AND id IN (SELECT {column} FROM {part}{})",
            ids_rows(ids.len())
        ),
        ids.iter().map(|id| (*id).into()).collect(),
    );
}

/// ` UNION ALL VALUES ($1), ($2), …` for `n` ids: one set with the ids of an earlier part, which
/// PostgreSQL looks up by the primary key (an `OR` of the two would scan every user).
fn ids_rows(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    format!(
        " UNION ALL VALUES {}",
        peken_kernel::sql::values_rows(n, 1, 1)
    )
}

/// The active users of a role (e.g. every treasury user, to tell them of a failed payout).
pub async fn active_with_role<C: ConnectionTrait>(
    conn: &C,
    role: Role,
) -> Result<Vec<Person>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(role.as_str()))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Person::from)
        .collect())
}

/// The people who work for a merchant, by name.
pub async fn of_merchant<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Vec<Person>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::MerchantId.eq(merchant_id))
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Person::from)
        .collect())
}

/// Who hears about the shops' own business (stock, takedowns, moderation, a lowered HET): the
/// active people of these merchants that have an e-mail address, owners and staff, by merchant
/// and then owner first. One query a thousand merchants.
pub async fn reachable_of_merchants<C: ConnectionTrait>(
    conn: &C,
    merchant_ids: &[String],
) -> Result<Vec<Person>, DbErr> {
    let mut out = Vec::new();
    for chunk in merchant_ids.chunks(1_000) {
        let found = user::Entity::find()
            .filter(user::Column::MerchantId.is_in(chunk.to_vec()))
            .filter(user::Column::Active.eq(true))
            .filter(user::Column::Email.is_not_null())
            .order_by_asc(user::Column::MerchantId)
            .order_by_asc(user::Column::Id)
            .all(conn)
            .await?;
        out.extend(found.into_iter().map(Person::from));
    }
    out.sort_by(|a, b| {
        (
            &a.merchant_id,
            a.merchant_role.as_deref() != Some("owner"),
            &a.id,
        )
            .cmp(&(
                &b.merchant_id,
                b.merchant_role.as_deref() != Some("owner"),
                &b.id,
            ))
    });
    Ok(out)
}

/// Creates a user inside the caller's transaction (a merchant's owner or staff, demo data); a
/// taken e-mail, NIP or NIK is a 409.
pub async fn add<C: ConnectionTrait>(
    conn: &C,
    new: NewUser,
    now: DateTime<Utc>,
) -> ApiResult<Person> {
    Ok(insert_user(conn, new, now).await?.into())
}

/// Deactivates a user inside the caller's transaction: it can no longer log in, and its push
/// devices are forgotten, so nothing more is pushed to it (messages already queued end
/// `dropped`). The caller ends its sessions after the commit ([`crate::service::end_sessions_of`]).
pub async fn deactivate<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Active, Expr::value(false))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    peken_mail::push::devices::remove_all(conn, user_id).await?;
    Ok(())
}

/// Locks a user's row until the caller's transaction ends, so that work done per user (one
/// buyer's checkouts) runs one at a time. On PostgreSQL `FOR NO KEY UPDATE`, which the foreign
/// keys' `KEY SHARE` locks do not wait for; SQLite has one writer anyway.
pub async fn lock<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    if backend == sea_orm::DbBackend::Postgres {
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE",
            [user_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// [`lock`] on PostgreSQL as the part `name` of a [`peken_kernel::sql::Chain`] (a row when the
/// user exists).
pub fn lock_chained(chain: &mut peken_kernel::sql::Chain, name: &str, user_id: &str) {
    chain.with(
        name,
        "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE",
        vec![user_id.into()],
    );
}

/// A party to a document (the buyer of a receipt): the name, and for an ASN the NIP (or NI
/// PPPK) and the OPD served at the time. Never the NIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentParty {
    pub name: String,
    /// The stored role name (`Role::as_str`).
    pub role: String,
    /// The NIP of a PNS or the NI PPPK of a PPPK.
    pub nip: Option<String>,
    /// `pns` or `pppk` for an ASN.
    pub asn_kind: Option<String>,
    /// The OPD's name at `at` (the roster's history; else the current one).
    pub opd_name: Option<String>,
}

/// The buyer as a document names it, with the OPD served at `at`.
pub async fn document_party<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<DocumentParty>, DbErr> {
    let Some(u) = user::Entity::find_by_id(user_id.to_owned())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let mut opd_name = None;
    if u.role == Role::Asn.as_str() {
        let row = peken_kernel::sql::query_one(
            conn,
            "SELECT o.name FROM asn_opd_history h JOIN opds o ON o.id = h.opd_id \
             WHERE h.user_id = $1 AND h.valid_from <= $2 ORDER BY h.valid_from DESC LIMIT 1",
            vec![user_id.into(), at.into()],
        )
        .await?;
        opd_name = match row {
            Some(row) => Some(row.try_get::<String>("", "name")?),
            None => match &u.opd_id {
                Some(opd_id) => crate::store::opd::Entity::find_by_id(opd_id.clone())
                    .one(conn)
                    .await?
                    .map(|o| o.name),
                None => None,
            },
        };
    }
    Ok(Some(DocumentParty {
        name: u.name,
        role: u.role,
        nip: u.nip,
        asn_kind: u.asn_kind,
        opd_name,
    }))
}

/// A city office (OPD) as other domains see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpdName {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// Every OPD, by code.
pub async fn opds<C: ConnectionTrait>(conn: &C) -> Result<Vec<OpdName>, DbErr> {
    Ok(crate::store::opd::Entity::find()
        .order_by_asc(crate::store::opd::Column::Code)
        .all(conn)
        .await?
        .into_iter()
        .map(|o| OpdName {
            id: o.id,
            code: o.code,
            name: o.name,
        })
        .collect())
}

/// The kecamatan an active camat reads, or `None` for anyone else.
pub async fn camat_kecamatan<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(user::Entity::find_by_id(user_id.to_owned())
        .one(conn)
        .await?
        .filter(|u| u.active && u.role == "camat")
        .and_then(|u| u.kecamatan_code))
}
