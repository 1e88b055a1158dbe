//! Checkout: one cart, one payment, one order per merchant. Everything happens in one database
//! transaction: the idempotency key, the rationing counters, the stock reservations (conditional
//! updates in listing-id order, so two checkouts cannot deadlock), the orders and the payment.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::db::new_id;
use peken_kernel::period::{Period, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use peken_merchant::media::ImageUrls;
use peken_merchant::service::{ListingForSale, listings_for_sale};
use peken_merchant::stock::{self, MovementKind, StockChange};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryTrait,
    Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::qris;
use crate::status::OrderStatus;
use crate::store::{order, order_event, order_item, payment};
use peken_kernel::idempotency::{self, Begin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Va,
    Qris,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Va => "va",
            PaymentMethod::Qris => "qris",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentMethod {
    Delivery,
    Pickup,
}

impl FulfilmentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentMethod::Delivery => "delivery",
            FulfilmentMethod::Pickup => "pickup",
        }
    }
}

/// A validated cart: listing ids with positive quantities, duplicates merged.
#[derive(Debug, Clone)]
pub struct Cart {
    pub lines: BTreeMap<String, i64>,
    pub fulfilment: FulfilmentMethod,
    /// A free-text address (the first API's way); `address_id` is preferred.
    pub address: Option<String>,
    /// One of the buyer's addresses, copied into each order.
    pub address_id: Option<String>,
    pub payment_method: PaymentMethod,
}

