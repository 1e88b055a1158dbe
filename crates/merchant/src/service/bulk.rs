//! Bulk stock and prices: a shop's listings as one spreadsheet (export) and the same sheet,
//! edited, read back (import).
//!
//! An import reads the merchant's listings in one query, checks every line in memory and, when
//! every line is good, writes with a handful of set-based statements in one transaction: one
//! UPDATE of prices and switches, the stock changes through [`stock::apply_many`] (one guarded
//! UPDATE and one multi-row INSERT of movements per thousand listings) and one audit row. On
//! PostgreSQL the read locks the merchant's listings in id order (`FOR UPDATE`), as checkout
//! locks the listings it sells, so a counted stock is set against the stock as it stands and
//! neither can deadlock the other. A line that changes nothing writes nothing: re-importing a
//! file of counts adds no movement and touches no `updated_at`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_catalog::MAX_PRICE;
use peken_catalog::cache::listings_changed;
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::error::FieldError;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::import::Upload;
use peken_kernel::sql::{CHUNK_ROWS, values_rows};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, TransactionTrait, Value};

use super::merchants;
use super::products::REJECTED;
use crate::stock::{self, MAX_UNITS, MovementKind, StockChange};

/// The most lines one file may have.
pub const MAX_LINES: usize = 5_000;

/// The columns an import reads and an export writes, with the names a shop may use instead
/// (compared lower-cased, with spaces and dashes read as `_`).
pub const CODE: &[&str] = &["code", "kode", "kode_produk", "product_code", "product_id"];
pub const NAME: &[&str] = &["name", "nama", "nama_produk", "product", "produk"];
pub const PRICE: &[&str] = &["price", "harga"];
pub const STOCK_CHANGE: &[&str] = &["stock_change", "perubahan_stok", "tambah_stok"];
pub const STOCK_COUNT: &[&str] = &["stock_count", "stok", "jumlah_stok", "stock"];
pub const ACTIVE: &[&str] = &["active", "aktif"];

/// One of the merchant's listings as an import and an export see it.
#[derive(Debug, Clone)]
pub struct BulkListing {
    pub id: String,
    pub product_id: String,
    pub commodity_id: Option<String>,
    pub barcode: Option<String>,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub active: bool,
    pub taken_down: bool,
    pub product_status: String,
    pub het_price: Option<i64>,
}

/// The merchant's listings in id order, locked on PostgreSQL when `lock`.
async fn listings_of<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    lock: bool,
) -> Result<Vec<BulkListing>, DbErr> {
    let lock = if lock && conn.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE OF l"
    } else {
        ""
    };
    let rows = peken_kernel::sql::query(
        conn,
        format!(
            "SELECT l.id, l.product_id, l.commodity_id, p.barcode, p.name, l.price, l.stock, \
             l.active, CASE WHEN l.taken_down_at IS NULL THEN FALSE ELSE TRUE END AS taken_down, \
             p.status, c.het_price \
             FROM listings l JOIN products p ON p.id = l.product_id \
             LEFT JOIN commodities c ON c.id = l.commodity_id \
             WHERE l.merchant_id = $1 ORDER BY l.id{lock}"
        ),
        vec![merchant_id.into()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BulkListing {
                id: r.try_get("", "id")?,
                product_id: r.try_get("", "product_id")?,
                commodity_id: r.try_get("", "commodity_id")?,
                barcode: r.try_get("", "barcode")?,
                name: r.try_get("", "name")?,
                price: r.try_get("", "price")?,
                stock: r.try_get("", "stock")?,
                active: r.try_get("", "active")?,
                taken_down: r.try_get("", "taken_down")?,
                product_status: r.try_get("", "status")?,
                het_price: r.try_get("", "het_price")?,
            })
        })
        .collect()
}

/// The merchant's listings for an export (its people and admins), by product name.
pub async fn export(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> ApiResult<Vec<BulkListing>> {
    let m = merchants::for_reading(&state.db, caller, merchant_id, false).await?;
    let mut rows = listings_of(&state.db, &m.id, false).await?;
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(rows)
}

/// A value before and after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta<T> {
    pub before: T,
    pub after: T,
}

/// What one line does to its listing; `None` parts stay as they are.
#[derive(Debug, Clone)]
pub struct LineOutcome {
    pub line: usize,
    pub code: String,
    pub listing_id: String,
    pub name: String,
    pub price: Option<Delta<i64>>,
    pub stock: Option<Delta<i64>>,
    /// `restock` (units added by `stock_change`) or `adjustment` (removed, or counted).
    pub movement: Option<MovementKind>,
    pub active: Option<Delta<bool>>,
}

