//! A buyer's address book, and the copy of an address an order keeps.
//!
//! A buyer keeps up to [`MAX_ADDRESSES`] addresses, exactly one of them the default whenever
//! there is any: the first one becomes the default, making another the default takes it from
//! the old one, and deleting the default hands it to the most recently changed of the rest.
//! Each change runs in one transaction that locks the buyer's user row first, so two changes
//! at once cannot leave two defaults or a twenty-first address.
//!
//! An order does not point at an address: checkout copies it ([`DeliveryAddress`]) into the
//! order, so a later edit or deletion does not move where a past order went.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::ids::{RegionCode, RegionLevel};
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, AppState, Validation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::address::{self, Column, Entity};

/// The most addresses one buyer keeps.
pub const MAX_ADDRESSES: u64 = 20;

/// Where goods go and to whom: what an address book entry and an order's copy of it share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AddressLines {
    /// The buyer's name for it, e.g. `Rumah` or `Kantor`.
    pub label: String,
    /// Who receives the goods.
    pub recipient: String,
    /// The recipient's phone in E.164 form (`+62…`).
    pub phone: String,
    pub kelurahan_code: String,
    pub kelurahan_name: String,
    pub kecamatan_code: String,
    pub kecamatan_name: String,
    /// Street, number, RT/RW.
    pub street: String,
    /// Directions for the courier (e.g. the colour of the gate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// An address as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub id: String,
    #[serde(flatten)]
    pub lines: AddressLines,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where an order goes, copied from the buyer's address at checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAddress {
    /// The address book entry it was copied from (it may have changed or gone since).
    pub address_id: String,
    #[serde(flatten)]
    pub lines: AddressLines,
}

impl DeliveryAddress {
    /// The address on one line, as a courier reads it.
    pub fn one_line(&self) -> String {
        let l = &self.lines;
        format!(
            "{}, Kel. {}, Kec. {}",
            l.street, l.kelurahan_name, l.kecamatan_name
        )
    }
}

/// The fields of a new address, checked.
#[derive(Debug, Clone)]
pub struct NewAddress {
    pub label: String,
    pub recipient: String,
    pub phone: String,
    pub kelurahan_code: String,
    pub street: String,
    pub notes: Option<String>,
    pub location: Option<(f64, f64)>,
    pub is_default: bool,
}

/// A change of an address: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct AddressChange {
    pub label: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub kelurahan_code: Option<String>,
    pub street: Option<String>,
    pub notes: Option<Option<String>>,
    pub location: Option<Option<(f64, f64)>>,
    /// Only `true` means anything: an address stops being the default when another becomes it.
    pub make_default: bool,
}

/// Checks a kelurahan code: an official kelurahan of the city. A well-formed code of another
/// city gets its own code, so an app can say the city only delivers inside itself.
pub fn check_city_kelurahan(
    regions: &Regions,
    v: &mut Validation,
    field: &str,
    code: &str,
) -> Option<String> {
    let code = code.trim();
    if let Some(found) = regions.kelurahan(code) {
        return Some(found.as_str().to_owned());
    }
    let city = regions.list(Some(RegionLevel::Kota), None);
    let outside = RegionCode::parse(code).is_ok_and(|parsed| {
        parsed.level() == RegionLevel::Kelurahan
            && !city
                .iter()
                .any(|kota| code.starts_with(&format!("{}.", kota.code)))
    });
    if outside {
        v.push(
            field,
            "kelurahan_outside_city",
            "the kelurahan is not in the city; addresses must be inside it".to_owned(),
        );
    } else {
        v.push(
            field,
            "unknown_region",
            "not an official kelurahan code".to_owned(),
        );
    }
    None
}

fn lines_of(regions: &Regions, a: &address::Model) -> AddressLines {
    let (kelurahan_name, kecamatan_code, kecamatan_name) = names(regions, &a.kelurahan_code);
    AddressLines {
        label: a.label.clone(),
        recipient: a.recipient.clone(),
        phone: a.phone.clone(),
        kelurahan_code: a.kelurahan_code.clone(),
        kelurahan_name,
        kecamatan_code,
        kecamatan_name,
        street: a.street.clone(),
        notes: a.notes.clone(),
        latitude: a.latitude,
        longitude: a.longitude,
    }
}

fn view(regions: &Regions, a: address::Model) -> Address {
    Address {
        lines: lines_of(regions, &a),
        id: a.id,
        is_default: a.is_default,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// The kelurahan's name and its kecamatan's code and name.
fn names(regions: &Regions, kelurahan: &str) -> (String, String, String) {
    let kel = regions.get(kelurahan);
    let kec_code = kel.and_then(|k| k.parent_code.clone()).unwrap_or_default();
    let kec_name = regions
        .get(&kec_code)
        .map(|k| k.name.clone())
        .unwrap_or_default();
    (
        kel.map(|k| k.name.clone()).unwrap_or_default(),
        kec_code,
        kec_name,
    )
}

/// The buyer's addresses: the default first, then the most recently changed.
pub async fn list(state: &AppState, user_id: &str) -> ApiResult<Vec<Address>> {
    let rows = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::IsDefault)
        .order_by_desc(Column::UpdatedAt)
        .order_by_desc(Column::Id)
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|a| view(&state.regions, a)).collect())
}

