//! Failed payouts and holds: the bank returned an item (its money goes back to the shop's
//! payable and the shop is held), and a person clears the hold so the next batch pays again.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::error::check_text;
use peken_kernel::{ApiError, AppState, Validation};
use peken_payout::holds;
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/holds", web::get().to(list))
        .route("/treasury/holds/{id}/clearance", web::post().to(clear))
        .route("/treasury/items/{id}/failure", web::post().to(fail));
}

const PAGE: &str = "/console/treasury/holds";

struct Hold {
    id: String,
    shop: String,
    reason: String,
    since: String,
}

#[derive(Template)]
#[template(path = "holds.html")]
struct HoldsPage {
    frame: Frame,
    holds: Vec<Hold>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let found = holds::holds(&state.db, false).await?;
            let mut ids: Vec<String> = found.iter().map(|h| h.merchant_id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            let shops: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .map(|(id, f)| (id, f.name))
                .collect();
            page::ok(&HoldsPage {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                holds: found
                    .into_iter()
                    .map(|h| Hold {
                        shop: shops.get(&h.merchant_id).cloned().unwrap_or_default(),
                        reason: h.reason,
                        since: wib(h.created_at),
                        id: h.id,
                    })
                    .collect(),
                message: match query.pesan.as_deref() {
                    Some("gagal") => Some(
                        "Pembayaran dicatat gagal: uangnya kembali menjadi utang ke toko dan toko \
                         ditahan sampai penahanan dilepas.",
                    ),
                    Some("dilepas") => {
                        Some("Penahanan dilepas; batch berikutnya membayar toko ini.")
                    }
                    _ => None,
                },
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// The bank returned an item: `holds::fail_item` with the API's check of the reason.
async fn fail(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let mut v = Validation::new();
            let reason = check_text(&mut v, "reason", &form.text, 500);
            v.finish()?;
            let reason = reason.unwrap_or_default();
            holds::fail_item(&state.db, &id, &reason, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!("{PAGE}?pesan=gagal")))
        }
        .await,
    )
}

async fn clear(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let mut v = Validation::new();
            let note = check_text(&mut v, "note", &form.text, 500);
            v.finish()?;
            let note = note.unwrap_or_default();
            holds::clear_hold(&state.db, &id, &note, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!("{PAGE}?pesan=dilepas")))
        }
        .await,
    )
}
