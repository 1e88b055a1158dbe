//! The cooperatives office's product moderation queue: new products and changes of approved
//! ones wait here until approved or rejected with a reason.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::AdminOnly;
use peken_kernel::{ApiError, AppState, Validation};
use peken_merchant::http::check_reason;
use peken_merchant::service::products::{self, Decision, ProductFilter};
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/products", web::get().to(queue))
        .route("/admin/products/{id}/moderation", web::post().to(moderate));
}

const QUEUE: &str = "/console/admin/products";

struct Waiting {
    id: String,
    shop: String,
    name: String,
    category: String,
    unit: String,
    description: String,
    /// A change of an approved product (what waits is the change), or a new product.
    change: bool,
    submitted: String,
    /// The product's photos as uploaded, in their order: (thumbnail, largest size).
    photos: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "products.html")]
struct Queue {
    frame: Frame,
    waiting: Vec<Waiting>,
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
            let found = products::list_all(&state, None, ProductFilter::Pending, None, 100).await?;
            let mut ids: Vec<String> = found.items.iter().map(|p| p.merchant_id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            let shops: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .map(|(id, f)| (id, f.name))
                .collect();
            let waiting = found
                .items
                .into_iter()
                .map(|p| {
                    let change = p.pending_change.as_ref().filter(|c| c.status == "pending");
                    let fields = change.map_or(&p.fields, |c| &c.fields);
                    Waiting {
                        shop: shops.get(&p.merchant_id).cloned().unwrap_or_default(),
                        name: fields.name.clone(),
                        category: fields.category.clone(),
                        unit: fields.unit.clone(),
                        description: fields.description.clone(),
                        change: change.is_some(),
                        submitted: wib(p.submitted_at),
                        photos: p
                            .images
                            .iter()
                            .filter_map(|i| peken_merchant::media::urls(&state, &i.renditions))
                            .map(|u| (u.thumbnail_url, u.url))
                            .collect(),
                        id: p.id,
                    }
                })
                .collect();
            page::ok_with_media(
                &state.settings,
                &Queue {
                    frame: Frame::of(&session.caller, &session.csrf, QUEUE),
                    waiting,
                    message: match query.pesan.as_deref() {
                        Some("disetujui") => Some("Produk disetujui dan boleh dijual."),
                        Some("ditolak") => Some("Produk ditolak; alasannya dikirim ke toko."),
                        _ => None,
                    },
                },
            )
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ModerationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Approves, or rejects with a reason, through `products::moderate` with the API's checks.
async fn moderate(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<ModerationForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            let approve = form.decision == "approve";
            let mut v = Validation::new();
            v.require(
                approve || form.decision == "reject",
                "decision",
                "invalid_decision",
                "approve or reject",
            );
            let reason = check_reason(&mut v, Some(form.reason.as_str()), !approve);
            v.finish()?;
            let decision = match reason {
                Some(reason) if !approve => Decision::Reject(reason),
                _ => Decision::Approve,
            };
            products::moderate(&state, &session.caller, &id, decision).await?;
            let word = if approve { "disetujui" } else { "ditolak" };
            Ok(page::see_other(&format!("{QUEUE}?pesan={word}")))
        }
        .await,
    )
}
