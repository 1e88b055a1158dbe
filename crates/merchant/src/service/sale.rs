//! What other crates (checkout, payouts, mail) need to know about merchants and listings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::Rupiah;
use peken_kernel::period::Period;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, Statement,
    Value,
};

use crate::store::merchant;

/// Everything checkout needs about listings, in one query (no N+1).
#[derive(Debug, Clone)]
pub struct ListingForSale {
    pub listing_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub merchant_kind: String,
    pub merchant_status: String,
    /// `none`, `in_progress` or `checked`: a shop sells only once its NIB is checked.
    pub merchant_nib_status: String,
    pub merchant_kelurahan_code: String,
    pub merchant_kecamatan_code: String,
    pub product_id: String,
    /// The product's name: what the buyer sees and the order line keeps.
    pub product_name: String,
    /// `pending`, `approved` or `rejected`: only approved products sell.
    pub product_status: String,
    /// The commodity a staple is (its HET and daily limits apply).
    pub commodity_id: Option<String>,
    pub commodity_name: Option<String>,
    pub commodity_unit: Option<String>,
    pub category: String,
    pub unit: String,
    pub price: Rupiah,
    pub het_price: Option<Rupiah>,
    pub max_qty_per_buyer_per_day: Option<i64>,
    pub active: bool,
    pub taken_down: bool,
    pub stock: i64,
    /// Whether the merchant's kind may still sell the commodity's category (admins can
    /// withdraw a permission after listings exist).
    pub category_allowed: bool,
    /// The product's first photo as stored (JSON renditions), when it has one.
    pub image: Option<String>,
    /// The merchant's gross turnover in the month asked for ([`listings_for_sale`]); zero when
    /// it sold nothing or no month was asked for.
    pub month_turnover: Rupiah,
}

impl ListingForSale {
    /// Active, not taken down, product approved, merchant active, category still allowed, and
    /// priced at or below the HET when there is one.
    pub fn sellable(&self) -> bool {
        self.active
            && !self.taken_down
            && self.product_status == "approved"
            && self.merchant_status == "active"
            && self.merchant_nib_status == "checked"
            && self.category_allowed
            && self.het_price.is_none_or(|het| self.price <= het)
    }

    /// Whether buyers may open the listing at all: not taken down, its shop active, its product
    /// approved. (One switched off by the shop or out of stock still opens, unsellable.)
    pub fn open_to_buyers(&self) -> bool {
        !self.taken_down
            && self.merchant_status == "active"
            && self.merchant_nib_status == "checked"
            && self.product_status == "approved"
    }

    /// Why the listing cannot be sold, as a stable code; `None` when it can.
    pub fn unsellable_reason(&self) -> Option<&'static str> {
        if self.taken_down {
            Some("taken_down")
        } else if self.merchant_status != "active" {
            Some("merchant_not_active")
        } else if self.merchant_nib_status != "checked" {
            Some("nib_not_checked")
        } else if self.product_status == "rejected" {
            Some("product_rejected")
        } else if self.product_status != "approved" {
            Some("product_not_approved")
        } else if !self.active {
            Some("inactive")
        } else if !self.category_allowed {
            Some("category_not_allowed")
        } else if self.het_price.is_some_and(|het| self.price > het) {
            Some("price_above_het")
        } else {
            None
        }
    }
}

