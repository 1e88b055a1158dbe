//! Treasury: payout batches (build to a cut-off, items, approval by a second user, cancel,
//! transfer file) and bank statement upload with its match result.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use chrono::{NaiveDateTime, TimeZone, Utc};
use futures_util::StreamExt;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::{ApiError, AppState};
use peken_payout::batches;
use peken_payout::reconcile::{self, Format, ImportResult};
use peken_payout::views::{BatchView, ItemView};
use serde::Deserialize;

use crate::page::{self, Failure, Frame, Page, wib, wib_opt};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/batches", web::get().to(list))
        .route("/treasury/batches/export", web::get().to(export_batches))
        .route("/treasury/batches", web::post().to(build))
        .route("/treasury/batches/{id}", web::get().to(detail))
        .route("/treasury/batches/{id}/approval", web::post().to(approve))
        .route(
            "/treasury/batches/{id}/cancellation",
            web::post().to(cancel),
        )
        .route(
            "/treasury/batches/{id}/transfer-file",
            web::get().to(transfer_file),
        )
        .route("/treasury/statements", web::get().to(statement_form))
        .route("/treasury/statements", web::post().to(upload_statement));
}

const BATCHES: &str = "/console/treasury/batches";

/// Status words as the treasury reads them.
fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draf (menunggu persetujuan)",
        "approved" => "Disetujui",
        "cancelled" => "Dibatalkan",
        "paid" => "Dibayar",
        "failed" => "Gagal",
        "matched" => "Cocok",
        "unmatched" => "Belum cocok",
        _ => "Lainnya",
    }
}

/// A batch row as shown.
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
    fn new(b: &BatchView, me: &str) -> Self {
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
#[template(path = "batches.html")]
struct BatchesPage {
    frame: Frame,
    batches: Vec<BatchRow>,
    cutoff: String,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

fn notice(which: Option<&str>) -> Option<&'static str> {
    Some(match which? {
        "dibatalkan" => "Batch dibatalkan; jumlahnya kembali terbuka untuk batch berikutnya.",
        "disetujui" => "Batch disetujui. Berkas transfer dapat diunduh.",
        "dibuat" => "Batch draf dibuat. Bendahara lain harus menyetujuinya.",
        _ => return None,
    })
}

async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let rows = batches::list(&state.db, None, 50).await?;
            let now = state.now() + chrono::Duration::hours(7);
            page::ok(&BatchesPage {
                frame: Frame::of(&session.caller, &session.csrf, BATCHES),
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
struct ExportQuery {
    format: Option<String>,
}

/// The batches of the list (the newest 50) as the API's sheet, CSV or XLSX.
async fn export_batches(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ExportQuery>,
) -> Page {
    Page(
        async {
            signed_in::<TreasuryOnly>(&state, &req).await?;
            let rows = batches::list(&state.db, None, 50).await?;
            let params = peken_kernel::export::ExportParams {
                format: Some(if query.format.as_deref() == Some("xlsx") {
                    peken_kernel::export::Format::Xlsx
                } else {
                    peken_kernel::export::Format::Csv
                }),
                ..peken_kernel::export::ExportParams::default()
            };
            Ok(peken_kernel::export::respond(
                &req,
                &params,
                &format!(
                    "payout-batches-{}",
                    peken_kernel::period::wib_date(state.now())
                ),
                &(),
                || peken_payout::reports::batches_table(&rows),
            )?)
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

/// A cut-off typed as a WIB wall-clock time, `YYYY-MM-DD HH:MM` (or with `T`).
pub(crate) fn parse_cutoff(raw: &str) -> Result<chrono::DateTime<Utc>, ApiError> {
    let raw = raw.trim().replace('T', " ");
    NaiveDateTime::parse_from_str(&raw, "%Y-%m-%d %H:%M")
        .ok()
        .and_then(|local| {
            chrono::FixedOffset::east_opt(7 * 3600)?
                .from_local_datetime(&local)
                .single()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            ApiError::field(
                "cutoff",
                "invalid_timestamp",
                "a WIB time as YYYY-MM-DD HH:MM, e.g. 2026-03-31 23:59",
            )
        })
}

async fn build(state: web::Data<AppState>, req: HttpRequest, form: web::Form<BuildForm>) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let cutoff = parse_cutoff(&form.cutoff)?;
            let detail = batches::build(&state.db, cutoff, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!(
                "{BATCHES}/{}?pesan=dibuat",
                detail.batch.id
            )))
        }
        .await,
    )
}

struct ItemRow {
    id: String,
    merchant: String,
    amount: String,
    reference: String,
    bank: String,
    rail: String,
    status_label: &'static str,
    /// Approved and not yet seen on a statement: the bank may still return it.
    in_transit: bool,
}

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage {
    frame: Frame,
    batch: BatchRow,
    items: Vec<ItemRow>,
    /// Whether any item may still be returned by the bank (its failure form is shown).
    any_in_transit: bool,
    message: Option<&'static str>,
}

async fn item_rows(state: &AppState, items: &[ItemView]) -> Result<Vec<ItemRow>, Failure> {
    let mut ids: Vec<String> = items.iter().map(|i| i.merchant_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|(id, f)| (id, f.name))
        .collect();
    Ok(items
        .iter()
        .map(|i| ItemRow {
            id: i.id.clone(),
            merchant: names
                .get(&i.merchant_id)
                .cloned()
                .unwrap_or_else(|| i.merchant_id.clone()),
            amount: i.amount.format_idr(),
            reference: i.reference.clone(),
            bank: format!(
                "{} {} a.n. {}",
                i.bank_code, i.account_number, i.account_name
            ),
            rail: i.rail.clone(),
            status_label: status_label(&i.status),
            in_transit: i.status == "approved",
        })
        .collect())
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
            let batch = batches::find_batch(&state.db, &id)
                .await?
                .ok_or_else(|| ApiError::not_found("payout batch"))?;
            let items = batches::items_of(&state.db, &id).await?;
            let items = item_rows(&state, &items).await?;
            page::ok(&BatchPage {
                frame: Frame::of(&session.caller, &session.csrf, BATCHES),
                batch: BatchRow::new(&batch, &session.caller.user_id),
                any_in_transit: items.iter().any(|i| i.in_transit),
                items,
                message: notice(query.pesan.as_deref()),
            })
        }
        .await,
    )
}

