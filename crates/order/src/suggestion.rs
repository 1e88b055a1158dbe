//! "Reach my minimum": a basket of staples whose total covers what a civil servant still has
//! to spend this WIB month, for the app to show and the buyer to edit before checkout.
//!
//! The basket comes from staples on sale in the shops of the buyer's kecamatan (where they
//! live, or work when they live outside the city), within stock, the HET, each commodity's
//! daily limit (less what the buyer already took today), the shop turnover cap and the cart
//! limits. It prefers what the buyer bought before (the same listing, then the same
//! commodity) and, among equals, shops with less turnover this month, so the programme's money
//! spreads over the neighbourhood's shops. Lines are added, cheapest per preference level
//! first, until the total reaches the amount still required; the last line may pass it by less
//! than one unit's price.

use std::collections::{HashMap, HashSet};

use peken_kernel::auth::Caller;
use peken_kernel::period::{Period, wib_date};
use peken_kernel::{ApiResult, AppState, Rupiah};
use peken_merchant::service::{ListingCard, ListingForSale, staples_for_sale};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checkout::too_large;
use crate::mandate::{self, ReportFilter};
use crate::reorder::CartLine;

/// The most listings weighed for one basket.
const CANDIDATES: u64 = 2_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuggestedLine {
    pub listing: ListingCard,
    pub quantity: i64,
    pub line_total: Rupiah,
    /// `bought_before` (this listing), `bought_commodity_before` (this staple, elsewhere) or
    /// `staple`.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    pub period: Period,
    pub required_amount: Rupiah,
    pub spent_amount: Rupiah,
    pub remaining_amount: Rupiah,
    pub lines: Vec<SuggestedLine>,
    /// The lines ready for `POST /checkout` as `items`.
    pub items: Vec<CartLine>,
    pub total: Rupiah,
    /// Whether `total` reaches `remaining_amount` (false when the shops in reach cannot).
    pub covers_remaining: bool,
}

struct Candidate<'a> {
    listing: &'a ListingForSale,
    /// 0: bought this listing before; 1: bought this commodity before; 2: neither.
    preference: u8,
}

/// The caller's suggestion for the current WIB month.
pub async fn suggest(state: &AppState, caller: &Caller) -> ApiResult<Suggestion> {
    let now = state.now();
    let period = Period::of(now);
    let filter = ReportFilter {
        user_id: Some(caller.user_id.clone()),
        ..ReportFilter::default()
    };
    let standing = mandate::standings(state, &state.db, period, &filter)
        .await?
        .into_iter()
        .next();
    let (required, spent, remaining) = standing
        .as_ref()
        .map_or((Rupiah::ZERO, Rupiah::ZERO, Rupiah::ZERO), |s| {
            (s.required_amount, s.spent_amount, s.remaining_amount)
        });
    let mut out = Suggestion {
        period,
        required_amount: required,
        spent_amount: spent,
        remaining_amount: remaining,
        lines: Vec::new(),
        items: Vec::new(),
        total: Rupiah::ZERO,
        covers_remaining: !remaining.is_positive(),
    };
    if !remaining.is_positive() {
        return Ok(out);
    }
    let policies = state.policies.get(&state.db).await?;
    // The civil servant's own kecamatan even where the city lets them buy anywhere: the
    // programme is for the neighbourhood's shops.
    let area = standing.and_then(|s| s.kecamatan_code);
    let on_sale = staples_for_sale(&state.db, area.as_deref(), period, CANDIDATES).await?;
    let (bought_listings, bought_commodities) = bought_before(state, &caller.user_id).await?;
    let mut taken_today = taken_today(state, &caller.user_id, now).await?;

    let mut candidates: Vec<Candidate> = on_sale
        .iter()
        .filter(|l| l.sellable() && l.stock > 0 && l.price.is_positive())
        .filter(|l| l.month_turnover < policies.turnover_cap_amount)
        .map(|l| Candidate {
            listing: l,
            preference: if bought_listings.contains(&l.listing_id) {
                0
            } else if l
                .commodity_id
                .as_ref()
                .is_some_and(|c| bought_commodities.contains(c))
            {
                1
            } else {
                2
            },
        })
        .collect();
    candidates.sort_by(|a, b| {
        (
            a.preference,
            a.listing.month_turnover,
            a.listing.price,
            &a.listing.listing_id,
        )
            .cmp(&(
                b.preference,
                b.listing.month_turnover,
                b.listing.price,
                &b.listing.listing_id,
            ))
    });

    let mut left = remaining;
    let max_lines = policies.max_cart_lines as usize;
    let max_per_line = i64::from(policies.max_quantity_per_line);
    for candidate in candidates {
        if !left.is_positive() || out.lines.len() >= max_lines {
            break;
        }
        let l = candidate.listing;
        let mut room = l.stock.min(max_per_line);
        if let (Some(limit), Some(commodity)) = (l.max_qty_per_buyer_per_day, &l.commodity_id) {
            let used = taken_today.get(commodity).copied().unwrap_or(0);
            room = room.min(limit - used);
        }
        if room <= 0 {
            continue;
        }
        // Units to cover what is left, rounded up.
        let needed = (left.get() + l.price.get() - 1) / l.price.get();
        let quantity = needed.min(room);
        let line_total = l.price.checked_mul(quantity).ok_or_else(too_large)?;
        if let Some(commodity) = &l.commodity_id {
            *taken_today.entry(commodity.clone()).or_insert(0) += quantity;
        }
        left = left.checked_sub(line_total).ok_or_else(too_large)?;
        out.total = out.total.checked_add(line_total).ok_or_else(too_large)?;
        out.items.push(CartLine {
            listing_id: l.listing_id.clone(),
            quantity,
        });
        out.lines.push(SuggestedLine {
            listing: ListingCard::of(state, l),
            quantity,
            line_total,
            reason: match candidate.preference {
                0 => "bought_before",
                1 => "bought_commodity_before",
                _ => "staple",
            }
            .to_owned(),
        });
    }
    out.covers_remaining = out.total >= remaining;
    Ok(out)
}

/// The listings and commodities the buyer has paid for before.
async fn bought_before(
    state: &AppState,
    buyer_id: &str,
) -> ApiResult<(HashSet<String>, HashSet<String>)> {
    let rows = peken_kernel::sql::query(
        &state.db,
        "SELECT DISTINCT i.listing_id, i.commodity_id FROM order_items i \
         JOIN orders o ON o.id = i.order_id \
         WHERE o.buyer_id = $1 AND o.paid_at IS NOT NULL",
        vec![buyer_id.into()],
    )
    .await?;
    let mut listings = HashSet::new();
    let mut commodities = HashSet::new();
    for row in rows {
        listings.insert(row.try_get::<String>("", "listing_id")?);
        if let Some(c) = row.try_get::<Option<String>>("", "commodity_id")? {
            commodities.insert(c);
        }
    }
    Ok((listings, commodities))
}

/// Units of each commodity the buyer already took today (WIB), against the daily limits.
async fn taken_today(
    state: &AppState,
    buyer_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<HashMap<String, i64>> {
    let rows = peken_kernel::sql::query(
        &state.db,
        "SELECT commodity_id, quantity FROM buyer_daily_quantities \
         WHERE buyer_id = $1 AND day = $2",
        vec![buyer_id.into(), wib_date(now).to_string().into()],
    )
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(
            row.try_get::<String>("", "commodity_id")?,
            row.try_get::<i64>("", "quantity")?,
        );
    }
    Ok(out)
}
