//! Products: what a merchant sells, in its own words. A product is moderated before it sells:
//! new products wait as `pending` until an admin approves or rejects them (with a reason the
//! merchant sees). A change to an approved product waits beside it (`proposed`) while the
//! approved version keeps selling, and takes its place when approved.
//!
//! A staple names the commodity it is, so the commodity's HET and daily limits apply to it;
//! products of the staples category must name one. Listings keep copies of their product's
//! category, commodity and search words; they are rewritten whenever an approved version
//! changes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_catalog::cache::listings_changed;
use peken_catalog::input::search_words;
use peken_catalog::service as catalog;
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::pagination::Page;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::merchants;
use crate::media::StoredRendition;
use crate::store::{listing, merchant, product, product_image};

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

/// The category of the nine staples: its products must name their commodity.
pub const STAPLES: &str = "sembako";

/// A product's own fields, as the merchant gives them (checked for form by the handler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFields {
    pub name: String,
    pub description: String,
    pub category: String,
    pub unit: String,
    pub net_weight_g: Option<i64>,
    pub net_volume_ml: Option<i64>,
    pub barcode: Option<String>,
    pub commodity_id: Option<String>,
}

impl ProductFields {
    fn of(p: &product::Model) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            unit: p.unit.clone(),
            net_weight_g: p.net_weight_g,
            net_volume_ml: p.net_volume_ml,
            barcode: p.barcode.clone(),
            commodity_id: p.commodity_id.clone(),
        }
    }

    fn search_text(&self) -> String {
        let mut words = search_words(&self.name);
        words.extend(search_words(&self.description));
        words.join(" ")
    }
}

/// A new product: `category` may be left out when a commodity is named (it is the
/// commodity's).
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub net_weight_g: Option<i64>,
    pub net_volume_ml: Option<i64>,
    pub barcode: Option<String>,
    pub commodity_id: Option<String>,
}

/// A change: `None` keeps a field; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub net_weight_g: Option<Option<i64>>,
    pub net_volume_ml: Option<Option<i64>>,
    pub barcode: Option<Option<String>>,
    pub commodity_id: Option<Option<String>>,
}

/// A change waiting for (or refused by) moderation.
#[derive(Debug, Clone)]
pub struct PendingChange {
    pub fields: ProductFields,
    /// `pending` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProductImage {
    pub id: String,
    pub position: i32,
    pub width: i32,
    pub height: i32,
    /// Smallest first.
    pub renditions: Vec<StoredRendition>,
}

impl ProductImage {
    fn of(row: product_image::Model) -> Self {
        Self {
            renditions: serde_json::from_str(&row.renditions).unwrap_or_default(),
            id: row.id,
            position: row.position,
            width: row.width,
            height: row.height,
        }
    }
}

