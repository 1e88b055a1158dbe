//! Bulk stock and prices: a shop's listings exported as a spreadsheet and imported back.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use peken_kernel::auth::{Auth, MerchantOnly};
use peken_kernel::error::Problem;
use peken_kernel::export::{self, ExportParams, Table, Value};
use peken_kernel::http_cache::etag_of;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::listings::MerchantOrAdmin;
use crate::service::bulk::{self, BulkListing, Delta, ImportReport, LineOutcome, MAX_LINES};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export_listings).service(import_listings);
}

/// The largest file an import reads.
const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// The columns of the export, in order: exactly what an import reads (`name` is there for the
/// person editing the sheet and is not read back).
const COLUMNS: [&str; 5] = ["code", "name", "price", "stock_count", "active"];

/// One listing as the export writes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulkRow {
    /// The product's id: the code an import names the listing with.
    pub code: String,
    /// The product's name (not read back by an import).
    pub name: String,
    pub price: Rupiah,
    /// The available stock (on hand minus units reserved for unpaid orders).
    pub stock_count: i64,
    pub active: bool,
}

impl From<BulkListing> for BulkRow {
    fn from(l: BulkListing) -> Self {
        Self {
            code: l.product_id,
            name: l.name,
            price: Rupiah::new(l.price),
            stock_count: l.stock,
            active: l.active,
        }
    }
}

/// A shop's listings as a spreadsheet to edit and import back (merchant's own people, admin).
/// The columns are `code` (the product's id), `name`, `price`, `stock_count` and `active`, in
/// that order, one line per listing by name; `?format=csv` (with `delimiter=semicolon` for
/// Indonesian Excel) or `xlsx`, JSON otherwise.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), ExportParams),
    responses(
        (status = 200, description = "The listings as JSON, CSV or XLSX (an attachment)", content(
            (Vec<BulkRow> = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/listings/export")]
async fn export_listings(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    id: web::Path<String>,
    req: HttpRequest,
    params: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    // On the primary, not the read replica: the sheet is edited and imported back, and an import
    // sets what it says (a `stock_count` is a counted stock, a price the new price), so a sheet
    // a few seconds stale would put back a price or a count the shop has just changed. It also
    // checks who may see the shop.
    let rows: Vec<BulkRow> = bulk::export(&state, &auth, &id)
        .await?
        .into_iter()
        .map(BulkRow::from)
        .collect();
    export::respond(&req, &params, "listings", &rows, || {
        let mut table = Table::new("Listings", &COLUMNS);
        for r in &rows {
            table.push(vec![
                Value::Text(r.code.clone()),
                Value::Text(r.name.clone()),
                r.price.into(),
                r.stock_count.into(),
                r.active.into(),
            ]);
        }
        table
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: answer what the file would change and change nothing.
    pub dry_run: Option<bool>,
}

/// A listings file (the OpenAPI document's view of the multipart body).
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the multipart body; the handler reads it as a stream"
)]
pub struct ListingsUpload {
    /// A CSV (UTF-8, `,` or `;`, with or without a byte order mark) or XLSX file of at most
    /// 5 MB and 5,000 lines.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A price before and after a line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceBefore {
    pub before: Rupiah,
    pub after: Rupiah,
}

/// A switch before and after a line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActiveBefore {
    pub before: bool,
    pub after: bool,
}

/// A stock change of a line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockBefore {
    pub before: i64,
    pub after: i64,
    /// The movement kind it is recorded as: `restock` (units added by `stock_change`) or
    /// `adjustment` (units removed, or a `stock_count`).
    pub movement: String,
}

/// What one line does.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportLine {
    /// The line number as the spreadsheet shows it (the header is line 1).
    pub line: usize,
    /// The code as written on the line.
    pub code: String,
    pub listing_id: String,
    pub name: String,
    /// `changed` or `unchanged` (every value equal to the listing's).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceBefore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock: Option<StockBefore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<ActiveBefore>,
}

/// Totals of an import.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportTotals {
    pub lines: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub prices_changed: usize,
    pub stocks_changed: usize,
    pub activated: usize,
    pub deactivated: usize,
    /// Units added over all lines.
    pub units_added: i64,
    /// Units removed over all lines.
    pub units_removed: i64,
}

/// The answer to an import.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportResponse {
    /// Whether this was a dry run: then nothing was changed.
    pub dry_run: bool,
    /// Whether the changes were written (false for a dry run and for a file that changes
    /// nothing).
    pub applied: bool,
    /// The import's id, when it was written: the `reference_id` of its stock movements
    /// (`reference_type` `import`) and in its audit entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    pub lines: Vec<ImportLine>,
    pub totals: ImportTotals,
}

