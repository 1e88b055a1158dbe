//! Commodities, categories and category permissions: the admin-managed master data that
//! listings are checked against.

use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::error::unique_violation;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, Statement, TransactionTrait,
};

use crate::cache;
use crate::store::{category, category_permission, commodity};

/// The kinds of merchant the city registers.
pub const MERCHANT_KINDS: [&str; 4] = ["toko_kelontong", "umkm", "koperasi", "padat_karya"];

/// The month-to-date turnover at which a merchant is hidden from browsing and takes no new
/// orders (a city policy).
pub async fn turnover_cap<C: ConnectionTrait>(state: &AppState, conn: &C) -> ApiResult<Rupiah> {
    Ok(state.policies.get(conn).await?.turnover_cap_amount)
}

pub async fn find_commodity<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<commodity::Model>, DbErr> {
    commodity::Entity::find_by_id(id.to_owned()).one(conn).await
}

/// Active commodities (or all, for admins), optionally of one category, by name.
pub async fn list_commodities<C: ConnectionTrait>(
    conn: &C,
    category: Option<&str>,
    include_inactive: bool,
) -> Result<Vec<commodity::Model>, DbErr> {
    let mut query = commodity::Entity::find().order_by_asc(commodity::Column::Name);
    if let Some(category) = category {
        query = query.filter(commodity::Column::Category.eq(category));
    }
    if !include_inactive {
        query = query.filter(commodity::Column::Active.eq(true));
    }
    query.all(conn).await
}

/// A validated new commodity.
#[derive(Debug, Clone)]
pub struct NewCommodity {
    pub name: String,
    pub category: String,
    pub unit: String,
    pub het_price: Option<Rupiah>,
    pub max_qty_per_buyer_per_day: Option<i32>,
}

fn map_commodity_conflict(err: DbErr) -> ApiError {
    match unique_violation(&err) {
        Some(_) => ApiError::conflict("commodity_exists", "a commodity with this name exists"),
        None => err.into(),
    }
}

pub async fn create_commodity(
    state: &AppState,
    admin: &Caller,
    new: NewCommodity,
) -> ApiResult<commodity::Model> {
    require_category(&state.db, &new.category).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let created = commodity::ActiveModel {
        id: Set(new_id()),
        name: Set(new.name),
        category: Set(new.category),
        unit: Set(new.unit),
        het_price: Set(new.het_price.map(Rupiah::get)),
        max_qty_per_buyer_per_day: Set(new.max_qty_per_buyer_per_day),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(map_commodity_conflict)?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("commodity.created", "commodity", &created.id)
            .after(commodity_audit(&created)),
        now,
    )
    .await?;
    txn.commit().await?;
    cache::commodities_changed(state).await;
    Ok(created)
}

/// What the audit log keeps of a commodity: the fields that are policy (HET, ration, category).
fn commodity_audit(c: &commodity::Model) -> serde_json::Value {
    serde_json::json!({
        "name": c.name, "category": c.category, "unit": c.unit, "het_price": c.het_price,
        "max_qty_per_buyer_per_day": c.max_qty_per_buyer_per_day, "active": c.active,
    })
}

pub async fn category_exists<C: ConnectionTrait>(conn: &C, code: &str) -> Result<bool, DbErr> {
    Ok(category::Entity::find_by_id(code.to_owned())
        .one(conn)
        .await?
        .is_some())
}

/// Whether a category code exists, from the cached list of codes (categories change only with
/// the commodities namespace, which every category change bumps).
pub async fn category_known(state: &AppState, code: &str) -> ApiResult<bool> {
    let key = cache::key(state, cache::COMMODITIES, "category-codes").await;
    if let Some(codes) = cache::get::<Vec<String>>(state, &key).await {
        return Ok(codes.iter().any(|c| c == code));
    }
    let codes: Vec<String> = category::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    cache::put(state, &key, &codes, cache::COMMODITIES_TTL).await;
    Ok(codes.iter().any(|c| c == code))
}

async fn require_category<C: ConnectionTrait>(conn: &C, code: &str) -> ApiResult<()> {
    if !category_exists(conn, code).await? {
        return Err(ApiError::field(
            "category",
            "unknown_category",
            "no category with this code",
        ));
    }
    Ok(())
}

