//! The cooperatives office's account work: merchants' new bank accounts waiting out their
//! cooling-off period, confirmed after checking them with the owner, and a NIK given back to
//! its owner (the public buyer account holding it is closed). Each action is the JSON API's
//! service function with its checks.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::AppState;
use peken_kernel::auth::AdminOnly;
use peken_merchant::service::merchants;
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/bank-accounts", web::get().to(queue))
        .route(
            "/admin/merchants/{id}/bank-account/confirmation",
            web::post().to(confirm),
        )
        .route("/admin/nik-reclaims", web::get().to(reclaim_form))
        .route("/admin/nik-reclaims", web::post().to(reclaim));
}

const QUEUE: &str = "/console/admin/bank-accounts";
const RECLAIMS: &str = "/console/admin/nik-reclaims";

struct Held {
    id: String,
    shop: String,
    bank_code: String,
    account_number: String,
    account_name: String,
    until: String,
}

#[derive(Template)]
#[template(path = "bank_accounts.html")]
struct Queue {
    frame: Frame,
    held: Vec<Held>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

async fn queue(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            let held = merchants::bank_accounts_held(&state, 200).await?;
            page::ok(&Queue {
                frame: Frame::of(&session.caller, &session.csrf, QUEUE),
                held: held
                    .into_iter()
                    .map(|m| Held {
                        until: m.bank_account_hold_until.map(wib).unwrap_or_default(),
                        id: m.id,
                        shop: m.name,
                        bank_code: m.bank_code,
                        account_number: m.account_number,
                        account_name: m.account_name,
                    })
                    .collect(),
                message: match query.pesan.as_deref() {
                    Some("dikonfirmasi") => Some(
                        "Rekening dikonfirmasi; batch pembayaran berikutnya membayar ke rekening ini.",
                    ),
                    _ => None,
                },
            })
        }
        .await,
    )
}

/// Ends the hold as the API does (`merchants::confirm_bank_account`; `bank_account_not_held`
/// when none waits).
async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            merchants::confirm_bank_account(&state, &session.caller, &id).await?;
            Ok(page::see_other(&format!("{QUEUE}?pesan=dikonfirmasi")))
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "nik_reclaims.html")]
struct ReclaimPage {
    frame: Frame,
    message: Option<&'static str>,
}

async fn reclaim_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Notice>,
) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            page::ok(&ReclaimPage {
                frame: Frame::of(&session.caller, &session.csrf, RECLAIMS),
                message: match query.pesan.as_deref() {
                    Some("ditutup") => Some(
                        "Akun pembeli umum yang memakai NIK itu ditutup dan pemegangnya diberi \
                         tahu lewat surel. Pemilik NIK kini dapat mendaftar.",
                    ),
                    _ => None,
                },
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ReclaimForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nik: String,
    #[serde(default)]
    reason: String,
}

/// Gives the NIK back as the API does (`registration::check_reclaim`, then `reclaim_nik`).
async fn reclaim(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ReclaimForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            let (nik, reason) =
                peken_identity::registration::check_reclaim(&form.nik, &form.reason)?;
            peken_identity::registration::reclaim_nik(
                &state,
                &session.caller,
                nik.expose(),
                &reason,
            )
            .await?;
            Ok(page::see_other(&format!("{RECLAIMS}?pesan=ditutup")))
        }
        .await,
    )
}
