//! The mail each order event sends, written to the outbox in the event's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::{ApiResult, Rupiah};
use peken_mail::{Mail, MailItem, Template};
use sea_orm::ConnectionTrait;

use crate::store::{order, order_item};

/// The buyer's (name, e-mail), if it has an address.
async fn buyer<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
) -> ApiResult<Option<(String, String)>> {
    let user = peken_identity::people::find(conn, &order.buyer_id).await?;
    Ok(user.and_then(|u| u.email.map(|e| (u.name, e))))
}

async fn shop_name<C: ConnectionTrait>(conn: &C, order: &order::Model) -> ApiResult<String> {
    Ok(
        peken_merchant::service::merchant_name(conn, &order.merchant_id)
            .await?
            .unwrap_or_default(),
    )
}

/// A message to the user `user_id` at (name, e-mail), sent once per `key`.
fn mail(user_id: &str, to: (String, String), key: String, template: Template) -> Mail {
    Mail {
        to: to.1,
        to_name: Some(to.0),
        user_id: Some(user_id.to_owned()),
        template,
        dedupe_key: key,
    }
}

async fn send<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    to: (String, String),
    key: String,
    template: Template,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    peken_mail::enqueue(conn, mail(user_id, to, key, template), now).await?;
    Ok(())
}

fn mail_item(i: &order_item::Model) -> MailItem {
    MailItem {
        name: i.name.clone(),
        quantity: i.quantity,
        unit: i.unit.clone(),
        price: Rupiah::new(i.price),
        line_total: Rupiah::new(i.line_total),
    }
}

/// Payment confirmed: for each order the buyer hears it is paid and the shop hears it has a
/// new order. `orders` are the paid orders of one bill and `items` all their lines, already read
/// by the caller; the shops, the people and the messages take one statement each, whatever the
/// number of orders.
pub async fn orders_paid<C: ConnectionTrait>(
    conn: &C,
    orders: &[order::Model],
    items: &[order_item::Model],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if orders.is_empty() {
        return Ok(());
    }
    let merchant_ids: Vec<String> = orders.iter().map(|o| o.merchant_id.clone()).collect();
    let shops = peken_merchant::service::shops(conn, &merchant_ids).await?;
    let mut people: Vec<String> = shops.values().map(|(_, owner)| owner.clone()).collect();
    people.extend(orders.iter().map(|o| o.buyer_id.clone()));
    people.sort();
    people.dedup();
    let contacts: HashMap<String, (String, String)> =
        peken_identity::people::find_many(conn, &people)
            .await?
            .into_iter()
            .filter_map(|p| p.email.map(|e| (p.id, (p.name, e))))
            .collect();
    let mails = orders_paid_mails(orders, items, &shops, &contacts);
    peken_mail::enqueue_many(conn, mails, now).await?;
    Ok(())
}

/// The messages of [`orders_paid`], from the shops by id (name, owner's user id) and the
/// contacts by user id (name, e-mail) its caller has read.
pub(crate) fn orders_paid_mails(
    orders: &[order::Model],
    items: &[order_item::Model],
    shops: &HashMap<String, (String, String)>,
    contacts: &HashMap<String, (String, String)>,
) -> Vec<Mail> {
    let mut mails = Vec::with_capacity(orders.len() * 2);
    for order in orders {
        let (merchant_name, owner_id) = shops.get(&order.merchant_id).cloned().unwrap_or_default();
        let lines: Vec<MailItem> = items
            .iter()
            .filter(|i| i.order_id == order.id)
            .map(mail_item)
            .collect();
        let total = Rupiah::new(order.total_amount);
        if let Some(to) = contacts.get(&order.buyer_id).cloned() {
            let template = Template::OrderPaid {
                order_id: order.id.clone(),
                buyer_name: to.0.clone(),
                merchant_name: merchant_name.clone(),
                items: lines.clone(),
                total,
            };
            mails.push(mail(
                &order.buyer_id,
                to,
                format!("order:{}:paid:buyer", order.id),
                template,
            ));
        }
        if let Some(to) = contacts.get(&owner_id).cloned() {
            let template = Template::MerchantNewOrder {
                order_id: order.id.clone(),
                merchant_name,
                items: lines,
                total,
            };
            mails.push(mail(
                &owner_id,
                to,
                format!("order:{}:paid:merchant", order.id),
                template,
            ));
        }
    }
    mails
}

/// A buyer-facing event of an order, and what its message needs beyond the names.
pub enum BuyerEvent<'a> {
    /// Accepted; `short` lists the units the shop cannot supply (empty for the whole order) and
    /// `refund` what they cost.
    Accepted {
        short: Vec<MailItem>,
        refund: Rupiah,
    },
    Rejected {
        reason: &'a str,
    },
    Shipped,
    Completed,
    Refunded {
        amount: Rupiah,
        reason: &'a str,
    },
}

/// Tells the buyer of an order what happened, once per order and event.
pub async fn tell_buyer<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    event: BuyerEvent<'_>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(to) = buyer(conn, order).await? else {
        return Ok(());
    };
    let order_id = order.id.clone();
    let buyer_name = to.0.clone();
    let total = Rupiah::new(order.total_amount);
    let (name, template) = match event {
        BuyerEvent::Accepted { short, refund } => (
            "accepted",
            Template::OrderAccepted {
                order_id,
                buyer_name,
                merchant_name: shop_name(conn, order).await?,
                short,
                refund,
            },
        ),
        BuyerEvent::Rejected { reason } => (
            "rejected",
            Template::OrderRejected {
                order_id,
                buyer_name,
                merchant_name: shop_name(conn, order).await?,
                reason: reason.to_owned(),
                refund: total,
            },
        ),
        BuyerEvent::Shipped => (
            "shipped",
            Template::OrderShipped {
                order_id,
                buyer_name,
                merchant_name: shop_name(conn, order).await?,
                method: order.fulfilment_method.clone(),
            },
        ),
        BuyerEvent::Completed => (
            "completed",
            Template::OrderCompleted {
                order_id,
                buyer_name,
                merchant_name: shop_name(conn, order).await?,
                // What the goods supplied cost: a shortfall went back at acceptance.
                total: Rupiah::new(order.supplied_amount()),
            },
        ),
        BuyerEvent::Refunded { amount, reason } => (
            "refunded",
            Template::OrderRefunded {
                order_id,
                buyer_name,
                amount,
                reason: reason.to_owned(),
            },
        ),
    };
    send(
        conn,
        &order.buyer_id,
        to,
        format!("order:{}:{name}", order.id),
        template,
        now,
    )
    .await
}