impl LineOutcome {
    pub fn changes(&self) -> bool {
        self.price.is_some() || self.stock.is_some() || self.active.is_some()
    }
}

/// The answer to an import: each line, and whether it was written.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The import's id: the `reference_id` of its stock movements (`reference_type` `import`)
    /// and the subject of its audit entry. Absent for a dry run and for a file that changed
    /// nothing.
    pub import_id: Option<String>,
    pub dry_run: bool,
    pub lines: Vec<LineOutcome>,
}

/// One bad line of a file: its number, the column and a stable code.
#[derive(Debug, Clone)]
pub struct LineError {
    pub line: usize,
    pub column: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// The positions of the columns an import reads.
struct Columns {
    code: usize,
    price: Option<usize>,
    stock_change: Option<usize>,
    stock_count: Option<usize>,
    active: Option<usize>,
}

fn normalised(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

fn columns(upload: &Upload) -> ApiResult<Columns> {
    let names: Vec<String> = upload.columns.iter().map(|c| normalised(c)).collect();
    let find = |aliases: &[&str]| names.iter().position(|c| aliases.contains(&c.as_str()));
    let missing = |what: &str| {
        ApiError::unprocessable("missing_columns", format!("the header lacks: {what}"))
            .with_context(serde_json::json!({ "missing": [what] }))
    };
    let code = find(CODE).ok_or_else(|| missing("code"))?;
    let found = Columns {
        code,
        price: find(PRICE),
        stock_change: find(STOCK_CHANGE),
        stock_count: find(STOCK_COUNT),
        active: find(ACTIVE),
    };
    if found.price.is_none()
        && found.stock_change.is_none()
        && found.stock_count.is_none()
        && found.active.is_none()
    {
        return Err(missing("price, stock_change, stock_count or active"));
    }
    Ok(found)
}

/// The merchant's listings by every code a line may name them with.
struct Codes<'a> {
    unique: HashMap<&'a str, usize>,
    shared: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Codes<'a> {
    fn new(listings: &'a [BulkListing]) -> Self {
        let mut unique = HashMap::with_capacity(listings.len() * 2);
        let mut shared: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, l) in listings.iter().enumerate() {
            unique.insert(l.product_id.as_str(), i);
            unique.insert(l.id.as_str(), i);
            if let Some(c) = &l.commodity_id {
                shared.entry(c.as_str()).or_default().push(i);
            }
            if let Some(b) = l.barcode.as_deref().filter(|b| !b.is_empty()) {
                shared.entry(b).or_default().push(i);
            }
        }
        Self { unique, shared }
    }

    /// The listing a code names: a product id or listing id, or a commodity id or barcode that
    /// only one listing has.
    fn find(&self, code: &str) -> Found {
        if let Some(i) = self.unique.get(code) {
            return Found::One(*i);
        }
        match self.shared.get(code).map(Vec::as_slice) {
            Some([one]) => Found::One(*one),
            Some(_) => Found::Several,
            None => Found::None,
        }
    }
}

enum Found {
    One(usize),
    Several,
    None,
}

/// A whole number as typed in a cell (`12`, `+12`, `-3`, `12.00`).
fn whole(text: &str) -> Option<i64> {
    Rupiah::parse_decimal(text).ok().map(Rupiah::get)
}

fn boolean(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "true" | "1" | "ya" | "y" | "yes" | "aktif" | "benar" => Some(true),
        "false" | "0" | "tidak" | "t" | "n" | "no" | "nonaktif" | "salah" => Some(false),
        _ => None,
    }
}

