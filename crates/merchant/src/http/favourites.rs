//! `/me/favourites`: a buyer's favourite listings.

use actix_web::{HttpResponse, delete, get, put, web};
use peken_kernel::auth::{Auth, BuyerOnly};
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::service::favourites::{self, Favourite};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list).service(add).service(remove);
}

/// The caller's favourite listings, the most recently added first, with today's price and
/// whether each can be bought now.
#[utoipa::path(
    tag = "me",
    operation_id = "list_favourites",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of favourites", body = Page<Favourite>))
)]
#[get("/me/favourites")]
async fn list(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<Favourite>>> {
    Ok(web::Json(favourites::list(&state, &auth, &page).await?))
}

/// Mark a listing as a favourite (at most 500); marking it again changes nothing.
#[utoipa::path(
    tag = "me",
    operation_id = "add_favourite",
    security(("bearer" = [])),
    params(("listing_id" = String, Path, description = "Listing id")),
    responses(
        (status = 200, description = "The favourite", body = Favourite),
        (status = 404, description = "No such listing on sale", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many favourites (`too_many_favourites`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/favourites/{listing_id}")]
async fn add(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    listing_id: web::Path<String>,
) -> ApiResult<web::Json<Favourite>> {
    Ok(web::Json(
        favourites::add(&state, &auth, &listing_id).await?,
    ))
}

/// Remove a favourite.
#[utoipa::path(
    tag = "me",
    operation_id = "remove_favourite",
    security(("bearer" = [])),
    params(("listing_id" = String, Path, description = "Listing id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Not one of the caller's favourites", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/favourites/{listing_id}")]
async fn remove(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    listing_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    favourites::remove(&state, &auth, &listing_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