/// A product as its merchant and admins see it.
#[derive(Debug, Clone)]
pub struct ProductView {
    pub id: String,
    pub merchant_id: String,
    pub fields: ProductFields,
    pub status: String,
    pub rejection_reason: Option<String>,
    pub pending_change: Option<PendingChange>,
    pub images: Vec<ProductImage>,
    pub submitted_at: DateTime<Utc>,
    pub moderated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields after the catalogue's checks: a known, allowed category, the commodity's category
/// for a staple.
async fn resolve<C: ConnectionTrait>(
    conn: &C,
    merchant_kind: &str,
    new: NewProduct,
) -> ApiResult<ProductFields> {
    let commodity = match &new.commodity_id {
        Some(id) => Some(
            catalog::find_commodity(conn, id)
                .await?
                .filter(|c| c.active)
                .ok_or_else(|| {
                    ApiError::field("commodity_id", "unknown_commodity", "no such commodity")
                })?,
        ),
        None => None,
    };
    let category = match (&new.category, &commodity) {
        (Some(category), Some(c)) if *category != c.category => {
            return Err(ApiError::field(
                "category",
                "category_mismatch",
                format!("the commodity {} is of the category {}", c.name, c.category),
            ));
        }
        (_, Some(c)) => c.category.clone(),
        (Some(category), None) => category.clone(),
        (None, None) => {
            return Err(ApiError::field(
                "category",
                "required",
                "a product without a commodity needs a category",
            ));
        }
    };
    if !catalog::category_exists(conn, &category).await? {
        return Err(ApiError::field(
            "category",
            "unknown_category",
            "no category with this code",
        ));
    }
    if commodity.is_none() && category == STAPLES {
        return Err(ApiError::field(
            "commodity_id",
            "commodity_required",
            "a staple must name its commodity, so that its HET and daily limits apply",
        ));
    }
    if !catalog::is_category_allowed(conn, merchant_kind, &category).await? {
        return Err(ApiError::unprocessable(
            "category_not_allowed",
            format!("a {merchant_kind} may not sell the category {category}"),
        )
        .with_context(serde_json::json!({
            "merchant_kind": merchant_kind, "category": category,
        })));
    }
    let unit = match (new.unit, &commodity) {
        (Some(unit), _) => unit,
        (None, Some(c)) => c.unit.clone(),
        (None, None) => {
            return Err(ApiError::field(
                "unit",
                "required",
                "a product without a commodity needs a unit",
            ));
        }
    };
    Ok(ProductFields {
        name: new.name,
        description: new.description,
        category,
        unit,
        net_weight_g: new.net_weight_g,
        net_volume_ml: new.net_volume_ml,
        barcode: new.barcode,
        commodity_id: new.commodity_id,
    })
}

fn audit_fields(f: &ProductFields) -> serde_json::Value {
    serde_json::to_value(f).unwrap_or_default()
}

/// A new product of the merchant, waiting for moderation.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    new: NewProduct,
) -> ApiResult<ProductView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    let fields = resolve(&txn, &m.kind, new).await?;
    let id = new_id();
    let created = product::ActiveModel {
        id: Set(id.clone()),
        merchant_id: Set(m.id.clone()),
        name: Set(fields.name.clone()),
        description: Set(fields.description.clone()),
        category: Set(fields.category.clone()),
        unit: Set(fields.unit.clone()),
        net_weight_g: Set(fields.net_weight_g),
        net_volume_ml: Set(fields.net_volume_ml),
        barcode: Set(fields.barcode.clone()),
        commodity_id: Set(fields.commodity_id.clone()),
        status: Set(PENDING.to_owned()),
        rejection_reason: Set(None),
        proposed: Set(None),
        change_status: Set(None),
        change_reason: Set(None),
        submitted_at: Set(now),
        moderated_at: Set(None),
        moderated_by: Set(None),
        search_text: Set(fields.search_text()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("product.created", "product", &id).after(audit_fields(&fields)),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(view(created, Vec::new()))
}

/// An approved product for a commodity, made by the merchant's listing of that commodity (the
/// way listings were made before products): the commodity was approved by the admin who made
/// it, so the product is approved at once.
pub(crate) async fn for_commodity<C: ConnectionTrait>(
    conn: &C,
    m: &merchant::Model,
    commodity_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<product::Model> {
    let fields = resolve(
        conn,
        &m.kind,
        NewProduct {
            name: String::new(),
            description: String::new(),
            category: None,
            unit: None,
            net_weight_g: None,
            net_volume_ml: None,
            barcode: None,
            commodity_id: Some(commodity_id.to_owned()),
        },
    )
    .await?;
    let commodity = catalog::find_commodity(conn, commodity_id)
        .await?
        .ok_or_else(|| ApiError::not_found("commodity"))?;
    let fields = ProductFields {
        name: commodity.name,
        ..fields
    };
    Ok(product::ActiveModel {
        id: Set(new_id()),
        merchant_id: Set(m.id.clone()),
        name: Set(fields.name.clone()),
        description: Set(String::new()),
        category: Set(fields.category.clone()),
        unit: Set(fields.unit.clone()),
        net_weight_g: Set(None),
        net_volume_ml: Set(None),
        barcode: Set(None),
        commodity_id: Set(fields.commodity_id.clone()),
        status: Set(APPROVED.to_owned()),
        rejection_reason: Set(None),
        proposed: Set(None),
        change_status: Set(None),
        change_reason: Set(None),
        submitted_at: Set(now),
        moderated_at: Set(Some(now)),
        moderated_by: Set(None),
        search_text: Set(fields.search_text()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// The product if it belongs to the merchant; 404 otherwise (another merchant's too).
pub(crate) async fn of_merchant<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    product_id: &str,
) -> ApiResult<product::Model> {
    product::Entity::find_by_id(product_id.to_owned())
        .one(conn)
        .await?
        .filter(|p| p.merchant_id == merchant_id)
        .ok_or_else(|| ApiError::not_found("product"))
}

fn proposed_of(p: &product::Model) -> Option<ProductFields> {
    p.proposed
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
}

/// Changes a product. A pending or rejected product is replaced and (again) waits for
/// moderation; an approved one keeps selling as it is while the change waits beside it.
pub async fn patch(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
    patch: ProductPatch,
) -> ApiResult<ProductView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    let found = of_merchant(&txn, &m.id, product_id).await?;
    let live = ProductFields::of(&found);
    // A change builds on the change already waiting, if any.
    let base = match (&found.change_status, proposed_of(&found)) {
        (Some(_), Some(proposed)) => proposed,
        _ => live.clone(),
    };
    let commodity_id = patch
        .commodity_id
        .clone()
        .unwrap_or(base.commodity_id.clone());
    // A new commodity brings its category unless the patch names one.
    let category = match (&patch.category, &patch.commodity_id) {
        (Some(category), _) => Some(category.clone()),
        (None, Some(_)) if commodity_id.is_some() => None,
        _ => Some(base.category.clone()),
    };
    let fields = resolve(
        &txn,
        &m.kind,
        NewProduct {
            name: patch.name.unwrap_or(base.name),
            description: patch.description.unwrap_or(base.description),
            category,
            unit: Some(patch.unit.unwrap_or(base.unit)),
            net_weight_g: patch.net_weight_g.unwrap_or(base.net_weight_g),
            net_volume_ml: patch.net_volume_ml.unwrap_or(base.net_volume_ml),
            barcode: patch.barcode.unwrap_or(base.barcode),
            commodity_id,
        },
    )
    .await?;
    if fields.net_weight_g.is_some() && fields.net_volume_ml.is_some() {
        return Err(net_quantity_conflict());
    }
    let before = audit_fields(&live);
    let mut model: product::ActiveModel = found.clone().into();
    if found.status == APPROVED {
        if fields == live {
            // Back to what is approved: nothing waits any more.
            model.proposed = Set(None);
            model.change_status = Set(None);
            model.change_reason = Set(None);
        } else {
            model.proposed = Set(Some(
                serde_json::to_string(&fields)
                    .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
            ));
            model.change_status = Set(Some(PENDING.to_owned()));
            model.change_reason = Set(None);
            model.submitted_at = Set(now);
        }
    } else {
        set_fields(&mut model, &fields);
        model.status = Set(PENDING.to_owned());
        model.rejection_reason = Set(None);
        model.submitted_at = Set(now);
    }
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("product.changed", "product", product_id)
            .before(before)
            .after(audit_fields(&fields)),
        now,
    )
    .await?;
    let images = images_of(&txn, std::slice::from_ref(&updated.id)).await?;
    txn.commit().await?;
    Ok(view(
        updated,
        images.into_values().next().unwrap_or_default(),
    ))
}

pub(crate) fn net_quantity_conflict() -> ApiError {
    ApiError::field(
        "net_volume_ml",
        "net_quantity_conflict",
        "a product has a net weight or a net volume, not both",
    )
}

fn set_fields(model: &mut product::ActiveModel, f: &ProductFields) {
    model.name = Set(f.name.clone());
    model.description = Set(f.description.clone());
    model.category = Set(f.category.clone());
    model.unit = Set(f.unit.clone());
    model.net_weight_g = Set(f.net_weight_g);
    model.net_volume_ml = Set(f.net_volume_ml);
    model.barcode = Set(f.barcode.clone());
    model.commodity_id = Set(f.commodity_id.clone());
    model.search_text = Set(f.search_text());
}

/// An admin's decision on what waits: a new product, or a change to an approved one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject(String),
}

/// Approves or rejects what waits for moderation on a product (409 `nothing_to_moderate`
/// when nothing does). An approval that changes what sells rewrites the listings' copies.
pub async fn moderate(
    state: &AppState,
    admin: &Caller,
    product_id: &str,
    decision: Decision,
) -> ApiResult<ProductView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = product::Entity::find_by_id(product_id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let change_waits = found.change_status.as_deref() == Some(PENDING);
    if found.status != PENDING && !change_waits {
        return Err(ApiError::conflict(
            "nothing_to_moderate",
            "nothing of this product waits for moderation",
        ));
    }
    let mut model: product::ActiveModel = found.clone().into();
    let mut selling_changed = false;
    let outcome = match (&decision, change_waits) {
        (Decision::Approve, false) => {
            model.status = Set(APPROVED.to_owned());
            model.rejection_reason = Set(None);
            selling_changed = true;
            "approved"
        }
        (Decision::Reject(reason), false) => {
            model.status = Set(REJECTED.to_owned());
            model.rejection_reason = Set(Some(reason.clone()));
            "rejected"
        }
        (Decision::Approve, true) => {
            let proposed = proposed_of(&found).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("product {product_id}: unreadable change"))
            })?;
            set_fields(&mut model, &proposed);
            model.proposed = Set(None);
            model.change_status = Set(None);
            model.change_reason = Set(None);
            selling_changed = true;
            "change_approved"
        }
        (Decision::Reject(reason), true) => {
            model.change_status = Set(Some(REJECTED.to_owned()));
            model.change_reason = Set(Some(reason.clone()));
            "change_rejected"
        }
    };
    model.moderated_at = Set(Some(now));
    model.moderated_by = Set(Some(admin.user_id.clone()));
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    if selling_changed {
        refresh_listings(&txn, &updated, now).await?;
    }
    let shop_name = merchant::Entity::find_by_id(updated.merchant_id.clone())
        .one(&txn)
        .await?
        .map(|m| m.name)
        .unwrap_or_default();
    let reason = match &decision {
        Decision::Reject(r) => Some(r.clone()),
        Decision::Approve => None,
    };
    crate::alerts::tell_shop(
        &txn,
        &updated.merchant_id,
        &format!("product:{product_id}:{outcome}:{}", now.timestamp_micros()),
        now,
        |_| peken_mail::Template::ProductModerated {
            merchant_name: shop_name.clone(),
            product_id: updated.id.clone(),
            product_name: updated.name.clone(),
            change: change_waits,
            approved: matches!(decision, Decision::Approve),
            reason: reason.clone(),
            at: now,
        },
    )
    .await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("product.moderated", "product", product_id)
            .before(serde_json::json!({"status": found.status, "change_status": found.change_status}))
            .after(serde_json::json!({
                "outcome": outcome,
                "reason": match &decision { Decision::Reject(r) => Some(r), Decision::Approve => None },
            })),
        now,
    )
    .await?;
    let images = images_of(&txn, std::slice::from_ref(&updated.id)).await?;
    txn.commit().await?;
    tracing::info!(product_id, admin = %admin.user_id, outcome, "product moderated");
    listings_changed(state).await;
    Ok(view(
        updated,
        images.into_values().next().unwrap_or_default(),
    ))
}