/// One of the buyer's addresses; another buyer's is 404.
pub async fn get(state: &AppState, user_id: &str, id: &str) -> ApiResult<Address> {
    let found = own(&state.db, user_id, id).await?;
    Ok(view(&state.regions, found))
}

async fn own<C: ConnectionTrait>(conn: &C, user_id: &str, id: &str) -> ApiResult<address::Model> {
    Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .filter(|a| a.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("address"))
}

/// Locks the buyer's user row: address changes of one buyer run one after another.
async fn lock_owner<C: ConnectionTrait>(conn: &C, user_id: &str) -> ApiResult<()> {
    Ok(crate::people::lock(conn, user_id).await?)
}

/// Takes the default from the buyer's other addresses.
async fn clear_default<C: ConnectionTrait>(conn: &C, user_id: &str, keep: &str) -> ApiResult<()> {
    Entity::update_many()
        .col_expr(Column::IsDefault, Expr::value(false))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Id.ne(keep))
        .filter(Column::IsDefault.eq(true))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn create(state: &AppState, user_id: &str, new: NewAddress) -> ApiResult<Address> {
    let now = state.now();
    let txn = state.db.begin().await?;
    lock_owner(&txn, user_id).await?;
    let count = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .count(&txn)
        .await?;
    if count >= MAX_ADDRESSES {
        return Err(ApiError::conflict(
            "too_many_addresses",
            format!("a buyer keeps at most {MAX_ADDRESSES} addresses; delete one first"),
        ));
    }
    let id = new_id();
    let is_default = new.is_default || count == 0;
    if is_default {
        clear_default(&txn, user_id, &id).await?;
    }
    let row = address::ActiveModel {
        id: Set(id),
        user_id: Set(user_id.to_owned()),
        label: Set(new.label),
        recipient: Set(new.recipient),
        phone: Set(new.phone),
        kelurahan_code: Set(new.kelurahan_code),
        street: Set(new.street),
        notes: Set(new.notes),
        latitude: Set(new.location.map(|l| l.0)),
        longitude: Set(new.location.map(|l| l.1)),
        is_default: Set(is_default),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(view(&state.regions, row))
}

pub async fn update(
    state: &AppState,
    user_id: &str,
    id: &str,
    change: AddressChange,
) -> ApiResult<Address> {
    let now = state.now();
    let txn = state.db.begin().await?;
    lock_owner(&txn, user_id).await?;
    let found = own(&txn, user_id, id).await?;
    if change.make_default && !found.is_default {
        clear_default(&txn, user_id, id).await?;
    }
    let mut row = found.into_active_model();
    if let Some(label) = change.label {
        row.label = Set(label);
    }
    if let Some(recipient) = change.recipient {
        row.recipient = Set(recipient);
    }
    if let Some(phone) = change.phone {
        row.phone = Set(phone);
    }
    if let Some(code) = change.kelurahan_code {
        row.kelurahan_code = Set(code);
    }
    if let Some(street) = change.street {
        row.street = Set(street);
    }
    if let Some(notes) = change.notes {
        row.notes = Set(notes);
    }
    if let Some(location) = change.location {
        row.latitude = Set(location.map(|l| l.0));
        row.longitude = Set(location.map(|l| l.1));
    }
    if change.make_default {
        row.is_default = Set(true);
    }
    row.updated_at = Set(now);
    let saved = row.update(&txn).await?;
    txn.commit().await?;
    Ok(view(&state.regions, saved))
}

/// Deletes an address. Orders delivered to it keep their copy. When it was the default, the
/// most recently changed of the others becomes the default.
pub async fn delete(state: &AppState, user_id: &str, id: &str) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    lock_owner(&txn, user_id).await?;
    let found = own(&txn, user_id, id).await?;
    Entity::delete_by_id(found.id.clone()).exec(&txn).await?;
    if found.is_default
        && let Some(next) = Entity::find()
            .filter(Column::UserId.eq(user_id))
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id)
            .one(&txn)
            .await?
    {
        let mut next = next.into_active_model();
        next.is_default = Set(true);
        next.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The copy of the buyer's address `id` an order keeps; `None` when the buyer has no such
/// address. Runs inside the caller's transaction (checkout's).
pub async fn for_delivery<C: ConnectionTrait>(
    conn: &C,
    regions: &Regions,
    user_id: &str,
    id: &str,
) -> ApiResult<Option<DeliveryAddress>> {
    let Some(a) = Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .filter(|a| a.user_id == user_id)
    else {
        return Ok(None);
    };
    Ok(Some(DeliveryAddress {
        lines: lines_of(regions, &a),
        address_id: a.id,
    }))
}

/// The buyer's default address, if any (for the demo and for apps that prefill checkout).
pub async fn default_of<C: ConnectionTrait>(conn: &C, user_id: &str) -> ApiResult<Option<String>> {
    Ok(Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::IsDefault.eq(true))
        .select_only()
        .column(Column::Id)
        .into_tuple::<String>()
        .one(conn)
        .await?)
}
