//! Orders as the API shows them, and the queries that list them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use peken_identity::addresses::DeliveryAddress;
use peken_kernel::auth::{Caller, Role};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::wib_midnight_utc;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use peken_merchant::media::{ShopFace, faces};

use crate::actions::visible_order;
use crate::checkout::OrderItemView;
use crate::status::OrderStatus;
use crate::store::{order, order_event, order_item};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Fulfilment {
    /// `delivery` or `pickup`.
    pub method: String,
    /// The delivery address on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The delivery address as it was at checkout, with the recipient and their phone (orders
    /// placed with `address_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<DeliveryAddress>,
}

/// Who bought an order, as the shop that fulfils it (and staff) see them: a name and a phone
/// to call, never a NIK.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerFace {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Which orders a list shows, besides whose they are.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Placed on or after this WIB day.
    pub from: Option<NaiveDate>,
    /// Placed on or before this WIB day.
    pub to: Option<NaiveDate>,
    /// Only this OPD's purchases (for the OPD's own staff and admin).
    pub opd_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderEventView {
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    /// `buyer`, `merchant`, `admin`, `payment` or `system`.
    pub actor_role: String,
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub checkout_id: String,
    pub payment_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    /// The shop: its name, photo, phone and address now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<ShopFace>,
    /// The buyer's name and phone, for the shop's own orders and for staff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<BuyerFace>,
    pub status: OrderStatus,
    pub items: Vec<OrderItemView>,
    /// What the buyer paid.
    pub total_amount: Rupiah,
    /// What the units the shop could not supply cost (the lines' `short_quantity`), refunded
    /// when it accepted the order; 0 when it supplies everything.
    pub short_amount: Rupiah,
    /// What the buyer pays for the goods supplied, and what the shop is owed on completion:
    /// `total_amount - short_amount`.
    pub supplied_amount: Rupiah,
    pub fulfilment: Fulfilment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The order's history, oldest first (on single-order reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<OrderEventView>>,
    /// Set when a city office (OPD) bought this with the regional budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opd_purchase: Option<OpdMark>,
}

/// The OPD that bought an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdMark {
    pub opd_id: String,
    pub opd_name: String,
}

fn view(o: order::Model, items: Vec<order_item::Model>) -> OrderView {
    OrderView {
        status: OrderStatus::parse(&o.status).unwrap_or(OrderStatus::AwaitingPayment),
        items: items
            .into_iter()
            .map(|i| OrderItemView {
                listing_id: i.listing_id,
                product_id: i.product_id,
                commodity_id: i.commodity_id,
                name: i.name,
                unit: i.unit,
                quantity: i.quantity,
                short_quantity: i.short_quantity,
                price: Rupiah::new(i.price),
                line_total: Rupiah::new(i.line_total),
                image: None,
            })
            .collect(),
        total_amount: Rupiah::new(o.total_amount),
        short_amount: Rupiah::new(o.short_amount),
        supplied_amount: Rupiah::new(o.supplied_amount()),
        fulfilment: Fulfilment {
            method: o.fulfilment_method,
            address: o.address,
            delivery_address: o
                .delivery_address
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
        },
        id: o.id,
        checkout_id: o.checkout_id,
        payment_id: o.payment_id,
        buyer_id: o.buyer_id,
        merchant: None,
        buyer: None,
        merchant_id: o.merchant_id,
        status_reason: o.status_reason,
        created_at: o.created_at,
        paid_at: o.paid_at,
        accepted_at: o.accepted_at,
        shipped_at: o.shipped_at,
        completed_at: o.completed_at,
        history: None,
        opd_purchase: None,
    }
}

/// Fills in the shops' names, photos, phones and addresses and the products' first photos (two
/// queries), and for a shop or staff the buyers' names and phones (a third).
async fn show_faces<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    caller: &Caller,
    views: &mut [OrderView],
) -> ApiResult<()> {
    if matches!(caller.role, Role::Merchant | Role::Admin | Role::Treasury) {
        let mut buyer_ids: Vec<String> = views.iter().map(|v| v.buyer_id.clone()).collect();
        buyer_ids.sort();
        buyer_ids.dedup();
        let buyers: HashMap<String, BuyerFace> =
            peken_identity::people::find_many(conn, &buyer_ids)
                .await?
                .into_iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        BuyerFace {
                            id: p.id,
                            name: p.name,
                            phone: p.phone,
                        },
                    )
                })
                .collect();
        for view in views.iter_mut() {
            view.buyer = buyers.get(&view.buyer_id).cloned();
        }
    }
    let mut merchant_ids: Vec<String> = views.iter().map(|v| v.merchant_id.clone()).collect();
    merchant_ids.sort();
    merchant_ids.dedup();
    let mut product_ids: Vec<String> = views
        .iter()
        .flat_map(|v| v.items.iter().filter_map(|i| i.product_id.clone()))
        .collect();
    product_ids.sort();
    product_ids.dedup();
    let faces = faces(state, conn, &merchant_ids, &product_ids).await?;
    let ids: Vec<String> = views.iter().map(|v| v.id.clone()).collect();
    let marks = crate::opd::marks(conn, &ids).await?;
    for view in views {
        view.opd_purchase = marks.get(&view.id).cloned();
        view.merchant = faces.shops.get(&view.merchant_id).cloned();
        for item in &mut view.items {
            item.image = item
                .product_id
                .as_ref()
                .and_then(|p| faces.images.get(p).cloned());
        }
    }
    Ok(())
}

