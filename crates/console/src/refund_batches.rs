//! Refund batches: refunds owed to buyers paid by bank transfer. One treasurer builds a draft to
//! a cut-off, another approves it (the builder sees the four-eyes rule instead of the button),
//! the transfer file is downloaded, and an item the bank returned is marked failed (its refund
//! is due again). Each action is the JSON API's service function.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::AppState;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::export::{ExportParams, Format};
use peken_payout::refund_batches::{self, RefundBatchView, RefundItemView};
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib, wib_opt};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/refund-batches", web::get().to(list))
        .route("/treasury/refund-batches", web::post().to(build))
        .route("/treasury/refund-batches/{id}", web::get().to(detail))
        .route(
            "/treasury/refund-batches/{id}/approval",
            web::post().to(approve),
        )
        .route(
            "/treasury/refund-batches/{id}/cancellation",
            web::post().to(cancel),
        )
        .route(
            "/treasury/refund-batches/{id}/transfer-file",
            web::get().to(transfer_file),
        )
        .route(
            "/treasury/refund-batches/{id}/items",
            web::get().to(items_download),
        )
        .route("/treasury/refund-items/{id}/failure", web::post().to(fail));
}

const PAGE: &str = "/console/treasury/refund-batches";

fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draf (menunggu persetujuan)",
        "approved" => "Disetujui (dalam perjalanan)",
        "cancelled" => "Dibatalkan",
        "paid" => "Dibayar (terlihat di rekening koran)",
        "failed" => "Gagal (refund harus dibayar lagi)",
        _ => "Lainnya",
    }
}

struct BatchRow {
    id: String,
    status: String,
    status_label: &'static str,
    cutoff: String,
    item_count: i64,
    total: String,
    created_at: String,
    created_by_me: bool,
    approved_at: String,
}

impl BatchRow {
    fn new(b: &RefundBatchView, me: &str) -> Self {
        BatchRow {
            id: b.id.clone(),
            status: b.status.clone(),
            status_label: status_label(&b.status),
            cutoff: wib(b.cutoff),
            item_count: i64::from(b.item_count),
            total: b.total_amount.format_idr(),
            created_at: wib(b.created_at),
            created_by_me: b.created_by == me,
            approved_at: wib_opt(b.approved_at),
        }
    }
}

#[derive(Template)]
#[template(path = "refund_batches.html")]
struct ListPage {
    frame: Frame,
    batches: Vec<BatchRow>,
    cutoff: String,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
    /// Refunds left out of a batch just built (their buyers gave no refund account).
    dilewati: Option<String>,
}

fn notice(which: Option<&str>) -> Option<&'static str> {
    Some(match which? {
        "dibuat" => "Batch refund draf dibuat. Bendahara lain harus menyetujuinya.",
        "disetujui" => "Batch refund disetujui. Berkas transfer dapat diunduh.",
        "dibatalkan" => "Batch refund dibatalkan; refundnya kembali harus dibayar.",
        "gagal" => "Transfer dicatat gagal; refundnya kembali harus dibayar di batch berikutnya.",
        _ => return None,
    })
}

async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let rows = refund_batches::list(&state.db, None, 50).await?;
            let now = state.now() + chrono::Duration::hours(7);
            page::ok(&ListPage {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                batches: rows
                    .iter()
                    .map(|b| BatchRow::new(b, &session.caller.user_id))
                    .collect(),
                cutoff: now.format("%Y-%m-%d %H:%M").to_string(),
                message: notice(query.pesan.as_deref()),
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct BuildForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    cutoff: String,
}

/// Builds a draft as the API does (`refund_batches::build`); refunds whose buyer has no refund
/// account stay due and their number is shown on the batch.
async fn build(state: web::Data<AppState>, req: HttpRequest, form: web::Form<BuildForm>) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let cutoff = crate::treasury::parse_cutoff(&form.cutoff)?;
            let detail =
                refund_batches::build(&state.db, cutoff, &session.caller, state.now(), None)
                    .await?
                    .done()?;
            Ok(page::see_other(&format!(
                "{PAGE}/{}?pesan=dibuat&dilewati={}",
                detail.batch.id,
                detail.skipped.len()
            )))
        }
        .await,
    )
}

struct ItemRow {
    id: String,
    amount: String,
    reference: String,
    bank: String,
    rail: String,
    status_label: &'static str,
    failure_reason: String,
    /// Approved and not yet seen on a statement: the bank may still return it.
    in_transit: bool,
}

impl ItemRow {
    fn new(i: RefundItemView) -> Self {
        ItemRow {
            amount: i.amount.format_idr(),
            bank: format!(
                "{} {} a.n. {}",
                i.bank_code, i.account_number, i.account_name
            ),
            status_label: status_label(&i.status),
            in_transit: i.status == "approved",
            failure_reason: i.failure_reason.unwrap_or_default(),
            reference: i.reference,
            rail: i.rail,
            id: i.id,
        }
    }
}

#[derive(Template)]
#[template(path = "refund_batch.html")]
struct DetailPage {
    frame: Frame,
    batch: BatchRow,
    items: Vec<ItemRow>,
    any_in_transit: bool,
    skipped: u32,
    message: Option<&'static str>,
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<Notice>,
) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let detail = refund_batches::detail(&state.db, &id).await?;
            let items: Vec<ItemRow> = detail.items.into_iter().map(ItemRow::new).collect();
            page::ok(&DetailPage {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                batch: BatchRow::new(&detail.batch, &session.caller.user_id),
                any_in_transit: items.iter().any(|i| i.in_transit),
                items,
                skipped: query
                    .dilewati
                    .as_deref()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                message: notice(query.pesan.as_deref()),
            })
        }
        .await,
    )
}

/// Approval by a treasurer other than the builder (`four_eyes_required` otherwise).
async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            refund_batches::approve(&state.db, &id, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!("{PAGE}/{id}?pesan=disetujui")))
        }
        .await,
    )
}

async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            refund_batches::cancel(&state.db, &id, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!("{PAGE}/{id}?pesan=dibatalkan")))
        }
        .await,
    )
}

async fn transfer_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Page {
    Page(
        async {
            signed_in::<TreasuryOnly>(&state, &req).await?;
            let body = refund_batches::transfer_file(&state.db, &id).await?;
            Ok(peken_kernel::export::attachment(
                "text/csv; charset=utf-8",
                &format!("refund-{}.csv", &*id),
                body.into_bytes(),
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// The batch's items as the API's sheet (`refund_batches::items_table`), CSV or XLSX.
async fn items_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Page {
    Page(
        async {
            signed_in::<TreasuryOnly>(&state, &req).await?;
            let detail = refund_batches::detail(&state.db, &id).await?;
            let params = ExportParams {
                format: Some(if query.format.as_deref() == Some("xlsx") {
                    Format::Xlsx
                } else {
                    Format::Csv
                }),
                ..ExportParams::default()
            };
            Ok(peken_kernel::export::respond(
                &req,
                &params,
                &format!("refund-batch-{}", &*id),
                &(),
                || refund_batches::items_table(&detail),
            )?)
        }
        .await,
    )
}

#[derive(Deserialize)]
struct FailureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The bank returned a refund transfer: the item fails and its refund is due again.
async fn fail(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<FailureForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let reason = refund_batches::check_failure_reason(&form.reason)?;
            let item = refund_batches::fail_item(
                &state.db,
                &id,
                &reason,
                &session.caller,
                state.now(),
                None,
            )
            .await?
            .done()?;
            Ok(page::see_other(&format!(
                "{PAGE}/{}?pesan=gagal",
                item.batch_id
            )))
        }
        .await,
    )
}
