//! Partial fulfilment: a shop accepts a paid order with some units it cannot supply.
//!
//! The shop names the short lines by listing (an order has one line per listing, and the
//! listing id is what the shop's app shows on each line) and how many units of each it cannot
//! supply. In the acceptance's transaction the short units are recorded on their lines
//! (`order_items.short_quantity`) and their value on the order (`orders.short_amount`), and
//! that value is refunded like any other refund: a `refunds` row that treasury pays out, the
//! ledger posting `order:{id}:short` (buyer funds held → refunds payable), the merchant's
//! month-to-date turnover and the ASN's spend of the month of payment both reduced by it. The
//! short units go back on the shelf (`release` movements) and their rationed quantities back to
//! the buyer. Completion later pays the shop `total_amount - short_amount`.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::money::round_half_up_div;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, Rupiah, Validation};
use peken_mail::MailItem;
use peken_merchant::stock::{self, MovementKind, StockChange};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checkout::release_rations;
use crate::lifecycle::{add_spend, ledger_error};
use crate::store::{order, order_item, refund};

/// The body of `POST /orders/{id}/accept`. Absent, empty or with no short lines, the shop
/// accepts the whole order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Lines the shop cannot supply in full, each at most once. Not every unit of the order
    /// may be short: an order the shop cannot supply at all is rejected instead.
    #[serde(default)]
    pub short: Vec<ShortLine>,
}

/// Units of one order line the shop cannot supply.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortLine {
    /// The listing of the line (`items[].listing_id` of the order).
    pub listing_id: String,
    /// How many of the line's ordered units cannot be supplied: 1 up to the quantity ordered.
    pub quantity: i64,
}

/// The shortfall of an order, checked against its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// (line, units short, what those units cost), in listing-id order.
    pub lines: Vec<(order_item::Model, i64, Rupiah)>,
    /// What the short units cost the buyer: the refund.
    pub amount: Rupiah,
}

/// What `units` of a line cost the buyer: the line's total in proportion, rounded by the one
/// rounding rule. With the line's total being price × quantity this is exactly price × units,
/// and it never exceeds the line's total.
fn value_of(line: &order_item::Model, units: i64) -> Option<Rupiah> {
    if line.quantity <= 0 {
        return None;
    }
    round_half_up_div(
        i128::from(line.line_total) * i128::from(units),
        i128::from(line.quantity),
    )
    .map(Rupiah::new)
}

/// Checks the short lines against the order's lines (`items`, in listing-id order): every
/// listing a line of the order, once, with 1 up to its ordered quantity; every field error is
/// reported at once (422). When every unit of the order would be short the answer is 409
/// `all_lines_short`: the shop rejects such an order instead.
pub fn plan(items: &[order_item::Model], short: &[ShortLine]) -> ApiResult<Shortfall> {
    let mut v = Validation::new();
    let mut wanted: Vec<(usize, i64)> = Vec::with_capacity(short.len());
    for (i, line) in short.iter().enumerate() {
        let Some(at) = items.iter().position(|it| it.listing_id == line.listing_id) else {
            v.push(
                &format!("short[{i}].listing_id"),
                "unknown_order_line",
                "this order has no line of that listing".to_owned(),
            );
            continue;
        };
        if wanted.iter().any(|(seen, _)| *seen == at) {
            v.push(
                &format!("short[{i}].listing_id"),
                "duplicate_order_line",
                "this line is named more than once".to_owned(),
            );
            continue;
        }
        if line.quantity < 1 {
            v.push(
                &format!("short[{i}].quantity"),
                "invalid_quantity",
                "a short quantity is a positive whole number".to_owned(),
            );
        } else if line.quantity > items[at].quantity {
            v.push(
                &format!("short[{i}].quantity"),
                "short_quantity_too_large",
                format!("the line ordered {} units", items[at].quantity),
            );
        }
        wanted.push((at, line.quantity));
    }
    v.finish()?;
    let too_large = || ApiError::internal(anyhow::anyhow!("a shortfall does not fit in i64"));
    wanted.sort_by_key(|(at, _)| *at);
    let mut lines = Vec::with_capacity(wanted.len());
    let mut amount = Rupiah::ZERO;
    for (at, units) in wanted {
        let value = value_of(&items[at], units).ok_or_else(too_large)?;
        amount = amount.checked_add(value).ok_or_else(too_large)?;
        lines.push((items[at].clone(), units, value));
    }
    let ordered: i64 = items.iter().map(|i| i.quantity).sum();
    let missing: i64 = lines.iter().map(|(_, units, _)| units).sum();
    if missing >= ordered {
        return Err(ApiError::conflict(
            "all_lines_short",
            "none of the order's goods can be supplied: reject the order instead",
        ));
    }
    Ok(Shortfall { lines, amount })
}

/// The short units as the buyer's mail lists them.
pub fn mail_items(shortfall: &Shortfall) -> Vec<MailItem> {
    shortfall
        .lines
        .iter()
        .map(|(line, units, value)| MailItem {
            name: line.name.clone(),
            quantity: *units,
            unit: line.unit.clone(),
            price: Rupiah::new(line.price),
            line_total: *value,
        })
        .collect()
}

/// The order history's note of a partial acceptance, e.g. `accepted with units short: 2 kg
/// Beras; Rp30.000 refunded`.
pub fn note(shortfall: &Shortfall) -> String {
    let lines: Vec<String> = shortfall
        .lines
        .iter()
        .map(|(line, units, _)| format!("{units} {} {}", line.unit, line.name))
        .collect();
    format!(
        "accepted with units short: {}; {} refunded",
        lines.join(", "),
        shortfall.amount.format_idr()
    )
}