/// The search words a listing of this product carries: the product's and the shop's.
pub(crate) fn listing_search_text(product: &product::Model, shop_name: &str) -> String {
    let mut words = product.search_text.clone();
    for word in search_words(shop_name) {
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(&word);
    }
    words
}

/// Rewrites the copies the product's listing keeps (category, commodity, search words).
async fn refresh_listings<C: ConnectionTrait>(
    conn: &C,
    p: &product::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let shop = merchant::Entity::find_by_id(p.merchant_id.clone())
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    listing::Entity::update_many()
        .col_expr(listing::Column::Category, Expr::value(p.category.clone()))
        .col_expr(
            listing::Column::CommodityId,
            Expr::value(p.commodity_id.clone()),
        )
        .col_expr(
            listing::Column::SearchText,
            Expr::value(listing_search_text(p, &shop.name)),
        )
        .col_expr(listing::Column::UpdatedAt, Expr::value(now))
        .filter(listing::Column::ProductId.eq(p.id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// One product of a merchant, for its people and admins.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
) -> ApiResult<ProductView> {
    let m = merchants::for_reading(&state.db, caller, merchant_id, false).await?;
    let found = of_merchant(&state.db, &m.id, product_id).await?;
    let images = images_of(&state.db, std::slice::from_ref(&found.id)).await?;
    Ok(view(found, images.into_values().next().unwrap_or_default()))
}

/// Which products to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductFilter {
    All,
    /// New products and changes waiting for moderation.
    Pending,
    Approved,
    Rejected,
}

impl ProductFilter {
    fn condition(self) -> Option<Condition> {
        match self {
            ProductFilter::All => None,
            ProductFilter::Pending => Some(
                Condition::any()
                    .add(product::Column::Status.eq(PENDING))
                    .add(product::Column::ChangeStatus.eq(PENDING)),
            ),
            ProductFilter::Approved => {
                Some(Condition::all().add(product::Column::Status.eq(APPROVED)))
            }
            ProductFilter::Rejected => Some(
                Condition::any()
                    .add(product::Column::Status.eq(REJECTED))
                    .add(product::Column::ChangeStatus.eq(REJECTED)),
            ),
        }
    }
}

async fn page_of<C: ConnectionTrait>(
    conn: &C,
    merchant_id: Option<&str>,
    filter: ProductFilter,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Page<ProductView>> {
    let mut query = product::Entity::find().order_by_asc(product::Column::Id);
    if let Some(merchant_id) = merchant_id {
        query = query.filter(product::Column::MerchantId.eq(merchant_id));
    }
    if let Some(condition) = filter.condition() {
        query = query.filter(condition);
    }
    if let Some(after) = after {
        query = query.filter(product::Column::Id.gt(after));
    }
    let rows = query.limit(limit + 1).all(conn).await?;
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let mut images = images_of(conn, &ids).await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |p| p.id.clone(),
        |p| {
            let own = images.remove(&p.id).unwrap_or_default();
            view(p, own)
        },
    ))
}