/// One line of an order in responses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderItemView {
    pub listing_id: String,
    /// Absent on lines bought before products existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// The commodity of a staple.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity_id: Option<String>,
    /// The product's name when it was bought.
    pub name: String,
    pub unit: String,
    /// The quantity ordered (and paid for).
    pub quantity: i64,
    /// Units of `quantity` the shop could not supply when it accepted the order: they were
    /// refunded and returned to stock. The shop supplies `quantity - short_quantity`.
    pub short_quantity: i64,
    pub price: Rupiah,
    pub line_total: Rupiah,
    /// The product's first photo now, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageUrls>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutOrder {
    pub id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItemView>,
    pub total_amount: Rupiah,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentInstructions {
    pub id: String,
    pub method: PaymentMethod,
    pub amount: Rupiah,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub va_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qris_payload: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutResponse {
    pub checkout_id: String,
    pub orders: Vec<CheckoutOrder>,
    pub payment: PaymentInstructions,
}

/// The answer to a checkout: a fresh 201 or the stored first answer to the same key.
pub struct CheckoutOutcome {
    pub status: u16,
    pub body: String,
}

/// Places the cart. `hash` is the digest of the request body for the idempotency check.
pub async fn checkout(
    state: &AppState,
    caller: &Caller,
    key: &str,
    hash: &str,
    cart: &Cart,
) -> ApiResult<CheckoutOutcome> {
    place(state, caller, key, hash, cart, None).await
}

/// Places a cart: a buyer's (`opd` is `None`: one bill now) or an OPD's (no bill: orders above
/// the OPD's threshold wait for approval, and the treasurer bills them later).
pub(crate) async fn place(
    state: &AppState,
    caller: &Caller,
    key: &str,
    hash: &str,
    cart: &Cart,
    opd: Option<&crate::opd::Purchase>,
) -> ApiResult<CheckoutOutcome> {
    let now = state.now();
    let policies = state.policies.get(&state.db).await?;
    if cart.lines.len() > policies.max_cart_lines as usize {
        return Err(ApiError::unprocessable(
            "cart_too_large",
            format!("a cart holds at most {} lines", policies.max_cart_lines),
        )
        .with_context(serde_json::json!({ "limit": policies.max_cart_lines })));
    }
    if let Some((id, q)) = cart
        .lines
        .iter()
        .find(|(_, q)| **q > i64::from(policies.max_quantity_per_line))
    {
        return Err(ApiError::unprocessable(
            "quantity_too_large",
            format!("at most {} units per line", policies.max_quantity_per_line),
        )
        .with_context(serde_json::json!({
            "listing_id": id, "quantity": q, "limit": policies.max_quantity_per_line,
        })));
    }

    let txn = state.db.begin().await?;
    let on_postgres = txn.get_database_backend() == DbBackend::Postgres;
    let begun = if on_postgres {
        // The key claimed and then the buyer locked, in one statement.
        let mut chain = peken_kernel::sql::Chain::new();
        idempotency::claim_chained(&mut chain, "c_key", &caller.user_id, key, hash, now);
        peken_identity::people::lock_chained(&mut chain, "c_lock", &caller.user_id);
        let rows = txn
            .query_all_raw(chain.finish(
                "SELECT 0 AS k FROM c_key UNION ALL SELECT 1 FROM c_lock",
                Vec::new(),
            ))
            .await?;
        let mut fresh = false;
        for row in rows {
            fresh |= row.try_get_by_index::<i32>(0)? == 0;
        }
        idempotency::claimed(&txn, fresh, &caller.user_id, key, hash).await?
    } else {
        idempotency::begin(&txn, &caller.user_id, key, hash, now).await?
    };
    if let Begin::Replay { status, body } = begun {
        txn.commit().await?;
        state.metrics.event("checkout", "replayed");
        return Ok(CheckoutOutcome { status, body });
    }
    let cart_units = cart
        .lines
        .values()
        .copied()
        .fold(0_i64, i64::saturating_add);
    if on_postgres {
        crate::holding::check_locked(&txn, &state.settings, &caller.user_id, cart_units).await?;
    } else {
        crate::holding::check(&txn, &state.settings, &caller.user_id, cart_units).await?;
    }
    let delivery = match (&cart.fulfilment, &cart.address_id) {
        (FulfilmentMethod::Delivery, Some(id)) => Some(
            peken_identity::addresses::for_delivery(&txn, &state.regions, &caller.user_id, id)
                .await?
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "unknown_address",
                        "no such address in your address book",
                    )
                    .with_context(serde_json::json!({"address_id": id}))
                })?,
        ),
        _ => None,
    };
    let address = delivery
        .as_ref()
        .map(peken_identity::addresses::DeliveryAddress::one_line)
        .or_else(|| cart.address.clone());
    let delivery_json = delivery
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::internal)?;
    let ids: Vec<String> = cart.lines.keys().cloned().collect();
    let period = Period::of(now);
    let found = listings_for_sale(&txn, &ids, period).await?;
    let by_id: BTreeMap<&str, &ListingForSale> =
        found.iter().map(|l| (l.listing_id.as_str(), l)).collect();
    let mut lines = Vec::with_capacity(cart.lines.len());
    for (listing_id, quantity) in &cart.lines {
        let listing = by_id.get(listing_id.as_str()).ok_or_else(|| {
            ApiError::unprocessable("listing_not_found", "a listing in the cart does not exist")
                .with_context(serde_json::json!({"listing_id": listing_id}))
        })?;
        check_sellable(listing)?;
        lines.push((*listing, *quantity));
    }
    check_area(
        state,
        &txn,
        caller,
        &lines,
        policies.buy_outside_area_allowed,
    )
    .await?;
    let merchants: BTreeMap<&str, &ListingForSale> = lines
        .iter()
        .map(|(l, _)| (l.merchant_id.as_str(), *l))
        .collect();
    for (merchant_id, listing) in &merchants {
        if listing.month_turnover >= policies.turnover_cap_amount {
            return Err(ApiError::conflict(
                "merchant_capped",
                "this shop has reached its turnover cap for the month; try another shop",
            )
            .with_context(serde_json::json!({
                "merchant_id": merchant_id,
                "merchant_name": listing.merchant_name,
            })));
        }
    }
    reserve_rations(&txn, &caller.user_id, &lines, now).await?;

    // Stock: one guarded update of every line's listing, locked in listing-id order.
    let checkout_id = new_id();
    let payment_id = new_id();
    let mut order_ids: BTreeMap<&str, String> = BTreeMap::new();
    for merchant_id in merchants.keys() {
        order_ids.insert(merchant_id, new_id());
    }
    let mut reservations = Vec::with_capacity(lines.len());
    for (listing, quantity) in &lines {
        let order_id = order_ids
            .get(listing.merchant_id.as_str())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order id missing")))?;
        reservations.push(StockChange {
            listing_id: &listing.listing_id,
            kind: MovementKind::Reservation,
            quantity_delta: -quantity,
            units: *quantity,
            reference: Some(("order", order_id)),
            note: Some("reserved at checkout"),
            actor_id: Some(&caller.user_id),
        });
    }
    stock::apply_many(&txn, &reservations, now).await?;

    let mut orders = Vec::new();
    let mut items = Vec::new();
    let mut events = Vec::new();
    let mut views = Vec::new();
    let mut grand_total = Rupiah::ZERO;
    for (merchant_id, listing) in &merchants {
        let order_id = order_ids[merchant_id].clone();
        let mut total = Rupiah::ZERO;
        let mut item_views = Vec::new();
        for (l, quantity) in lines.iter().filter(|(l, _)| l.merchant_id == *merchant_id) {
            let line_total = l.price.checked_mul(*quantity).ok_or_else(too_large)?;
            total = total.checked_add(line_total).ok_or_else(too_large)?;
            items.push(order_item::ActiveModel {
                id: Set(new_id()),
                order_id: Set(order_id.clone()),
                listing_id: Set(l.listing_id.clone()),
                commodity_id: Set(l.commodity_id.clone()),
                product_id: Set(Some(l.product_id.clone())),
                name: Set(l.product_name.clone()),
                unit: Set(l.unit.clone()),
                quantity: Set(*quantity),
                short_quantity: Set(0),
                price: Set(l.price.get()),
                line_total: Set(line_total.get()),
            });
            item_views.push(OrderItemView {
                listing_id: l.listing_id.clone(),
                product_id: Some(l.product_id.clone()),
                commodity_id: l.commodity_id.clone(),
                name: l.product_name.clone(),
                unit: l.unit.clone(),
                quantity: *quantity,
                short_quantity: 0,
                price: l.price,
                line_total,
                image: l
                    .image
                    .as_deref()
                    .and_then(|json| peken_merchant::media::urls_of_json(state, json)),
            });
        }
        grand_total = grand_total.checked_add(total).ok_or_else(too_large)?;
        let status = match opd {
            Some(purchase) if total > purchase.approval_threshold => OrderStatus::AwaitingApproval,
            _ => OrderStatus::AwaitingPayment,
        };
        if let Some(purchase) = opd {
            crate::opd::record_order(&txn, purchase, &order_id, status, &caller.user_id, now)
                .await?;
        }
        orders.push(order::ActiveModel {
            id: Set(order_id.clone()),
            checkout_id: Set(checkout_id.clone()),
            payment_id: Set(payment_id.clone()),
            buyer_id: Set(caller.user_id.clone()),
            buyer_role: Set(caller.role.as_str().to_owned()),
            merchant_id: Set((*merchant_id).to_owned()),
            status: Set(status.as_str().to_owned()),
            total_amount: Set(total.get()),
            short_amount: Set(0),
            fulfilment_method: Set(cart.fulfilment.as_str().to_owned()),
            address: Set(address.clone()),
            delivery_address: Set(delivery_json.clone()),
            paid_at: Set(None),
            paid_period: Set(None),
            accepted_at: Set(None),
            shipped_at: Set(None),
            completed_at: Set(None),
            cancelled_at: Set(None),
            refunded_at: Set(None),
            status_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
        events.push(order_event::ActiveModel {
            id: Set(new_id()),
            order_id: Set(order_id.clone()),
            from_status: Set(None),
            to_status: Set(status.as_str().to_owned()),
            actor_id: Set(Some(caller.user_id.clone())),
            actor_role: Set("buyer".to_owned()),
            note: Set(Some("checkout".to_owned())),
            created_at: Set(now),
        });
        views.push(CheckoutOrder {
            id: order_id,
            merchant_id: (*merchant_id).to_owned(),
            merchant_name: listing.merchant_name.clone(),
            status,
            items: item_views,
            total_amount: total,
        });
    }

    if opd.is_some() {
        // No bill yet: the OPD's treasurer bills approved orders.
        order::Entity::insert_many(orders)
            .exec_without_returning(&txn)
            .await?;
        order_item::Entity::insert_many(items)
            .exec_without_returning(&txn)
            .await?;
        order_event::Entity::insert_many(events)
            .exec_without_returning(&txn)
            .await?;
        let body = serde_json::to_string(&crate::opd::CheckoutResponse {
            checkout_id,
            orders: views,
        })
        .map_err(ApiError::internal)?;
        idempotency::finish(&txn, &caller.user_id, key, 201, &body).await?;
        txn.commit().await?;
        state.metrics.event("checkout", "created");
        return Ok(CheckoutOutcome { status: 201, body });
    }
    let expires_at = now + Duration::minutes(i64::from(policies.reservation_minutes));
    let bill = NewBill {
        id: &payment_id,
        checkout_id: &checkout_id,
        buyer_id: &caller.user_id,
        method: cart.payment_method,
        amount: grand_total,
        expires_at,
        va_prefix: &policies.va_bank_prefix,
    };
    let mut response = CheckoutResponse {
        checkout_id: checkout_id.clone(),
        orders: views,
        payment: PaymentInstructions {
            id: payment_id.clone(),
            method: cart.payment_method,
            amount: grand_total,
            va_number: None,
            qris_payload: None,
            expires_at,
        },
    };
    let rows = Rows {
        orders,
        items,
        events,
    };
    let body = store_bill(
        &txn,
        &bill,
        rows,
        (&caller.user_id, key),
        &mut response,
        now,
    )
    .await?;
    txn.commit().await?;
    state.metrics.event("checkout", "created");
    Ok(CheckoutOutcome { status: 201, body })
}

/// A checkout's orders, their lines and their first events, before they are stored.
struct Rows {
    orders: Vec<order::ActiveModel>,
    items: Vec<order_item::ActiveModel>,
    events: Vec<order_event::ActiveModel>,
}

/// Stores the bill, its orders, their lines and events, and the answer (`response` with how to
/// pay) for the idempotency key; returns the answer.
async fn store_bill(
    txn: &DatabaseTransaction,
    bill: &NewBill<'_>,
    rows: Rows,
    (caller, key): (&str, &str),
    response: &mut CheckoutResponse,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    if txn.get_database_backend() == DbBackend::Postgres {
        return store_in_one_statement(txn, bill, rows, (caller, key), response, now).await;
    }
    let (va_number, qris_payload) = insert_payment(txn, bill, now).await?;
    order::Entity::insert_many(rows.orders)
        .exec_without_returning(txn)
        .await?;
    order_item::Entity::insert_many(rows.items)
        .exec_without_returning(txn)
        .await?;
    order_event::Entity::insert_many(rows.events)
        .exec_without_returning(txn)
        .await?;
    response.payment.va_number = va_number;
    response.payment.qris_payload = qris_payload;
    let body = serde_json::to_string(response).map_err(ApiError::internal)?;
    idempotency::finish(txn, caller, key, 201, &body).await?;
    Ok(body)
}

/// `store_bill` in one statement on PostgreSQL. Everything after the bill is written only when the bill is:
/// a virtual account number another bill holds writes nothing, and the next number is tried.
async fn store_in_one_statement(
    txn: &DatabaseTransaction,
    bill: &NewBill<'_>,
    rows: Rows,
    (caller, key): (&str, &str),
    response: &mut CheckoutResponse,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let pg = DbBackend::Postgres;
    // Written only when the bill is.
    let after_bill = |statement: Statement| {
        peken_kernel::sql::insert_only_if(statement, "EXISTS (SELECT 1 FROM p)")
    };
    let orders = after_bill(order::Entity::insert_many(rows.orders).build(pg));
    let items = after_bill(order_item::Entity::insert_many(rows.items).build(pg));
    let events = after_bill(order_event::Entity::insert_many(rows.events).build(pg));
    for attempt in 0..VA_ATTEMPTS {
        let (model, va_number, qris_payload) = payment_row(bill, attempt, now);
        response.payment.va_number = va_number;
        response.payment.qris_payload = qris_payload;
        let body = serde_json::to_string(response).map_err(ApiError::internal)?;
        let mut payment = insert_bill(model).build(pg);
        payment.sql.push_str(" RETURNING \"id\"");
        let (finish, values) = idempotency::finish_sql(caller, key, 201, &body);
        let mut chain = peken_kernel::sql::Chain::new();
        chain
            .with_statement("p", payment)
            .with_statement("o", orders.clone())
            .with_statement("i", items.clone())
            .with_statement("e", events.clone())
            .with(
                "k",
                &format!("{finish} AND EXISTS (SELECT 1 FROM p)"),
                values,
            );
        let stored = txn
            .query_one_raw(chain.finish("SELECT COUNT(*) AS n FROM p", Vec::new()))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if stored == 1 {
            return Ok(body);
        }
        tracing::warn!(attempt, "virtual account number taken; drawing another");
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free virtual account number after {VA_ATTEMPTS} attempts"
    )))
}