impl From<ImportReport> for ImportResponse {
    fn from(report: ImportReport) -> Self {
        let mut totals = ImportTotals {
            lines: report.lines.len(),
            ..ImportTotals::default()
        };
        let lines = report
            .lines
            .into_iter()
            .map(|o: LineOutcome| {
                let changes = o.changes();
                if changes {
                    totals.changed += 1;
                } else {
                    totals.unchanged += 1;
                }
                if o.price.is_some() {
                    totals.prices_changed += 1;
                }
                if let Some(s) = o.stock {
                    totals.stocks_changed += 1;
                    let delta = s.after - s.before;
                    if delta > 0 {
                        totals.units_added += delta;
                    } else {
                        totals.units_removed -= delta;
                    }
                }
                match o.active {
                    Some(Delta { after: true, .. }) => totals.activated += 1,
                    Some(Delta { after: false, .. }) => totals.deactivated += 1,
                    None => {}
                }
                ImportLine {
                    line: o.line,
                    code: o.code,
                    listing_id: o.listing_id,
                    name: o.name,
                    outcome: if changes { "changed" } else { "unchanged" }.to_owned(),
                    price: o.price.map(|d| PriceBefore {
                        before: Rupiah::new(d.before),
                        after: Rupiah::new(d.after),
                    }),
                    stock: o.stock.map(|s| StockBefore {
                        before: s.before,
                        after: s.after,
                        movement: o
                            .movement
                            .map(|k| k.as_str().to_owned())
                            .unwrap_or_default(),
                    }),
                    active: o.active.map(|d| ActiveBefore {
                        before: d.before,
                        after: d.after,
                    }),
                }
            })
            .collect();
        Self {
            dry_run: report.dry_run,
            applied: report.import_id.is_some(),
            import_id: report.import_id,
            lines,
            totals,
        }
    }
}

/// Change the prices, stock and switches of many listings at once from a CSV or XLSX file
/// (merchant's own people), in a part named `file`. The first line names the columns, in any
/// order (other columns are ignored):
///
/// - `code` (or `kode`, `kode_produk`, `product_id`): the listing, by its product's id (what
///   the export writes), the listing's id, or a commodity id or barcode that only one of the
///   shop's listings has. Required.
/// - `price` (or `harga`): the new price in whole rupiah, at most the commodity's HET.
/// - `stock_change` (or `perubahan_stok`, `tambah_stok`): units to add (a `restock` movement)
///   or, negative, to remove (an `adjustment`); the stock never goes below zero.
/// - `stock_count` (or `stok`, `jumlah_stok`): the counted available stock; the difference is
///   one `adjustment` movement. A line gives `stock_change` or `stock_count`, not both.
/// - `active` (or `aktif`): `true`/`false` (also `ya`/`tidak`, `1`/`0`). A listing an admin
///   took down, or whose product was rejected, cannot be switched on.
///
/// An empty cell leaves that value as it is, and a value equal to the listing's is `unchanged`:
/// importing the same file of counts twice changes nothing the second time. An import changes
/// existing listings only; a code without a listing is an error (list a new product with
/// `POST /merchants/{id}/listings`). Every line is checked first: if any is bad, the answer is
/// one 422 `validation_failed` listing each problem as `errors[]` with `field`
/// `line {n}: {column}` and a stable `code` (`unknown_listing_code`, `ambiguous_code`,
/// `duplicate_code`, `required`, `invalid_amount`, `amount_has_fraction`,
/// `amount_not_positive`, `amount_too_large`, `price_above_het`, `not_an_integer`,
/// `out_of_range`, `stock_below_zero`, `stock_change_and_count`, `invalid_boolean`,
/// `listing_taken_down`, `product_rejected`) and `context.lines` the bad line numbers, and
/// nothing is changed. Otherwise every change is written in one transaction, with its stock
/// movements and one audit entry. `?dry_run=true` answers the same without changing anything.
/// With an `Idempotency-Key` header, a file applied under that key is applied once: sending it
/// again answers the first answer; the same key with another file is 409
/// `idempotency_key_reused`.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body(content = ListingsUpload, content_type = "multipart/form-data"),
    params(("id" = String, Path, description = "Merchant id"), ImportQuery, ("Idempotency-Key" = Option<String>, Header, description = "Sending the same file again with the same key returns the first answer and applies nothing")),
    responses(
        (status = 200, description = "What each line changes (or would, for a dry run) and the totals", body = ImportResponse),
        (status = 400, description = "The multipart body cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock changed under the import (`out_of_stock`), or the `Idempotency-Key` was used with another file (`idempotency_key_reused`); nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over 5 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `file` part, an unreadable file (`unreadable_file`), more than 5,000 lines (`too_many_lines`), a header without `code` or without any column to change (`missing_columns`), or bad lines (`validation_failed`, every bad line listed)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/listings/import")]
async fn import_listings(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: Multipart,
) -> ApiResult<HttpResponse> {
    // Another shop's id is refused before the file is read.
    crate::service::merchants::own(&state.db, &auth, &id).await?;
    let file = peken_media::read_file_part(&req, payload, MAX_FILE_BYTES).await?;
    let upload = peken_kernel::import::read(&file.bytes, MAX_LINES)?;
    let dry_run = query.dry_run.unwrap_or(false);
    // A file applied under an Idempotency-Key is applied once, however often it is sent: a
    // phone that lost the answer sends it again. Keyed by the file's bytes.
    let key = if dry_run {
        None
    } else {
        Key::from_request(
            &req,
            &auth.user_id,
            &format!("listings.import:{}", &*id),
            &serde_json::json!({ "file_digest": etag_of(&file.bytes) }),
        )?
    };
    let outcome = bulk::import(
        &state,
        &auth,
        &id,
        &upload,
        dry_run,
        key.as_ref(),
        |report| {
            serde_json::to_string(&ImportResponse::from(report.clone())).map_err(ApiError::internal)
        },
    )
    .await?;
    let outcome = match outcome {
        Outcome::Done(report) => Outcome::Done(ImportResponse::from(report)),
        Outcome::Replay { status, body } => Outcome::Replay { status, body },
    };
    Ok(idempotency::respond(outcome, 200))
}
