//! A buyer's favourite listings: marked from a listing's page, shown with today's price and
//! whether they can be bought now.

use chrono::{DateTime, SubsecRound, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cards::{ListingCard, cards};
use super::sale::{ListingForSale, listings_for_sale};
use crate::store::favourite::{self, Column, Entity};

/// The most favourites one buyer keeps.
pub const MAX_FAVOURITES: u64 = 500;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Favourite {
    pub listing: ListingCard,
    pub added_at: DateTime<Utc>,
}

/// Marks a listing as a favourite; marking it again changes nothing. A listing buyers cannot
/// see (taken down, of a suspended shop, of an unapproved product) is 404, as on its page.
pub async fn add(state: &AppState, caller: &Caller, listing_id: &str) -> ApiResult<Favourite> {
    // One read of the listing serves both the check and the answer.
    let listing = listings_for_sale(&state.db, &[listing_id.to_owned()], Period::of(state.now()))
        .await?
        .pop()
        .filter(ListingForSale::open_to_buyers)
        .ok_or_else(|| ApiError::not_found("listing"))?;
    // PostgreSQL keeps microseconds: the time answered now must equal the one read later.
    let now = state.now().trunc_subsecs(6);
    let txn = state.db.begin().await?;
    peken_identity::people::lock(&txn, &caller.user_id).await?;
    let existing = Entity::find_by_id((caller.user_id.clone(), listing_id.to_owned()))
        .one(&txn)
        .await?;
    let added_at = if let Some(found) = existing {
        found.created_at
    } else {
        let count = Entity::find()
            .filter(Column::UserId.eq(caller.user_id.clone()))
            .count(&txn)
            .await?;
        if count >= MAX_FAVOURITES {
            return Err(ApiError::conflict(
                "too_many_favourites",
                format!("a buyer keeps at most {MAX_FAVOURITES} favourites"),
            ));
        }
        Entity::insert(favourite::ActiveModel {
            user_id: Set(caller.user_id.clone()),
            listing_id: Set(listing_id.to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        now
    };
    txn.commit().await?;
    Ok(Favourite {
        listing: ListingCard::of(state, &listing),
        added_at,
    })
}

/// Removes a favourite; a listing that is not one of the caller's favourites is 404.
pub async fn remove(state: &AppState, caller: &Caller, listing_id: &str) -> ApiResult<()> {
    let deleted = Entity::delete_many()
        .filter(Column::UserId.eq(caller.user_id.clone()))
        .filter(Column::ListingId.eq(listing_id))
        .exec(&state.db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found("favourite"));
    }
    Ok(())
}

/// The caller's favourites, the most recently added first, each with today's price and
/// availability (a listing taken down since shows as unavailable, not gone).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: &PageParams,
) -> ApiResult<Page<Favourite>> {
    let limit = page.limit()?;
    let cursor: Option<(DateTime<Utc>, String)> = page.cursor()?;
    let mut query = Entity::find().filter(Column::UserId.eq(caller.user_id.clone()));
    if let Some((at, id)) = cursor {
        query = query.filter(
            Condition::any().add(Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(at))
                    .add(Column::ListingId.lt(id)),
            ),
        );
    }
    let rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::ListingId)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|f| f.listing_id.clone()).collect();
    let mut found = cards(state, &state.db, &ids).await?;
    let mut page = Page::from_rows(
        rows,
        limit,
        |f| (f.created_at, f.listing_id.clone()),
        |f| {
            found.remove(&f.listing_id).map(|listing| Favourite {
                listing,
                added_at: f.created_at,
            })
        },
    );
    let items: Vec<Favourite> = std::mem::take(&mut page.items)
        .into_iter()
        .flatten()
        .collect();
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}