/// Records and refunds the shortfall of an order that was just accepted (the caller moved it
/// `paid → accepted` in this transaction, which can happen once): the lines and the order, the
/// refund row, the ledger, turnover, spend, stock and rations.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    before: &order::Model,
    shortfall: &Shortfall,
    actor_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let backend = conn.get_database_backend();
    for (line, units, _) in &shortfall.lines {
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE order_items SET short_quantity = $1 WHERE id = $2",
            [(*units).into(), line.id.clone().into()],
        ))
        .await?;
    }
    let amount = shortfall.amount;
    // The order was `paid` an instant ago and a shortfall is recorded once; the condition keeps
    // a second one from ever being added on top.
    let updated = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE orders SET short_amount = $1 WHERE id = $2 AND short_amount = 0 \
             AND total_amount > $1",
            [amount.get().into(), before.id.clone().into()],
        ))
        .await?;
    if updated.rows_affected() != 1 {
        return Err(ApiError::internal(anyhow::anyhow!(
            "order {} already had a shortfall",
            before.id
        )));
    }
    refund::Entity::insert(refund::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(before.payment_id.clone()),
        order_id: Set(Some(before.id.clone())),
        buyer_id: Set(before.buyer_id.clone()),
        amount: Set(amount.get()),
        reason: Set("short at acceptance".to_owned()),
        kind: Set("short".to_owned()),
        status: Set("due".to_owned()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    peken_ledger::post_shortfall(conn, &before.id, &before.merchant_id, amount, now)
        .await
        .map_err(ledger_error)?;
    let period = before
        .paid_period
        .as_deref()
        .and_then(|p| Period::parse(p).ok())
        .unwrap_or_else(|| Period::of(now));
    let negated = amount.checked_neg().unwrap_or(Rupiah::ZERO);
    // The order still counts as one order of the month: only its amount drops.
    peken_merchant::service::add_turnover(conn, &before.merchant_id, period, negated, 0).await?;
    if before.buyer_role == "asn" {
        add_spend(conn, &before.buyer_id, period, negated).await?;
    }
    let note = "short at acceptance";
    let releases: Vec<StockChange<'_>> = shortfall
        .lines
        .iter()
        .map(|(line, units, _)| StockChange {
            listing_id: &line.listing_id,
            kind: MovementKind::Release,
            quantity_delta: *units,
            units: *units,
            reference: Some(("order", &before.id)),
            note: Some(note),
            actor_id,
        })
        .collect();
    stock::apply_many(conn, &releases, now).await?;
    let rations: Vec<(String, i64)> = shortfall
        .lines
        .iter()
        .filter_map(|(line, units, _)| line.commodity_id.clone().map(|c| (c, *units)))
        .collect();
    release_rations(conn, &before.buyer_id, before.created_at, &rations).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn line(listing: &str, quantity: i64, price: i64) -> order_item::Model {
        order_item::Model {
            id: format!("i-{listing}"),
            order_id: "o1".into(),
            listing_id: listing.into(),
            commodity_id: None,
            product_id: None,
            name: listing.into(),
            unit: "kg".into(),
            quantity,
            short_quantity: 0,
            price,
            line_total: price * quantity,
        }
    }

    fn short(listing: &str, quantity: i64) -> ShortLine {
        ShortLine {
            listing_id: listing.into(),
            quantity,
        }
    }

    fn field_codes(err: &ApiError) -> Vec<(String, String)> {
        let problem = err.problem(peken_kernel::problems::Lang::English);
        let json = serde_json::to_value(&problem).unwrap();
        json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_refund_is_the_short_units_at_their_price() {
        let items = [line("a", 3, 12_500), line("b", 2, 7_001)];
        let plan = plan(&items, &[short("b", 1), short("a", 2)]).unwrap();
        assert_eq!(plan.amount, Rupiah::new(2 * 12_500 + 7_001));
        // In listing order, whatever order the shop named them in.
        let listed: Vec<_> = plan
            .lines
            .iter()
            .map(|(l, u, v)| (l.listing_id.as_str(), *u, v.get()))
            .collect();
        assert_eq!(listed, [("a", 2, 25_000), ("b", 1, 7_001)]);
        assert!(note(&plan).contains("Rp32.001"), "{}", note(&plan));
    }

    #[test]
    fn bad_lines_are_all_reported_and_all_short_is_refused() {
        let items = [line("a", 3, 1_000), line("b", 2, 1_000)];
        let err = plan(
            &items,
            &[short("x", 1), short("a", 0), short("b", 3), short("a", 1)],
        )
        .unwrap_err();
        assert_eq!(err.status().as_u16(), 422);
        assert_eq!(
            field_codes(&err),
            [
                ("short[0].listing_id".into(), "unknown_order_line".into()),
                ("short[1].quantity".into(), "invalid_quantity".into()),
                (
                    "short[2].quantity".into(),
                    "short_quantity_too_large".into()
                ),
                ("short[3].listing_id".into(), "duplicate_order_line".into()),
            ]
        );
        let err = plan(&items, &[short("a", 3), short("b", 2)]).unwrap_err();
        assert_eq!(err.code(), "all_lines_short");
        // One unit left to supply is a partial acceptance.
        assert_eq!(
            plan(&items, &[short("a", 3), short("b", 1)])
                .unwrap()
                .amount,
            Rupiah::new(4_000)
        );
    }
}