/// Approval by a second treasury user: the service refuses the batch's creator
/// (`four_eyes_required`), as the API does.
async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            batches::approve(&state.db, &id, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!("{BATCHES}/{id}?pesan=disetujui")))
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
            batches::cancel(&state.db, &id, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!("{BATCHES}/{id}?pesan=dibatalkan")))
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
            let body = batches::transfer_file(&state.db, &id).await?;
            Ok(peken_kernel::export::attachment(
                "text/csv; charset=utf-8",
                &format!("payout-{}.csv", &*id),
                body.into_bytes(),
            ))
        }
        .await,
    )
}

struct LineRow {
    value_date: String,
    direction: &'static str,
    amount: String,
    description: String,
    status: String,
    status_label: &'static str,
}

#[derive(Template)]
#[template(path = "statements.html")]
struct Statements {
    frame: Frame,
    result: Option<ImportResult>,
    lines: Vec<LineRow>,
}

const STATEMENTS: &str = "/console/treasury/statements";

async fn statement_form(state: web::Data<AppState>, req: HttpRequest) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            page::ok(&Statements {
                frame: Frame::of(&session.caller, &session.csrf, STATEMENTS),
                result: None,
                lines: Vec::new(),
            })
        }
        .await,
    )
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    account: String,
    file: Vec<u8>,
    content_type: String,
}

async fn read_upload(mut payload: Multipart, limit: usize) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let unreadable = || ApiError::bad_request("malformed_body", "the form could not be read");
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| unreadable())?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.content_type = field
                .content_type()
                .map(|m| m.essence_str().to_owned())
                .unwrap_or_default();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            if bytes.len() + chunk.len() > limit {
                return Err(
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                        .with_detail("the request body is too large"),
                );
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => upload.file = bytes,
            "csrf" => upload.csrf = String::from_utf8(bytes).unwrap_or_default(),
            "account" => upload.account = String::from_utf8(bytes).unwrap_or_default(),
            _ => {}
        }
    }
    Ok(upload)
}

/// Imports a statement file as the API does (`reconcile::parse` and `reconcile::import`) and
/// shows the match result and the statement's lines.
async fn upload_statement(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: Multipart,
) -> Page {
    Page(
        async {
            if !crate::session::same_origin(&state, &req) {
                return Err(Failure::CrossSite);
            }
            // The role before the body, so that a wrong role is refused whatever it sent.
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let upload = read_upload(payload, state.settings.max_upload_bytes).await?;
            session.check_csrf(&upload.csrf)?;
            let text = std::str::from_utf8(&upload.file).map_err(|_| {
                ApiError::unprocessable("invalid_encoding", "the statement must be UTF-8 text")
            })?;
            // The request guard reads raw text bodies; a file inside a form is checked here.
            if let Some(line) = peken_kernel::text::control_line(text) {
                return Err(
                    peken_kernel::text::control_character(&format!("file line {line}")).into(),
                );
            }
            let account = Some(upload.account.trim().to_owned()).filter(|a| !a.is_empty());
            if account.as_ref().is_some_and(|a| a.len() > 64) {
                return Err(ApiError::field("account", "too_long", "at most 64 characters").into());
            }
            let parsed =
                reconcile::parse(Format::detect(&upload.content_type, text), text, account)?;
            let result = reconcile::import(&state.db, &parsed, &session.caller, state.now(), None)
                .await?
                .done()?;
            let lines = reconcile::lines_of(&state.db, &result.statement_id)
                .await?
                .into_iter()
                .map(|l| LineRow {
                    value_date: l.value_date,
                    direction: if l.direction == "debit" {
                        "Debit"
                    } else {
                        "Kredit"
                    },
                    amount: l.amount.format_idr(),
                    description: l.description,
                    status_label: status_label(&l.status),
                    status: l.status,
                })
                .collect();
            page::ok(&Statements {
                frame: Frame::of(&session.caller, &session.csrf, STATEMENTS),
                result: Some(result),
                lines,
            })
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cutoff_is_read_as_wib() {
        let at = parse_cutoff("2026-03-31 23:59").unwrap_or_else(|_| Utc::now());
        assert_eq!(at.to_rfc3339(), "2026-03-31T16:59:00+00:00");
        assert!(parse_cutoff("2026-03-31T23:59").is_ok());
        assert!(parse_cutoff("kemarin").is_err());
    }
}