pub(crate) fn too_large() -> ApiError {
    ApiError::unprocessable("amount_too_large", "the cart's total is too large")
}

/// Refuses a listing that cannot be sold now, with the reason as the code.
fn check_sellable(listing: &ListingForSale) -> ApiResult<()> {
    let Some(reason) = listing.unsellable_reason() else {
        return Ok(());
    };
    let context = serde_json::json!({"listing_id": listing.listing_id, "reason": reason});
    let err = match reason {
        "price_above_het" => ApiError::conflict(
            "price_above_het",
            "this listing is priced above the government ceiling and cannot be sold until repriced",
        ),
        "merchant_not_active" => {
            ApiError::conflict("merchant_not_active", "this shop is not taking orders")
        }
        "nib_not_checked" => ApiError::conflict(
            "nib_not_checked",
            "this shop cannot sell until the cooperatives office has checked its NIB",
        ),
        _ => ApiError::conflict("listing_not_sellable", "this listing is not for sale now"),
    };
    Err(err.with_context(context))
}

/// "Shop where you live": when buying outside the area is switched off, an ASN may only buy
/// from shops in the kecamatan of its domicile (or of its work place when it lives outside
/// Surabaya).
async fn check_area<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    caller: &Caller,
    lines: &[(&ListingForSale, i64)],
    allowed: bool,
) -> ApiResult<()> {
    if allowed || caller.role != Role::Asn {
        return Ok(());
    }
    let user = peken_identity::people::find(conn, &caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the user no longer exists"))?;
    let Some(area) = user.shopping_kecamatan(&state.regions) else {
        return Ok(());
    };
    if let Some((listing, _)) = lines
        .iter()
        .find(|(l, _)| l.merchant_kecamatan_code != area)
    {
        return Err(ApiError::unprocessable(
            "outside_area",
            "civil servants buy from shops in their own kecamatan",
        )
        .with_context(serde_json::json!({
            "listing_id": listing.listing_id,
            "merchant_kecamatan": listing.merchant_kecamatan_code,
            "your_kecamatan": area,
        })));
    }
    Ok(())
}

/// Per-buyer daily limits: one conditional upsert per limited commodity (in commodity-id order),
/// which refuses to pass the limit even with concurrent checkouts by the same buyer.
async fn reserve_rations<C: ConnectionTrait>(
    conn: &C,
    buyer_id: &str,
    lines: &[(&ListingForSale, i64)],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut wanted: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (listing, quantity) in lines {
        if let (Some(limit), Some(commodity_id)) =
            (listing.max_qty_per_buyer_per_day, &listing.commodity_id)
        {
            let entry = wanted.entry(commodity_id).or_insert((0, limit));
            entry.0 += quantity;
        }
    }
    let day = wib_date(now).to_string();
    let backend = conn.get_database_backend();
    for (commodity_id, (quantity, limit)) in wanted {
        let refused = || {
            ApiError::conflict(
                "daily_limit_exceeded",
                format!("at most {limit} units of this item per buyer per day"),
            )
            .with_context(serde_json::json!({"commodity_id": commodity_id, "limit": limit}))
        };
        if quantity > limit {
            return Err(refused());
        }
        let result = conn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO buyer_daily_quantities (buyer_id, commodity_id, day, quantity) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (buyer_id, commodity_id, day) DO UPDATE \
                 SET quantity = buyer_daily_quantities.quantity + excluded.quantity \
                 WHERE buyer_daily_quantities.quantity + excluded.quantity <= $5",
                [
                    buyer_id.into(),
                    commodity_id.into(),
                    day.clone().into(),
                    quantity.into(),
                    limit.into(),
                ],
            ))
            .await?;
        if result.rows_affected() == 0 {
            return Err(refused());
        }
    }
    Ok(())
}