/// Every line checked against the listings; all the errors when any line is bad.
fn plan(
    upload: &Upload,
    cols: &Columns,
    listings: &[BulkListing],
) -> Result<Vec<(usize, LineOutcome)>, Vec<LineError>> {
    let codes = Codes::new(listings);
    let mut errors = Vec::new();
    let mut outcomes = Vec::with_capacity(upload.lines.len());
    let mut seen: HashMap<usize, usize> = HashMap::with_capacity(upload.lines.len());
    for line in &upload.lines {
        let n = line.number;
        let cell = |i: Option<usize>| i.map_or("", |i| line.cells[i].as_str());
        let before = errors.len();
        let code = cell(Some(cols.code));
        if code.is_empty() {
            errors.push(LineError {
                line: n,
                column: "code",
                code: "required",
                message: "the line names no listing".to_owned(),
            });
            continue;
        }
        let index = match codes.find(code) {
            Found::One(i) => i,
            Found::Several => {
                errors.push(LineError {
                    line: n,
                    column: "code",
                    code: "ambiguous_code",
                    message: "several of your listings have this code; use the product code"
                        .to_owned(),
                });
                continue;
            }
            Found::None => {
                errors.push(LineError {
                    line: n,
                    column: "code",
                    code: "unknown_listing_code",
                    message: "none of your listings has this code".to_owned(),
                });
                continue;
            }
        };
        if let Some(first) = seen.insert(index, n) {
            errors.push(LineError {
                line: n,
                column: "code",
                code: "duplicate_code",
                message: format!("line {first} names the same listing"),
            });
            continue;
        }
        let l = &listings[index];
        let mut outcome = LineOutcome {
            line: n,
            code: code.to_owned(),
            listing_id: l.id.clone(),
            name: l.name.clone(),
            price: None,
            stock: None,
            movement: None,
            active: None,
        };

        let price = cell(cols.price);
        if !price.is_empty() {
            match Rupiah::parse_decimal(price).map(Rupiah::get) {
                Err(e) => errors.push(LineError {
                    line: n,
                    column: "price",
                    code: e.code(),
                    message: e.to_string(),
                }),
                Ok(p) if p <= 0 => errors.push(LineError {
                    line: n,
                    column: "price",
                    code: "amount_not_positive",
                    message: "the price must be more than zero".to_owned(),
                }),
                Ok(p) if p > MAX_PRICE => errors.push(LineError {
                    line: n,
                    column: "price",
                    code: "amount_too_large",
                    message: format!("the price must be at most {MAX_PRICE}"),
                }),
                Ok(p) if p == l.price => {}
                Ok(p) => match l.het_price {
                    Some(het) if p > het => errors.push(LineError {
                        line: n,
                        column: "price",
                        code: "price_above_het",
                        message: format!("the price is above the HET of Rp{het}"),
                    }),
                    _ => {
                        outcome.price = Some(Delta {
                            before: l.price,
                            after: p,
                        });
                    }
                },
            }
        }

        let change = cell(cols.stock_change);
        let count = cell(cols.stock_count);
        if !change.is_empty() && !count.is_empty() {
            errors.push(LineError {
                line: n,
                column: "stock_change",
                code: "stock_change_and_count",
                message: "give either stock_change or stock_count on a line, not both".to_owned(),
            });
        } else if !change.is_empty() {
            match whole(change) {
                None => errors.push(LineError {
                    line: n,
                    column: "stock_change",
                    code: "not_an_integer",
                    message: "stock_change must be a whole number".to_owned(),
                }),
                Some(d) if d.abs() > MAX_UNITS || l.stock + d > MAX_UNITS => {
                    errors.push(LineError {
                        line: n,
                        column: "stock_change",
                        code: "out_of_range",
                        message: format!("a listing holds at most {MAX_UNITS} units"),
                    });
                }
                Some(d) if l.stock + d < 0 => errors.push(LineError {
                    line: n,
                    column: "stock_change",
                    code: "stock_below_zero",
                    message: format!("only {} units are in stock", l.stock),
                }),
                Some(0) => {}
                Some(d) => {
                    outcome.stock = Some(Delta {
                        before: l.stock,
                        after: l.stock + d,
                    });
                    outcome.movement = Some(if d > 0 {
                        MovementKind::Restock
                    } else {
                        MovementKind::Adjustment
                    });
                }
            }
        } else if !count.is_empty() {
            match whole(count) {
                None => errors.push(LineError {
                    line: n,
                    column: "stock_count",
                    code: "not_an_integer",
                    message: "stock_count must be a whole number".to_owned(),
                }),
                Some(c) if !(0..=MAX_UNITS).contains(&c) => errors.push(LineError {
                    line: n,
                    column: "stock_count",
                    code: "out_of_range",
                    message: format!("stock_count must be from 0 to {MAX_UNITS}"),
                }),
                Some(c) if c == l.stock => {}
                Some(c) => {
                    outcome.stock = Some(Delta {
                        before: l.stock,
                        after: c,
                    });
                    outcome.movement = Some(MovementKind::Adjustment);
                }
            }
        }

        let active = cell(cols.active);
        if !active.is_empty() {
            match boolean(active) {
                None => errors.push(LineError {
                    line: n,
                    column: "active",
                    code: "invalid_boolean",
                    message: "active must be true or false (ya or tidak)".to_owned(),
                }),
                Some(a) if a == l.active => {}
                Some(true) if l.taken_down => errors.push(LineError {
                    line: n,
                    column: "active",
                    code: "listing_taken_down",
                    message: "an admin took this listing down; only an admin lifts it".to_owned(),
                }),
                Some(true) if l.product_status == REJECTED => errors.push(LineError {
                    line: n,
                    column: "active",
                    code: "product_rejected",
                    message: "the product was rejected in moderation".to_owned(),
                }),
                Some(a) => {
                    outcome.active = Some(Delta {
                        before: l.active,
                        after: a,
                    });
                }
            }
        }
        if errors.len() == before {
            outcomes.push((index, outcome));
        }
    }
    if errors.is_empty() {
        Ok(outcomes)
    } else {
        Err(errors)
    }
}