/// A validated change of a commodity; `None` leaves a field as it is, and for the nullable
/// fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CommodityPatch {
    pub name: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub het_price: Option<Option<Rupiah>>,
    pub max_qty_per_buyer_per_day: Option<Option<i32>>,
    pub active: Option<bool>,
}

/// Changes a commodity. A lower HET takes effect at once: listings priced above it stop
/// selling (browse hides them, checkout refuses them) until their merchants reprice. Returns
/// the commodity and how many of its listings are now above its HET.
pub async fn patch_commodity(
    state: &AppState,
    admin: &Caller,
    id: &str,
    patch: CommodityPatch,
) -> ApiResult<(commodity::Model, u64)> {
    let txn = state.db.begin().await?;
    let found = find_commodity(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("commodity"))?;
    if let Some(category) = &patch.category {
        require_category(&txn, category).await?;
    }
    let before = commodity_audit(&found);
    let old_het = found.het_price;
    let mut model: commodity::ActiveModel = found.into();
    if let Some(name) = patch.name {
        model.name = Set(name);
    }
    if let Some(category) = patch.category {
        model.category = Set(category);
    }
    if let Some(unit) = patch.unit {
        model.unit = Set(unit);
    }
    if let Some(het) = patch.het_price {
        model.het_price = Set(het.map(Rupiah::get));
    }
    if let Some(max) = patch.max_qty_per_buyer_per_day {
        model.max_qty_per_buyer_per_day = Set(max);
    }
    if let Some(active) = patch.active {
        model.active = Set(active);
    }
    model.updated_at = Set(state.now());
    let updated = model.update(&txn).await.map_err(map_commodity_conflict)?;
    let above = listings_above_het(&txn, &updated).await?;
    if let Some(het) = updated.het_price
        && above > 0
        && old_het.is_none_or(|old| het < old)
    {
        tell_shops_above_het(&txn, &updated, het, state.now()).await?;
    }
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("commodity.changed", "commodity", id)
            .before(before)
            .after(commodity_audit(&updated)),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    cache::commodities_changed(state).await;
    Ok((updated, above))
}

/// How many listings of the commodity its HET now stops (priced above it).
async fn listings_above_het<C: ConnectionTrait>(
    conn: &C,
    c: &commodity::Model,
) -> Result<u64, DbErr> {
    let Some(het) = c.het_price else {
        return Ok(0);
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM listings WHERE commodity_id = $1 AND price > $2",
            [c.id.as_str().into(), het.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0),
        None => 0,
    })
}

/// Tells each shop with listings of the commodity priced above its lowered HET (each of its
/// active people with an e-mail address, through identity, which knows who works for which
/// merchant): one message per shop naming the commodity, the new HET and the shop's prices, in
/// the transaction of the change. It reads `listings` itself, as [`listings_above_het`] does:
/// catalog sits below merchant and cannot call it (see `tests/api/boundaries.rs`).
async fn tell_shops_above_het<C: ConnectionTrait>(
    conn: &C,
    c: &commodity::Model,
    het: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let rows = peken_kernel::sql::query(
        conn,
        "SELECT id, merchant_id, price FROM listings WHERE commodity_id = $1 AND price > $2 \
         ORDER BY merchant_id, id",
        vec![c.id.as_str().into(), het.into()],
    )
    .await?;
    let mut shops: std::collections::BTreeMap<String, Vec<peken_mail::PricedListing>> =
        std::collections::BTreeMap::new();
    for r in rows {
        let merchant_id: String = r.try_get("", "merchant_id")?;
        shops
            .entry(merchant_id)
            .or_default()
            .push(peken_mail::PricedListing {
                listing_id: r.try_get("", "id")?,
                price: Rupiah::new(r.try_get("", "price")?),
            });
    }
    let merchant_ids: Vec<String> = shops.keys().cloned().collect();
    let people = peken_identity::people::reachable_of_merchants(conn, &merchant_ids).await?;
    let change = new_id();
    let mails: Vec<peken_mail::Mail> = people
        .into_iter()
        .filter_map(|p| {
            let listings = shops.get(p.merchant_id.as_ref()?)?.clone();
            Some(peken_mail::Mail {
                to: p.email.clone()?,
                to_name: Some(p.name.clone()),
                template: peken_mail::Template::HetLowered {
                    name: p.name,
                    commodity_id: c.id.clone(),
                    commodity_name: c.name.clone(),
                    unit: c.unit.clone(),
                    het: Rupiah::new(het),
                    listings,
                    changed_at: now,
                },
                dedupe_key: format!("commodity:{}:het:{change}:{}", c.id, p.id),
                user_id: Some(p.id),
            })
        })
        .collect();
    if !mails.is_empty() {
        peken_mail::enqueue_many(conn, mails, now).await?;
    }
    Ok(())
}

