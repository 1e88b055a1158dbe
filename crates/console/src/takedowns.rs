//! Takedowns: an admin reads a shop's listings and takes one down with a reason (kept and shown
//! to the shop), or restores it.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::AdminOnly;
use peken_kernel::{ApiError, AppState, Validation};
use peken_merchant::http::check_reason;
use peken_merchant::service::listings::{self, ListingFilter};
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib_opt};
use crate::session::{posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/listings", web::get().to(show))
        .route("/admin/listings/{id}/takedown", web::post().to(take_down))
        .route("/admin/listings/{id}/restoration", web::post().to(restore));
}

const PAGE: &str = "/console/admin/listings";

struct Row {
    id: String,
    name: String,
    price: String,
    stock: i64,
    taken_down: bool,
    reason: String,
    since: String,
}

#[derive(Template)]
#[template(path = "listings.html")]
struct Listings {
    frame: Frame,
    merchant_id: String,
    shop: String,
    rows: Vec<Row>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Query {
    merchant_id: Option<String>,
    pesan: Option<String>,
}

async fn show(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            let merchant_id = query
                .merchant_id
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .unwrap_or_default()
                .to_owned();
            let mut rows = Vec::new();
            let mut shop = String::new();
            if !merchant_id.is_empty() {
                if merchant_id.len() > 64 {
                    return Err(ApiError::field("merchant_id", "invalid_id", "not an id").into());
                }
                let found = listings::list(
                    &state,
                    &session.caller,
                    &merchant_id,
                    ListingFilter::All,
                    None,
                    200,
                )
                .await?;
                for d in found.items {
                    shop.clone_from(&d.sale.merchant_name);
                    rows.push(Row {
                        id: d.sale.listing_id,
                        name: d.sale.product_name,
                        price: d.sale.price.format_idr(),
                        stock: d.sale.stock,
                        taken_down: d.sale.taken_down,
                        reason: d.takedown_reason.unwrap_or_default(),
                        since: wib_opt(d.taken_down_at),
                    });
                }
            }
            page::ok(&Listings {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                merchant_id,
                shop,
                rows,
                message: match query.pesan.as_deref() {
                    Some("diturunkan") => {
                        Some("Listing diturunkan; alasannya ditampilkan ke toko.")
                    }
                    Some("dipulihkan") => Some("Listing dipulihkan."),
                    _ => None,
                },
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct TakedownForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    reason: String,
}

fn back(merchant_id: &str, word: &str) -> String {
    let id: String = merchant_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("{PAGE}?merchant_id={id}&pesan={word}")
}

/// Takes a listing down with the API's check of the reason (required).
async fn take_down(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<TakedownForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            let mut v = Validation::new();
            let reason = check_reason(&mut v, Some(&form.reason), true);
            v.finish()?;
            let reason = reason.unwrap_or_default();
            listings::take_down(&state, &session.caller, &id, reason).await?;
            Ok(page::see_other(&back(&form.merchant_id, "diturunkan")))
        }
        .await,
    )
}

async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<TakedownForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            listings::restore(&state, &session.caller, &id).await?;
            Ok(page::see_other(&back(&form.merchant_id, "dipulihkan")))
        }
        .await,
    )
}