/// A listing with the facts around it, for the merchant's and admin's views.
#[derive(Debug, Clone)]
pub struct ListingDetail {
    pub sale: ListingForSale,
    pub takedown_reason: Option<String>,
    pub taken_down_at: Option<DateTime<Utc>>,
    /// The shop is alerted when the stock falls to or below it.
    pub low_stock_threshold: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct ListingRow {
    listing_id: String,
    merchant_id: String,
    merchant_name: String,
    merchant_kind: String,
    merchant_status: String,
    merchant_nib_status: String,
    merchant_kelurahan_code: String,
    merchant_kecamatan_code: String,
    product_id: String,
    product_name: String,
    product_status: String,
    commodity_id: Option<String>,
    commodity_name: Option<String>,
    commodity_unit: Option<String>,
    category: String,
    unit: String,
    price: i64,
    het_price: Option<i64>,
    max_qty_per_buyer_per_day: Option<i32>,
    active: bool,
    commodity_active: Option<bool>,
    taken_down: bool,
    stock: i64,
    category_allowed: bool,
    month_turnover: i64,
    image: Option<String>,
    takedown_reason: Option<String>,
    taken_down_at: Option<DateTime<Utc>>,
    low_stock_threshold: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ListingRow> for ListingDetail {
    fn from(r: ListingRow) -> Self {
        ListingDetail {
            sale: ListingForSale {
                listing_id: r.listing_id,
                merchant_id: r.merchant_id,
                merchant_name: r.merchant_name,
                merchant_kind: r.merchant_kind,
                merchant_status: r.merchant_status,
                merchant_nib_status: r.merchant_nib_status,
                merchant_kelurahan_code: r.merchant_kelurahan_code,
                merchant_kecamatan_code: r.merchant_kecamatan_code,
                product_id: r.product_id,
                product_name: r.product_name,
                product_status: r.product_status,
                commodity_id: r.commodity_id,
                commodity_name: r.commodity_name,
                commodity_unit: r.commodity_unit,
                category: r.category,
                unit: r.unit,
                price: Rupiah::new(r.price),
                het_price: r.het_price.map(Rupiah::new),
                max_qty_per_buyer_per_day: r.max_qty_per_buyer_per_day.map(i64::from),
                // A withdrawn commodity stops selling everywhere, like a deactivated listing.
                active: r.active && r.commodity_active.unwrap_or(true),
                taken_down: r.taken_down,
                stock: r.stock,
                category_allowed: r.category_allowed,
                month_turnover: Rupiah::new(r.month_turnover),
                image: r.image,
            },
            takedown_reason: r.takedown_reason,
            taken_down_at: r.taken_down_at,
            low_stock_threshold: r.low_stock_threshold,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Listings with their product, merchant and commodity. `condition` is SQL over `l`
/// (listings), `p` (products), `m` (merchants) and `c` (commodities, absent for products that
/// are no staple) with placeholders `$1…` for `values`; `tail` follows the
/// WHERE clause (order and limit). With `turnover_of`, each row also carries its merchant's
/// gross turnover in that month.
pub(crate) async fn select_listings<C: ConnectionTrait>(
    conn: &C,
    condition: &str,
    mut values: Vec<Value>,
    tail: &str,
    turnover_of: Option<Period>,
) -> Result<Vec<ListingDetail>, DbErr> {
    let month_turnover = match turnover_of {
        Some(period) => {
            values.push(period.to_string().into());
            format!(
                "COALESCE((SELECT t.gross_amount FROM merchant_turnover t \
                 WHERE t.merchant_id = l.merchant_id AND t.period = ${}), CAST(0 AS BIGINT))",
                values.len()
            )
        }
        None => "CAST(0 AS BIGINT)".to_owned(),
    };
    let sql = format!(
        "SELECT l.id AS listing_id, l.merchant_id, m.name AS merchant_name, \
         m.kind AS merchant_kind, m.status AS merchant_status, \
         m.nib_status AS merchant_nib_status, \
         m.kelurahan_code AS merchant_kelurahan_code, \
         m.kecamatan_code AS merchant_kecamatan_code, \
         p.id AS product_id, p.name AS product_name, p.status AS product_status, \
         l.commodity_id, c.name AS commodity_name, c.unit AS commodity_unit, \
         COALESCE(c.category, p.category) AS category, p.unit, l.price, \
         c.het_price, c.max_qty_per_buyer_per_day, l.active, c.active AS commodity_active, \
         CASE WHEN l.taken_down_at IS NULL THEN FALSE ELSE TRUE END AS taken_down, l.stock, \
         CASE WHEN EXISTS (SELECT 1 FROM category_permissions cp \
           WHERE cp.merchant_kind = m.kind AND cp.category = COALESCE(c.category, p.category)) \
           THEN TRUE ELSE FALSE END AS category_allowed, \
         {month_turnover} AS month_turnover, \
         (SELECT i.renditions FROM product_images i WHERE i.product_id = p.id \
           ORDER BY i.position LIMIT 1) AS image, l.takedown_reason, l.taken_down_at, l.low_stock_threshold, l.created_at, \
         l.updated_at \
         FROM listings l \
         JOIN merchants m ON m.id = l.merchant_id \
         JOIN products p ON p.id = l.product_id \
         LEFT JOIN commodities c ON c.id = l.commodity_id \
         WHERE {condition} {tail}"
    );
    let rows = ListingRow::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        values,
    ))
    .all(conn)
    .await?;
    Ok(rows.into_iter().map(ListingDetail::from).collect())
}

/// The listings with these ids that exist, with their merchant and commodity and the
/// merchant's turnover in the WIB month `period`, in listing-id order. Unknown ids are simply
/// absent.
pub async fn listings_for_sale<C: ConnectionTrait>(
    conn: &C,
    listing_ids: &[String],
    period: Period,
) -> Result<Vec<ListingForSale>, DbErr> {
    if listing_ids.is_empty() {
        return Ok(Vec::new());
    }
    let condition = format!(
        "l.id IN ({})",
        peken_kernel::sql::list(listing_ids.len(), 1)
    );
    let values = listing_ids.iter().map(|id| id.as_str().into()).collect();
    Ok(
        select_listings(conn, &condition, values, "ORDER BY l.id", Some(period))
            .await?
            .into_iter()
            .map(|d| d.sale)
            .collect(),
    )
}

/// Staples on sale with stock, in one kecamatan's shops or everywhere, with their shops'
/// turnover in `period`: what a basket that covers a civil servant's monthly minimum is made
/// from. At most `limit`, by listing id; the caller still checks [`ListingForSale::sellable`].
pub async fn staples_for_sale<C: ConnectionTrait>(
    conn: &C,
    kecamatan: Option<&str>,
    period: Period,
    limit: u64,
) -> Result<Vec<ListingForSale>, DbErr> {
    let mut condition = String::from(
        "l.commodity_id IS NOT NULL AND l.active = TRUE AND l.taken_down_at IS NULL \
         AND l.stock > 0 AND m.status = 'active' AND m.nib_status = 'checked' \
         AND p.status = 'approved'",
    );
    let mut values: Vec<Value> = Vec::new();
    if let Some(kecamatan) = kecamatan {
        condition.push_str(" AND m.kecamatan_code = $1");
        values.push(kecamatan.into());
    }
    Ok(select_listings(
        conn,
        &condition,
        values,
        &format!("ORDER BY l.id LIMIT {limit}"),
        Some(period),
    )
    .await?
    .into_iter()
    .map(|d| d.sale)
    .collect())
}

/// Month-to-date turnover (WIB month `period`), kept in the payment transaction by checkout's
/// payment confirmation: adds `amount` and `orders` to the merchant's row for the period.
/// Refunds pass negative values.
pub async fn add_turnover<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    period: Period,
    amount: Rupiah,
    orders: i64,
) -> Result<(), DbErr> {
    add_turnovers(conn, period, &[(merchant_id, amount, orders)]).await
}

/// [`add_turnover`] for several merchants in one statement, rows in merchant-id order so that
/// concurrent payments lock the turnover rows in the same order.
pub async fn add_turnovers<C: ConnectionTrait>(
    conn: &C,
    period: Period,
    rows: &[(&str, Rupiah, i64)],
) -> Result<(), DbErr> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|(merchant_id, _, _)| *merchant_id);
    for chunk in rows.chunks(peken_kernel::sql::CHUNK_ROWS) {
        peken_kernel::sql::exec(
            conn,
            turnover_upsert(&peken_kernel::sql::values_rows(chunk.len(), 4, 1)),
            turnover_values(period, chunk),
        )
        .await?;
    }
    Ok(())
}