/// A category and the merchant kinds allowed to list it.
#[derive(Debug, Clone)]
pub struct CategoryWithKinds {
    pub code: String,
    pub name: String,
    pub merchant_kinds: Vec<String>,
}

pub async fn list_categories<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<CategoryWithKinds>, DbErr> {
    let categories = category::Entity::find()
        .order_by_asc(category::Column::Code)
        .all(conn)
        .await?;
    let permissions = category_permission::Entity::find()
        .order_by_asc(category_permission::Column::MerchantKind)
        .all(conn)
        .await?;
    Ok(categories
        .into_iter()
        .map(|c| CategoryWithKinds {
            merchant_kinds: permissions
                .iter()
                .filter(|p| p.category == c.code)
                .map(|p| p.merchant_kind.clone())
                .collect(),
            code: c.code,
            name: c.name,
        })
        .collect())
}

/// The categories a kind of merchant may list.
pub async fn allowed_categories<C: ConnectionTrait>(
    conn: &C,
    merchant_kind: &str,
) -> Result<Vec<String>, DbErr> {
    Ok(category_permission::Entity::find()
        .filter(category_permission::Column::MerchantKind.eq(merchant_kind))
        .order_by_asc(category_permission::Column::Category)
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.category)
        .collect())
}

pub async fn is_category_allowed<C: ConnectionTrait>(
    conn: &C,
    merchant_kind: &str,
    category: &str,
) -> Result<bool, DbErr> {
    Ok(
        category_permission::Entity::find_by_id((merchant_kind.to_owned(), category.to_owned()))
            .one(conn)
            .await?
            .is_some(),
    )
}

/// Replaces the categories a kind of merchant may list. Listings in a withdrawn category stop
/// selling and disappear from browsing; they come back if the category is allowed again.
pub async fn set_permissions(
    state: &AppState,
    admin: &Caller,
    merchant_kind: &str,
    categories: &[String],
) -> ApiResult<Vec<String>> {
    let txn = state.db.begin().await?;
    let before: Vec<String> = category_permission::Entity::find()
        .filter(category_permission::Column::MerchantKind.eq(merchant_kind))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| p.category)
        .collect();
    let known: Vec<String> = category::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let unknown: Vec<_> = categories.iter().filter(|c| !known.contains(c)).collect();
    if !unknown.is_empty() {
        let mut v = peken_kernel::Validation::new();
        for (i, c) in categories.iter().enumerate() {
            if !known.contains(c) {
                v.push(
                    &format!("categories[{i}]"),
                    "unknown_category",
                    "no category with this code".to_owned(),
                );
            }
        }
        v.finish()?;
    }
    category_permission::Entity::delete_many()
        .filter(category_permission::Column::MerchantKind.eq(merchant_kind))
        .exec(&txn)
        .await?;
    let mut sorted = categories.to_vec();
    sorted.sort();
    sorted.dedup();
    for category in &sorted {
        category_permission::ActiveModel {
            merchant_kind: Set(merchant_kind.to_owned()),
            category: Set(category.clone()),
        }
        .insert(&txn)
        .await?;
    }
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("category_permissions.set", "merchant_kind", merchant_kind)
            .before(serde_json::json!({"categories": before}))
            .after(serde_json::json!({"categories": sorted})),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    cache::commodities_changed(state).await;
    Ok(sorted)
}
