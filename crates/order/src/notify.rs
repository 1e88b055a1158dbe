//! The mail each order event sends, written to the outbox in the event's transaction.

use chrono::{DateTime, Utc};
use peken_kernel::{ApiResult, AppState, Rupiah};
use peken_mail::{Mail, MailItem, Template};
use sea_orm::ConnectionTrait;

use crate::lifecycle::items_of;
use crate::store::order;

/// The buyer's (name, e-mail), if it has an address.
async fn buyer<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
) -> ApiResult<Option<(String, String)>> {
    let user = peken_identity::service::find_user(conn, &order.buyer_id).await?;
    Ok(user.and_then(|u| u.email.map(|e| (u.name, e))))
}

async fn shop_name<C: ConnectionTrait>(conn: &C, order: &order::Model) -> ApiResult<String> {
    Ok(
        peken_merchant::service::merchant_name(conn, &order.merchant_id)
            .await?
            .unwrap_or_default(),
    )
}

async fn send<C: ConnectionTrait>(
    conn: &C,
    to: (String, String),
    key: String,
    template: Template,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    peken_mail::enqueue(
        conn,
        Mail {
            to: to.1,
            to_name: Some(to.0),
            template,
            dedupe_key: key,
        },
        now,
    )
    .await?;
    Ok(())
}

async fn mail_items<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
) -> ApiResult<Vec<MailItem>> {
    Ok(items_of(conn, &order.id)
        .await?
        .into_iter()
        .map(|i| MailItem {
            name: i.name,
            quantity: i.quantity,
            unit: i.unit,
            price: Rupiah::new(i.price),
            line_total: Rupiah::new(i.line_total),
        })
        .collect())
}

/// Payment confirmed: the buyer hears it is paid, the shop hears it has a new order.
pub async fn order_paid<C: ConnectionTrait>(
    _state: &AppState,
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let merchant_name = shop_name(conn, order).await?;
    let items = mail_items(conn, order).await?;
    let total = Rupiah::new(order.total_amount);
    if let Some(to) = buyer(conn, order).await? {
        let template = Template::OrderPaid {
            order_id: order.id.clone(),
            buyer_name: to.0.clone(),
            merchant_name: merchant_name.clone(),
            items: items.clone(),
            total,
        };
        send(
            conn,
            to,
            format!("order:{}:paid:buyer", order.id),
            template,
            now,
        )
        .await?;
    }
    if let Some(to) = peken_merchant::service::owner_contact(conn, &order.merchant_id).await? {
        let template = Template::MerchantNewOrder {
            order_id: order.id.clone(),
            merchant_name,
            items,
            total,
        };
        send(
            conn,
            to,
            format!("order:{}:paid:merchant", order.id),
            template,
            now,
        )
        .await?;
    }
    Ok(())
}

pub async fn order_accepted<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let template = Template::OrderAccepted {
        order_id: order.id.clone(),
        buyer_name: to.0.clone(),
        merchant_name: shop_name(conn, order).await?,
    };
    send(
        conn,
        to,
        format!("order:{}:accepted", order.id),
        template,
        now,
    )
    .await
}

pub async fn order_rejected<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let template = Template::OrderRejected {
        order_id: order.id.clone(),
        buyer_name: to.0.clone(),
        merchant_name: shop_name(conn, order).await?,
        reason: reason.to_owned(),
        refund: Rupiah::new(order.total_amount),
    };
    send(
        conn,
        to,
        format!("order:{}:rejected", order.id),
        template,
        now,
    )
    .await
}

pub async fn order_shipped<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let template = Template::OrderShipped {
        order_id: order.id.clone(),
        buyer_name: to.0.clone(),
        merchant_name: shop_name(conn, order).await?,
        method: order.fulfilment_method.clone(),
    };
    send(
        conn,
        to,
        format!("order:{}:shipped", order.id),
        template,
        now,
    )
    .await
}

pub async fn order_completed<C: ConnectionTrait>(
    _state: &AppState,
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let template = Template::OrderCompleted {
        order_id: order.id.clone(),
        buyer_name: to.0.clone(),
        merchant_name: shop_name(conn, order).await?,
        total: Rupiah::new(order.total_amount),
    };
    send(
        conn,
        to,
        format!("order:{}:completed", order.id),
        template,
        now,
    )
    .await
}

/// A refund of a paid order (cancelled, dispute resolved to refund).
pub async fn order_refunded<C: ConnectionTrait>(
    _state: &AppState,
    conn: &C,
    order: &order::Model,
    amount: Rupiah,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let template = Template::OrderRefunded {
        order_id: order.id.clone(),
        buyer_name: to.0.clone(),
        amount,
        reason: reason.to_owned(),
    };
    send(
        conn,
        to,
        format!("order:{}:refunded", order.id),
        template,
        now,
    )
    .await
}