/// [`add_turnovers`] as the part `name` of a PostgreSQL [`peken_kernel::sql::Chain`], for at
/// most [`peken_kernel::sql::CHUNK_ROWS`] merchants; it returns each merchant id it touched.
pub fn add_turnovers_chained(
    chain: &mut peken_kernel::sql::Chain,
    name: &str,
    period: Period,
    rows: &[(&str, Rupiah, i64)],
) {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|(merchant_id, _, _)| *merchant_id);
    chain.with(
        name,
        &format!(
            "{} RETURNING merchant_id",
            turnover_upsert(&peken_kernel::sql::values_rows(rows.len(), 4, 1))
        ),
        turnover_values(period, &rows),
    );
}

/// The values of [`turnover_upsert`]'s rows: merchant, period, amount, orders.
fn turnover_values(period: Period, rows: &[(&str, Rupiah, i64)]) -> Vec<Value> {
    let period = period.to_string();
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 4);
    for (merchant_id, amount, orders) in rows {
        values.extend([
            (*merchant_id).into(),
            period.clone().into(),
            amount.get().into(),
            (*orders).into(),
        ]);
    }
    values
}

/// The turnover upsert of `values` rows of (merchant, period, amount, orders).
fn turnover_upsert(values: &str) -> String {
    format!(
        "INSERT INTO merchant_turnover (merchant_id, period, gross_amount, order_count) \
         VALUES {values} ON CONFLICT (merchant_id, period) DO UPDATE SET \
         gross_amount = merchant_turnover.gross_amount + excluded.gross_amount, \
         order_count = merchant_turnover.order_count + excluded.order_count"
    )
}

