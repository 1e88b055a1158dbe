//! "Buy again": a past order's lines as a cart proposal at today's prices and stock. Nothing
//! is reserved or placed; the app shows the proposal and sends the lines it keeps to
//! `POST /checkout`.

use peken_kernel::auth::Caller;
use peken_kernel::{ApiResult, AppState, Rupiah};
use peken_merchant::service::{ListingCard, cards};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actions::visible_order;
use crate::checkout::too_large;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReorderLine {
    pub listing_id: String,
    /// The name on the past order.
    pub name: String,
    /// How many were bought then.
    pub ordered_quantity: i64,
    /// How many the proposal buys now: as many as then, fewer when the stock is lower, none
    /// when the line cannot be bought.
    pub quantity: i64,
    /// The price paid then.
    pub previous_price: Rupiah,
    /// The listing as it is today; absent when it no longer exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<ListingCard>,
    /// Today's price times `quantity`.
    pub line_total: Rupiah,
    /// What changed, when something did: `listing_gone`, `out_of_stock`, `insufficient_stock`,
    /// `price_changed`, or why the listing is off sale (`taken_down`, `inactive`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// A line of the cart to send to `POST /checkout`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CartLine {
    pub listing_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReorderProposal {
    pub order_id: String,
    pub lines: Vec<ReorderLine>,
    /// The lines that can be bought now, ready for `POST /checkout` as `items`.
    pub items: Vec<CartLine>,
    /// Today's total of those lines.
    pub total: Rupiah,
    /// Whether every past line can be bought again as it was (same quantity and price).
    pub unchanged: bool,
}

/// The proposal for one of the caller's own orders (another's is 404).
pub async fn propose(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<ReorderProposal> {
    let order = visible_order(&state.db, caller, order_id).await?;
    let items = crate::lifecycle::items_of(&state.db, &order.id).await?;
    let ids: Vec<String> = items.iter().map(|i| i.listing_id.clone()).collect();
    let mut today = cards(state, &state.db, &ids).await?;
    let mut lines = Vec::with_capacity(items.len());
    let mut to_buy = Vec::new();
    let mut total = Rupiah::ZERO;
    let mut unchanged = true;
    for item in items {
        let listing = today.remove(&item.listing_id);
        let mut flags = Vec::new();
        let quantity = match &listing {
            None => {
                flags.push("listing_gone".to_owned());
                0
            }
            Some(card) if !card.available => {
                flags.extend(card.unavailable_reason.clone());
                0
            }
            Some(card) => {
                if card.stock < item.quantity {
                    flags.push("insufficient_stock".to_owned());
                }
                if card.price.get() != item.price {
                    flags.push("price_changed".to_owned());
                }
                item.quantity.min(card.stock)
            }
        };
        let line_total = match &listing {
            Some(card) => card.price.checked_mul(quantity).ok_or_else(too_large)?,
            None => Rupiah::ZERO,
        };
        if quantity > 0 {
            to_buy.push(CartLine {
                listing_id: item.listing_id.clone(),
                quantity,
            });
            total = total.checked_add(line_total).ok_or_else(too_large)?;
        }
        unchanged &= flags.is_empty();
        lines.push(ReorderLine {
            listing_id: item.listing_id,
            name: item.name,
            ordered_quantity: item.quantity,
            quantity,
            previous_price: Rupiah::new(item.price),
            listing,
            line_total,
            flags,
        });
    }
    Ok(ReorderProposal {
        order_id: order.id,
        lines,
        items: to_buy,
        total,
        unchanged,
    })
}