/// Gives rationed units back when an order is cancelled or rejected before delivery.
pub async fn release_rations<C: ConnectionTrait>(
    conn: &C,
    buyer_id: &str,
    ordered_at: DateTime<Utc>,
    items: &[(String, i64)],
) -> Result<(), sea_orm::DbErr> {
    let day = wib_date(ordered_at).to_string();
    let backend = conn.get_database_backend();
    for (commodity_id, quantity) in items {
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE buyer_daily_quantities SET quantity = quantity - $1 \
             WHERE buyer_id = $2 AND commodity_id = $3 AND day = $4 AND quantity >= $1",
            [
                (*quantity).into(),
                buyer_id.into(),
                commodity_id.clone().into(),
                day.clone().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// A checkout's bill, before it is stored.
pub(crate) struct NewBill<'a> {
    pub(crate) id: &'a str,
    pub(crate) checkout_id: &'a str,
    pub(crate) buyer_id: &'a str,
    pub(crate) method: PaymentMethod,
    pub(crate) amount: Rupiah,
    pub(crate) expires_at: DateTime<Utc>,
    /// The bank's prefix of virtual account numbers.
    pub(crate) va_prefix: &'a str,
}

/// Stores the bill, pending, and returns how to pay it: its virtual account number or its QRIS
/// payload. A virtual account number is the bank's prefix and twelve digits derived from the
/// payment id and an attempt counter (at most 24 digits, as banks allow); a number already held
/// by another payment, about one chance in a million per million payments held, is skipped for
/// the next attempt instead of failing the checkout.
pub(crate) async fn insert_payment(
    txn: &DatabaseTransaction,
    bill: &NewBill<'_>,
    now: DateTime<Utc>,
) -> ApiResult<(Option<String>, Option<String>)> {
    for attempt in 0..VA_ATTEMPTS {
        let (model, va_number, qris_payload) = payment_row(bill, attempt, now);
        let inserted = insert_bill(model).exec_without_returning(txn).await?;
        if inserted == 1 {
            return Ok((va_number, qris_payload));
        }
        tracing::warn!(attempt, "virtual account number taken; drawing another");
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free virtual account number after {VA_ATTEMPTS} attempts"
    )))
}