/// Shops by id as the part `name` of a PostgreSQL [`peken_kernel::sql::Chain`]: rows of
/// `(id, name, owner_user_id)`, what [`shops`] reads.
pub fn shops_chained(chain: &mut peken_kernel::sql::Chain, name: &str, merchant_ids: &[&str]) {
    chain.with(
        name,
        &format!(
            "SELECT id, name, owner_user_id FROM merchants WHERE id IN ({})",
            peken_kernel::sql::list(merchant_ids.len(), 1)
        ),
        merchant_ids.iter().map(|id| (*id).into()).collect(),
    );
}

/// Shops by id: name and owner's user id, what messages about several orders need (one query).
pub async fn shops<C: ConnectionTrait>(
    conn: &C,
    merchant_ids: &[String],
) -> Result<HashMap<String, (String, String)>, DbErr> {
    let found = merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(merchant_ids.to_vec()))
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|m| (m.id, (m.name, m.owner_user_id)))
        .collect())
}

/// Contact of a merchant's owner for notifications: (owner name, owner e-mail).
pub async fn owner_contact<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Option<(String, String)>, DbErr> {
    Ok(shop_and_owner(conn, merchant_id)
        .await?
        .and_then(|(_, owner)| owner))
}

/// Bank details for payouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
}

pub async fn bank_account<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Option<BankAccount>, DbErr> {
    Ok(merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
        .map(|m| BankAccount {
            bank_code: m.bank_code,
            account_number: m.account_number,
            account_name: m.account_name,
        }))
}

/// A merchant's shop name, for messages to buyers.
pub async fn merchant_name<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
        .map(|m| m.name))
}

/// A shop's name and its owner's (name, e-mail) if the owner has an address: what a new-order
/// message needs.
pub async fn shop_and_owner<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Option<(String, Option<(String, String)>)>, DbErr> {
    let Some(shop) = merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let owner = peken_identity::people::find(conn, &shop.owner_user_id).await?;
    Ok(Some((
        shop.name,
        owner.and_then(|o| o.email.map(|email| (o.name, email))),
    )))
}