/// The 422 that lists every bad line: `errors[].field` is `line {n}: {column}`, and
/// `context.lines` the bad lines' numbers in order.
fn refused(errors: Vec<LineError>) -> ApiError {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    ApiError::validation(
        errors
            .into_iter()
            .map(|e| FieldError {
                field: format!("line {}: {}", e.line, e.column),
                code: e.code.to_owned(),
                message: e.message,
            })
            .collect(),
    )
    .with_detail("the file has invalid lines; nothing was changed")
    .with_context(serde_json::json!({ "lines": lines }))
}

/// Reads `upload` against the merchant's listings and, unless `dry_run` or a line is bad,
/// applies it in one transaction. With an idempotency `key`, a file already applied under it
/// is not applied again: the answer then is the first one, kept with the key by `answer` in the
/// transaction that applied it.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    upload: &Upload,
    dry_run: bool,
    key: Option<&Key>,
    answer: impl FnOnce(&ImportReport) -> ApiResult<String>,
) -> ApiResult<Outcome<ImportReport>> {
    let cols = columns(upload)?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    if let Some((status, body)) = idempotency::claim(&txn, key, now).await? {
        txn.rollback().await?;
        return Ok(Outcome::Replay { status, body });
    }
    let listings = listings_of(&txn, &m.id, !dry_run).await?;
    let planned = plan(upload, &cols, &listings).map_err(refused)?;
    let lines: Vec<LineOutcome> = planned.iter().map(|(_, o)| o.clone()).collect();
    if dry_run || !lines.iter().any(LineOutcome::changes) {
        txn.rollback().await?;
        return Ok(Outcome::Done(ImportReport {
            import_id: None,
            dry_run,
            lines,
        }));
    }
    let import_id = new_id();
    let mut changed: Vec<&LineOutcome> = lines.iter().filter(|o| o.changes()).collect();
    changed.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
    let by_id: HashMap<&str, &BulkListing> = listings.iter().map(|l| (l.id.as_str(), l)).collect();
    write_prices(&txn, &changed, &by_id, now).await?;
    write_stock(&txn, &changed, caller, &import_id, now).await?;
    record(&txn, caller, &m.id, &import_id, lines.len(), &changed, now).await?;
    let report = ImportReport {
        import_id: Some(import_id.clone()),
        dry_run,
        lines: lines.clone(),
    };
    idempotency::store(&txn, key, 200, &answer(&report)?).await?;
    txn.commit().await?;
    listings_changed(state).await;
    tracing::info!(
        merchant_id = %m.id,
        import_id,
        lines = lines.len(),
        changed = changed.len(),
        "listings imported"
    );
    Ok(Outcome::Done(report))
}

/// New prices and switches, a thousand listings a statement (`UPDATE … FROM (VALUES …)`, which
/// both databases run). The rows are locked, so the values kept are the values read.
async fn write_prices<C: ConnectionTrait>(
    conn: &C,
    changed: &[&LineOutcome],
    by_id: &HashMap<&str, &BulkListing>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let rows: Vec<(&str, i64, bool)> = changed
        .iter()
        .filter(|o| o.price.is_some() || o.active.is_some())
        .filter_map(|o| {
            let l = by_id.get(o.listing_id.as_str())?;
            Some((
                l.id.as_str(),
                o.price.map_or(l.price, |p| p.after),
                o.active.map_or(l.active, |a| a.after),
            ))
        })
        .collect();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(1 + chunk.len() * 3);
        values.push(now.into());
        for (id, price, active) in chunk {
            values.extend([(*id).into(), (*price).into(), (*active).into()]);
        }
        let sql = format!(
            "UPDATE listings SET price = v.column2, active = v.column3, updated_at = $1 \
             FROM (VALUES {}) AS v WHERE listings.id = v.column1",
            values_rows(chunk.len(), 3, 2)
        );
        let done = peken_kernel::sql::exec(conn, sql, values).await?;
        if done != chunk.len() as u64 {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a listing import changed {done} of {} listings",
                chunk.len()
            )));
        }
    }
    Ok(())
}