/// One order with its items and history, if the caller may see it.
pub async fn get<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<OrderView> {
    let found = visible_order(conn, caller, order_id).await?;
    shown(state, conn, caller, found).await
}

/// An order the caller was found to see, with its items, faces and history.
pub(crate) async fn shown<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    caller: &Caller,
    found: order::Model,
) -> ApiResult<OrderView> {
    let items = crate::lifecycle::items_of(conn, &found.id).await?;
    let events = events_of(conn, &found.id).await?;
    let mut out = view(found, items);
    show_faces(state, conn, caller, std::slice::from_mut(&mut out)).await?;
    out.history = Some(events.into_iter().map(event_view).collect());
    Ok(out)
}

fn event_view(e: order_event::Model) -> OrderEventView {
    OrderEventView {
        from_status: e.from_status.as_deref().and_then(OrderStatus::parse),
        to_status: OrderStatus::parse(&e.to_status).unwrap_or(OrderStatus::AwaitingPayment),
        actor_role: e.actor_role,
        actor_id: e.actor_id,
        note: e.note,
        at: e.created_at,
    }
}

async fn events_of<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> ApiResult<Vec<order_event::Model>> {
    Ok(order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(order_id))
        .order_by_asc(order_event::Column::CreatedAt)
        .order_by_asc(order_event::Column::Id)
        .all(conn)
        .await?)
}

/// The timeline of an order the caller may see, oldest first.
pub async fn events(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<Vec<OrderEventView>> {
    let found = visible_order(&state.db, caller, order_id).await?;
    Ok(events_of(&state.db, &found.id)
        .await?
        .into_iter()
        .map(event_view)
        .collect())
}

/// The caller's orders, newest first: a buyer's own, a merchant's shop's, or all for admin.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &OrderFilter,
    page: &PageParams,
) -> ApiResult<Page<OrderView>> {
    let limit = page.limit()?;
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::field(
            "from",
            "invalid_date_range",
            "from must be on or before to",
        ));
    }
    let cursor: Option<(DateTime<Utc>, String)> = page.cursor()?;
    let mut query = order::Entity::find();
    query = match caller.role {
        Role::Asn | Role::Public => query.filter(order::Column::BuyerId.eq(caller.user_id.clone())),
        Role::Merchant => {
            let merchant_id = caller.merchant_id.clone().ok_or_else(ApiError::forbidden)?;
            query.filter(order::Column::MerchantId.eq(merchant_id))
        }
        Role::Admin | Role::Treasury => query,
        Role::OpdAdmin | Role::OpdStaff => match (&filter.opd_id, &caller.opd_id) {
            (Some(wanted), Some(own)) if wanted == own => query.filter(
                order::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(sea_orm::sea_query::Alias::new("order_id"))
                        .from(sea_orm::sea_query::Alias::new("opd_orders"))
                        .and_where(sea_orm::sea_query::ExprTrait::eq(
                            sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("opd_id")),
                            own.clone(),
                        ))
                        .to_owned(),
                ),
            ),
            _ => return Err(ApiError::forbidden()),
        },
        Role::Camat => return Err(ApiError::forbidden()),
    };
    if let Some(status) = filter.status {
        query = query.filter(order::Column::Status.eq(status.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(order::Column::CreatedAt.gte(wib_midnight_utc(from)));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
        query = query.filter(order::Column::CreatedAt.lt(wib_midnight_utc(to)));
    }
    if let Some((at, id)) = cursor {
        query = query.filter(
            Condition::any().add(order::Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(order::Column::CreatedAt.eq(at))
                    .add(order::Column::Id.lt(id)),
            ),
        );
    }
    let rows = query
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|o| o.id.clone()).collect();
    let mut items: HashMap<String, Vec<order_item::Model>> = HashMap::new();
    for item in order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(ids))
        .order_by_asc(order_item::Column::ListingId)
        .all(&state.db)
        .await?
    {
        items.entry(item.order_id.clone()).or_default().push(item);
    }
    let mut page = Page::from_rows(
        rows,
        limit,
        |o| (o.created_at, o.id.clone()),
        |o| {
            let mine = items.remove(&o.id).unwrap_or_default();
            view(o, mine)
        },
    );
    show_faces(state, &state.db, caller, &mut page.items).await?;
    Ok(page)
}