/// A merchant's products in id order, for its people and admins.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    filter: ProductFilter,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Page<ProductView>> {
    let m = merchants::for_reading(&state.db, caller, merchant_id, false).await?;
    page_of(&state.db, Some(&m.id), filter, after, limit).await
}

/// Products of every merchant (admins' moderation queue), in id order.
pub async fn list_all(
    state: &AppState,
    merchant_id: Option<&str>,
    filter: ProductFilter,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Page<ProductView>> {
    page_of(&state.db, merchant_id, filter, after, limit).await
}

/// The photos of these products, each in position order.
pub(crate) async fn images_of<C: ConnectionTrait>(
    conn: &C,
    product_ids: &[String],
) -> ApiResult<HashMap<String, Vec<ProductImage>>> {
    let mut found: HashMap<String, Vec<ProductImage>> = HashMap::new();
    if product_ids.is_empty() {
        return Ok(found);
    }
    let rows = product_image::Entity::find()
        .filter(product_image::Column::ProductId.is_in(product_ids.to_vec()))
        .order_by_asc(product_image::Column::ProductId)
        .order_by_asc(product_image::Column::Position)
        .all(conn)
        .await?;
    for row in rows {
        found
            .entry(row.product_id.clone())
            .or_default()
            .push(ProductImage::of(row));
    }
    Ok(found)
}

fn view(p: product::Model, images: Vec<ProductImage>) -> ProductView {
    let pending_change = match (&p.change_status, proposed_of(&p)) {
        (Some(status), Some(fields)) => Some(PendingChange {
            fields,
            status: status.clone(),
            reason: p.change_reason.clone(),
        }),
        _ => None,
    };
    ProductView {
        fields: ProductFields::of(&p),
        id: p.id,
        merchant_id: p.merchant_id,
        status: p.status,
        rejection_reason: p.rejection_reason,
        pending_change,
        images,
        submitted_at: p.submitted_at,
        moderated_at: p.moderated_at,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// The most photos one product may have.
pub const MAX_IMAGES: usize = 8;

fn too_many_images() -> ApiError {
    ApiError::conflict(
        "too_many_images",
        format!("a product has at most {MAX_IMAGES} photos; delete one first"),
    )
    .with_context(serde_json::json!({ "limit": MAX_IMAGES }))
}

/// A photo as stored by the media layer: its upright size and its renditions, smallest first.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<StoredRendition>,
}

/// Checks that the caller's merchant owns the product and that it has room for one more photo:
/// what an upload is refused for before its bytes are read and decoded.
pub async fn check_room_for_image(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
) -> ApiResult<()> {
    let m = merchants::own(&state.db, caller, merchant_id).await?;
    of_merchant(&state.db, &m.id, product_id).await?;
    if image_count(&state.db, product_id).await? >= MAX_IMAGES as u64 {
        return Err(too_many_images());
    }
    Ok(())
}

async fn image_count<C: ConnectionTrait>(conn: &C, product_id: &str) -> ApiResult<u64> {
    Ok(product_image::Entity::find()
        .filter(product_image::Column::ProductId.eq(product_id))
        .count(conn)
        .await?)
}

/// The caller's merchant's product, its row locked for the rest of the transaction (404 for
/// another merchant's): photo changes of one product run one after the other.
async fn own_locked<C: ConnectionTrait>(
    txn: &C,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
) -> ApiResult<product::Model> {
    let m = merchants::own(txn, caller, merchant_id).await?;
    product::Entity::find_by_id(product_id.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .filter(|p| p.merchant_id == m.id)
        .ok_or_else(|| ApiError::not_found("product"))
}

/// Adds a stored photo as the product's last one. The product's row is locked while its photos
/// are counted, so two uploads at once cannot make a ninth. On an error the caller deletes the
/// stored objects again ([`unreferenced`] says which may go).
pub async fn add_image(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
    image: NewImage,
) -> ApiResult<ProductView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = own_locked(&txn, caller, merchant_id, product_id).await?;
    let count = image_count(&txn, product_id).await?;
    if count >= MAX_IMAGES as u64 {
        return Err(too_many_images());
    }
    let id = new_id();
    product_image::ActiveModel {
        id: Set(id.clone()),
        product_id: Set(found.id.clone()),
        position: Set(i32::try_from(count).unwrap_or(i32::MAX)),
        width: Set(i32::try_from(image.width).unwrap_or(i32::MAX)),
        height: Set(i32::try_from(image.height).unwrap_or(i32::MAX)),
        renditions: Set(serde_json::to_string(&image.renditions)
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("product.image_added", "product", product_id)
            .after(serde_json::json!({"image_id": id, "position": count})),
        now,
    )
    .await?;
    let images = images_of(&txn, std::slice::from_ref(&found.id)).await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok(view(found, images.into_values().next().unwrap_or_default()))
}

/// Deletes a photo; the photos after it move up. Returns the product and the keys that no
/// photo uses any more (for the caller to delete from the media store).
pub async fn delete_image(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
    image_id: &str,
) -> ApiResult<(ProductView, Vec<String>)> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = own_locked(&txn, caller, merchant_id, product_id).await?;
    let image = product_image::Entity::find_by_id(image_id.to_owned())
        .one(&txn)
        .await?
        .filter(|i| i.product_id == found.id)
        .ok_or_else(|| ApiError::not_found("image"))?;
    product_image::Entity::delete_by_id(image.id.clone())
        .exec(&txn)
        .await?;
    product_image::Entity::update_many()
        .col_expr(
            product_image::Column::Position,
            Expr::col(product_image::Column::Position).sub(1),
        )
        .filter(product_image::Column::ProductId.eq(found.id.clone()))
        .filter(product_image::Column::Position.gt(image.position))
        .exec(&txn)
        .await?;
    let keys: Vec<String> = ProductImage::of(image.clone())
        .renditions
        .into_iter()
        .map(|r| r.key)
        .collect();
    let gone = unreferenced(&txn, &keys).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("product.image_deleted", "product", product_id)
            .before(serde_json::json!({"image_id": image.id, "position": image.position})),
        now,
    )
    .await?;
    let images = images_of(&txn, std::slice::from_ref(&found.id)).await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok((
        view(found, images.into_values().next().unwrap_or_default()),
        gone,
    ))
}

/// Puts the product's photos in the given order: `image_ids` must name each of them once.
pub async fn reorder_images(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    product_id: &str,
    image_ids: &[String],
) -> ApiResult<ProductView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = own_locked(&txn, caller, merchant_id, product_id).await?;
    let current = images_of(&txn, std::slice::from_ref(&found.id))
        .await?
        .into_values()
        .next()
        .unwrap_or_default();
    let mut have: Vec<&str> = current.iter().map(|i| i.id.as_str()).collect();
    let mut want: Vec<&str> = image_ids.iter().map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    if have != want {
        return Err(ApiError::field(
            "image_ids",
            "not_a_permutation",
            "name each of the product's photos exactly once",
        ));
    }
    for (position, id) in image_ids.iter().enumerate() {
        product_image::Entity::update_many()
            .col_expr(
                product_image::Column::Position,
                Expr::value(i32::try_from(position).unwrap_or(i32::MAX)),
            )
            .filter(product_image::Column::Id.eq(id.clone()))
            .exec(&txn)
            .await?;
    }
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("product.images_reordered", "product", product_id)
            .after(serde_json::json!({"image_ids": image_ids})),
        now,
    )
    .await?;
    let images = images_of(&txn, std::slice::from_ref(&found.id)).await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok(view(found, images.into_values().next().unwrap_or_default()))
}

/// Of these media keys, those no product photo and no shop photo uses. Keys are content
/// hashes, so the same photo uploaded twice is stored once and must stay while one uses it.
pub async fn unreferenced<C: ConnectionTrait>(conn: &C, keys: &[String]) -> ApiResult<Vec<String>> {
    let mut gone = Vec::new();
    for key in keys {
        let pattern = format!("%{key}%");
        let images = product_image::Entity::find()
            .filter(product_image::Column::Renditions.like(pattern.clone()))
            .count(conn)
            .await?;
        let shops = merchant::Entity::find()
            .filter(merchant::Column::Photo.like(pattern))
            .count(conn)
            .await?;
        if images == 0 && shops == 0 {
            gone.push(key.clone());
        }
    }
    Ok(gone)
}