/// The stock changes as movements, through the same guarded statements as every other stock
/// change, in listing-id order.
async fn write_stock<C: ConnectionTrait>(
    conn: &C,
    changed: &[&LineOutcome],
    caller: &Caller,
    import_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let stock_changes: Vec<StockChange<'_>> = changed
        .iter()
        .filter_map(|o| {
            let (stock, kind) = (o.stock?, o.movement?);
            let delta = stock.after - stock.before;
            Some(StockChange {
                listing_id: &o.listing_id,
                kind,
                quantity_delta: delta,
                units: delta.abs(),
                reference: Some(("import", import_id)),
                note: Some("import"),
                actor_id: Some(&caller.user_id),
            })
        })
        .collect();
    for chunk in stock_changes.chunks(CHUNK_ROWS) {
        stock::apply_many(conn, chunk, now).await?;
    }
    Ok(())
}

/// One audit entry for the whole import: what changed on each listing.
async fn record<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    merchant_id: &str,
    import_id: &str,
    lines: usize,
    changed: &[&LineOutcome],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let pair = |d: Option<Delta<i64>>| d.map(|d| [d.before, d.after]);
    let entries: Vec<serde_json::Value> = changed
        .iter()
        .map(|o| {
            serde_json::json!({
                "listing_id": o.listing_id,
                "price": pair(o.price),
                "stock": pair(o.stock),
                "active": o.active.map(|d| [d.before, d.after]),
            })
        })
        .collect();
    peken_audit::record(
        conn,
        caller,
        peken_audit::Change::new("listings.imported", "merchant", merchant_id).after(
            serde_json::json!({
                "import_id": import_id,
                "lines": lines,
                "changed": changed.len(),
                "changes": entries,
            }),
        ),
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use peken_kernel::import::Line;

    fn listing(id: &str, commodity: Option<&str>, stock: i64) -> BulkListing {
        BulkListing {
            id: format!("l-{id}"),
            product_id: format!("p-{id}"),
            commodity_id: commodity.map(str::to_owned),
            barcode: None,
            name: id.to_owned(),
            price: 10_000,
            stock,
            active: true,
            taken_down: false,
            product_status: "approved".to_owned(),
            het_price: Some(12_000),
        }
    }

    fn upload(columns: &[&str], lines: &[&[&str]]) -> Upload {
        Upload {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, cells)| Line {
                    number: i + 2,
                    cells: cells.iter().map(|c| (*c).to_owned()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn every_bad_line_is_named_with_its_column() {
        let listings = [listing("a", Some("c1"), 5), listing("b", Some("c1"), 5)];
        let file = upload(
            &["Kode", "Harga", "Stok", "Aktif"],
            &[
                &["p-a", "13000", "", ""],
                &["c1", "", "", ""],
                &["p-b", "", "-1", "maybe"],
                &["p-a", "", "", ""],
            ],
        );
        let errors = plan(
            &file,
            &columns(&file).unwrap_or_else(|e| panic!("{}", e.code())),
            &listings,
        )
        .err()
        .unwrap_or_default();
        let found: Vec<(usize, &str, &str)> =
            errors.iter().map(|e| (e.line, e.column, e.code)).collect();
        assert_eq!(
            found,
            vec![
                (2, "price", "price_above_het"),
                (3, "code", "ambiguous_code"),
                (4, "stock_count", "out_of_range"),
                (4, "active", "invalid_boolean"),
                (5, "code", "duplicate_code"),
            ]
        );
    }

    #[test]
    fn equal_values_change_nothing() {
        let listings = [listing("a", None, 5)];
        let file = upload(
            &["code", "price", "stock_count", "active"],
            &[&["p-a", "10000", "5", "true"]],
        );
        let planned = plan(
            &file,
            &columns(&file).unwrap_or_else(|e| panic!("{}", e.code())),
            &listings,
        )
        .unwrap_or_default();
        assert_eq!(planned.len(), 1);
        assert!(!planned[0].1.changes());
    }

    #[test]
    fn a_change_below_zero_is_refused() {
        let listings = [listing("a", None, 5)];
        let file = upload(&["code", "stock_change"], &[&["p-a", "-6"], &["l-a", "1"]]);
        let errors = plan(
            &file,
            &columns(&file).unwrap_or_else(|e| panic!("{}", e.code())),
            &listings,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors[0].code, "stock_below_zero");
        assert_eq!(errors[1].code, "duplicate_code");
    }
}