/// The bill's insert, which writes nothing when another bill holds its virtual account number.
fn insert_bill(model: payment::ActiveModel) -> sea_orm::Insert<payment::ActiveModel> {
    payment::Entity::insert(model).on_conflict(
        sea_orm::sea_query::OnConflict::column(payment::Column::VaNumber)
            .do_nothing()
            .to_owned(),
    )
}

/// Virtual account numbers tried before a checkout fails.
const VA_ATTEMPTS: u32 = 8;

/// The bill's row for one attempt, with its virtual account number or QRIS payload.
fn payment_row(
    bill: &NewBill<'_>,
    attempt: u32,
    now: DateTime<Utc>,
) -> (payment::ActiveModel, Option<String>, Option<String>) {
    let qris_payload =
        (bill.method == PaymentMethod::Qris).then(|| qris::payload(bill.id, bill.amount));
    let va_number =
        (bill.method == PaymentMethod::Va).then(|| va_number(bill.va_prefix, bill.id, attempt));
    let model = payment::ActiveModel {
        id: Set(bill.id.to_owned()),
        checkout_id: Set(bill.checkout_id.to_owned()),
        buyer_id: Set(bill.buyer_id.to_owned()),
        method: Set(bill.method.as_str().to_owned()),
        amount: Set(bill.amount.get()),
        status: Set("pending".to_owned()),
        va_number: Set(va_number.clone()),
        qris_payload: Set(qris_payload.clone()),
        expires_at: Set(bill.expires_at),
        provider_reference: Set(None),
        paid_at: Set(None),
        confirmed_at: Set(None),
        proof_status: Set("none".to_owned()),
        proof_reference: Set(None),
        proof_paid_at: Set(None),
        proof_verified_by: Set(None),
        proof_wait_until: Set(None),
        proof_proposed_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    (model, va_number, qris_payload)
}

/// The bank's prefix and twelve digits from a payment id and an attempt number.
fn va_number(prefix: &str, payment_id: &str, attempt: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(payment_id.as_bytes());
    hasher.update(attempt.to_be_bytes());
    let digest = hasher.finalize();
    let mut n: u64 = 0;
    for byte in &digest[..8] {
        n = (n << 8) | u64::from(*byte);
    }
    format!("{prefix}{:012}", n % 1_000_000_000_000)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use chrono::{DateTime, Utc};
    use peken_kernel::Rupiah;
    use peken_migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::{NewBill, PaymentMethod, insert_payment, va_number};

    fn bill(id: &str, method: PaymentMethod, now: DateTime<Utc>) -> NewBill<'_> {
        NewBill {
            id,
            // One bill per checkout: the bill's id stands in for its checkout's.
            checkout_id: id,
            buyer_id: "buyer",
            method,
            amount: Rupiah::new(10_000),
            expires_at: now,
            va_prefix: "8808",
        }
    }

    /// The bill, one order with a line and its event, stored for an idempotency key while
    /// another bill holds the first virtual account number the new one draws: the next number
    /// is used, every row is written once, and the stored answer names the number used. On
    /// PostgreSQL this is the one-statement path.
    #[tokio::test]
    async fn a_bill_whose_number_is_taken_is_stored_once_with_the_next_number() {
        use sea_orm::ActiveValue::Set;

        use super::{CheckoutResponse, PaymentInstructions, Rows, store_bill};
        use crate::store::{order, order_event, order_item};

        let (db, _scratch) = peken_kernel::scratch::test_database("checkout", 2)
            .await
            .unwrap();
        Migrator::up(&db, None).await.unwrap();
        let now = Utc::now();
        let txn = db.begin().await.unwrap();
        // The buyer, listing and shop need not exist for this.
        let no_keys = if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            "SET LOCAL session_replication_role = replica"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        txn.execute_unprepared(no_keys).await.unwrap();
        insert_payment(&txn, &bill("other", PaymentMethod::Qris, now), now)
            .await
            .unwrap();
        let taken = va_number("8808", "p1", 0);
        txn.execute_unprepared(&format!(
            "UPDATE payments SET va_number = '{taken}' WHERE id = 'other'"
        ))
        .await
        .unwrap();
        peken_kernel::idempotency::begin(&txn, "buyer", "key-1", "hash", now)
            .await
            .unwrap();
        let rows = Rows {
            orders: vec![order::ActiveModel {
                id: Set("o1".into()),
                checkout_id: Set("p1".into()),
                payment_id: Set("p1".into()),
                buyer_id: Set("buyer".into()),
                buyer_role: Set("asn".into()),
                merchant_id: Set("m1".into()),
                status: Set("awaiting_payment".into()),
                total_amount: Set(10_000),
                short_amount: Set(0),
                fulfilment_method: Set("pickup".into()),
                address: Set(None),
                delivery_address: Set(None),
                paid_at: Set(None),
                paid_period: Set(None),
                accepted_at: Set(None),
                shipped_at: Set(None),
                completed_at: Set(None),
                cancelled_at: Set(None),
                refunded_at: Set(None),
                status_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }],
            items: vec![order_item::ActiveModel {
                id: Set("i1".into()),
                order_id: Set("o1".into()),
                listing_id: Set("l1".into()),
                commodity_id: Set(None),
                product_id: Set(None),
                name: Set("Beras".into()),
                unit: Set("kg".into()),
                quantity: Set(1),
                short_quantity: Set(0),
                price: Set(10_000),
                line_total: Set(10_000),
            }],
            events: vec![order_event::ActiveModel {
                id: Set("e1".into()),
                order_id: Set("o1".into()),
                from_status: Set(None),
                to_status: Set("awaiting_payment".into()),
                actor_id: Set(Some("buyer".into())),
                actor_role: Set("buyer".into()),
                note: Set(Some("checkout".into())),
                created_at: Set(now),
            }],
        };
        let mut response = CheckoutResponse {
            checkout_id: "p1".into(),
            orders: Vec::new(),
            payment: PaymentInstructions {
                id: "p1".into(),
                method: PaymentMethod::Va,
                amount: Rupiah::new(10_000),
                va_number: None,
                qris_payload: None,
                expires_at: now,
            },
        };
        let body = store_bill(
            &txn,
            &bill("p1", PaymentMethod::Va, now),
            rows,
            ("buyer", "key-1"),
            &mut response,
            now,
        )
        .await
        .unwrap();
        let next = va_number("8808", "p1", 1);
        assert!(body.contains(&next) && !body.contains(&taken), "{body}");
        let count = |sql: &'static str| {
            let txn = &txn;
            async move {
                let row = txn
                    .query_one_raw(sea_orm::Statement::from_string(
                        txn.get_database_backend(),
                        sql,
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM payments WHERE id = 'p1'").await,
            1
        );
        for table in [
            "SELECT COUNT(*) FROM orders WHERE payment_id = 'p1'",
            "SELECT COUNT(*) FROM order_items WHERE order_id = 'o1'",
            "SELECT COUNT(*) FROM order_events WHERE order_id = 'o1'",
        ] {
            assert_eq!(count(table).await, 1, "{table}");
        }
        let stored = txn
            .query_one_raw(sea_orm::Statement::from_string(
                txn.get_database_backend(),
                "SELECT va_number FROM payments WHERE id = 'p1'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<String>(0)
            .unwrap();
        assert_eq!(stored, next);
        match peken_kernel::idempotency::begin(&txn, "buyer", "key-1", "hash", now)
            .await
            .unwrap()
        {
            peken_kernel::idempotency::Begin::Replay {
                status,
                body: again,
            } => {
                assert_eq!((status, again), (201, body));
            }
            peken_kernel::idempotency::Begin::Fresh => panic!("the answer was not stored"),
        }
    }

    #[test]
    fn virtual_account_numbers_are_the_prefix_and_twelve_digits_and_differ_per_attempt() {
        let first = va_number("8808", "p1", 0);
        assert_eq!(first.len(), 16);
        assert!(first.starts_with("8808") && first.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(first, va_number("8808", "p1", 0));
        assert_ne!(first, va_number("8808", "p1", 1));
        assert_ne!(first, va_number("8808", "p2", 0));
    }

    #[tokio::test]
    async fn a_taken_virtual_account_number_is_skipped_not_a_failed_checkout() {
        // In-memory SQLite: the payment's checkout and buyer need not exist for this.
        let db = peken_kernel::db::connect("sqlite::memory:", 1)
            .await
            .unwrap();
        Migrator::up(&db, None).await.unwrap();
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .unwrap();
        let now = Utc::now();
        let txn = db.begin().await.unwrap();
        // Another bill already holds the first number p1 would draw.
        let (none, qris) = insert_payment(&txn, &bill("other", PaymentMethod::Qris, now), now)
            .await
            .unwrap();
        assert_eq!(none, None);
        assert!(qris.is_some());
        let taken = va_number("8808", "p1", 0);
        txn.execute_unprepared(&format!(
            "UPDATE payments SET va_number = '{taken}' WHERE id = 'other'"
        ))
        .await
        .unwrap();
        let (got, no_qris) = insert_payment(&txn, &bill("p1", PaymentMethod::Va, now), now)
            .await
            .unwrap();
        assert_eq!(got, Some(va_number("8808", "p1", 1)));
        assert_ne!(got.as_deref(), Some(taken.as_str()));
        assert_eq!(no_qris, None);
    }
}
