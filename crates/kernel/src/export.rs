//! Exports: one table, answered as JSON, CSV or XLSX as the client chooses with
//! `?format=json|csv|xlsx`.
//!
//! CSV goes through [`crate::csv::CsvWriter`] (formulas defused, numbers kept numbers); with
//! `delimiter=semicolon` it is written for Indonesian Excel: `;` between cells and a UTF-8 byte
//! order mark first (`bom=true` asks for the mark with commas too). XLSX is written with
//! `rust_xlsxwriter`: text cells are always strings there, never formulas, and amounts are
//! numbers with a thousands format. Without `format`, `Accept: text/csv` or the XLSX media type
//! choose the same; anything else is JSON.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format as CellFormat, Workbook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::csv::{Cell, CsvWriter};
use crate::{ApiError, ApiResult};

/// The media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How an export is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

/// The separator between CSV cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Delimiter {
    Comma,
    Semicolon,
}

/// The query parameters every export takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (the default), `csv` or `xlsx`. Without it, `Accept: text/csv` or the XLSX media
    /// type choose the same.
    #[param(inline)]
    pub format: Option<Format>,
    /// CSV only: `comma` (the default) or `semicolon` (Indonesian Excel; implies `bom`).
    #[param(inline)]
    pub delimiter: Option<Delimiter>,
    /// CSV only: start with a UTF-8 byte order mark, so Excel reads the text as UTF-8.
    pub bom: Option<bool>,
}

impl ExportParams {
    /// The format asked for, by the query first and `Accept` second.
    pub fn format(&self, request: &HttpRequest) -> Format {
        if let Some(format) = self.format {
            return format;
        }
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if accept.contains("text/csv") {
            Format::Csv
        } else if accept.contains(XLSX) {
            Format::Xlsx
        } else {
            Format::Json
        }
    }

    /// The CSV writer these parameters ask for (delimiter, byte order mark).
    pub fn csv_writer(&self) -> CsvWriter {
        let semicolon = self.delimiter == Some(Delimiter::Semicolon);
        let bom = self.bom.unwrap_or(semicolon);
        CsvWriter::with_options(if semicolon { ';' } else { ',' }, bom)
    }
}

/// One cell of an export table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// A count or an amount in whole units.
    Number(i64),
    /// An amount in rupiah: a number, shown with thousands separators in XLSX.
    Rupiah(i64),
    Date(NaiveDate),
    Bool(bool),
    Empty,
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Number(i64::from(v))
    }
}

impl From<crate::Rupiah> for Value {
    fn from(v: crate::Rupiah) -> Self {
        Value::Rupiah(v.get())
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Empty, Into::into)
    }
}

/// A table: a header and rows of the same width, as the CSV and the XLSX sheet show it.
#[derive(Debug, Clone)]
pub struct Table {
    /// The sheet's name in the workbook (at most 31 characters, no `[]:*?/\`).
    pub sheet: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    pub fn new(sheet: impl Into<String>, columns: &[&'static str]) -> Self {
        Self {
            sheet: sheet.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The table as CSV through the one formula-defusing writer.
    pub fn to_csv(&self, params: &ExportParams) -> String {
        let mut writer = params.csv_writer();
        writer.header(&self.columns);
        for row in &self.rows {
            csv_row(&mut writer, row);
        }
        writer.finish()
    }

    /// The table as a one-sheet XLSX workbook: a bold header row, frozen; text as strings
    /// (never formulas), numbers as numbers, rupiah with thousands separators, dates as dates.
    pub fn to_xlsx(&self) -> ApiResult<Vec<u8>> {
        xlsx(std::slice::from_ref(self))
    }
}

/// One row of values through the formula-defusing writer, as [`Table::to_csv`] writes each.
pub fn csv_row(writer: &mut CsvWriter, row: &[Value]) {
    let texts: Vec<String> = row
        .iter()
        .map(|value| match value {
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        })
        .collect();
    let cells: Vec<Cell<'_>> = row
        .iter()
        .zip(&texts)
        .map(|(value, text)| match value {
            Value::Text(t) => Cell::Text(t),
            Value::Number(n) | Value::Rupiah(n) => Cell::Number(*n),
            Value::Date(_) | Value::Bool(_) | Value::Empty => Cell::Text(text),
        })
        .collect();
    writer.row(&cells);
}

/// Several tables as the sheets of one workbook, in order.
pub fn xlsx(tables: &[Table]) -> ApiResult<Vec<u8>> {
    let mut workbook = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let rupiah = CellFormat::new().set_num_format("#,##0");
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet
            .set_name(sheet_name(&table.sheet))
            .map_err(ApiError::internal)?;
        for (col, name) in table.columns.iter().enumerate() {
            let col = u16::try_from(col).map_err(ApiError::internal)?;
            sheet
                .write_string_with_format(0, col, *name, &bold)
                .map_err(ApiError::internal)?;
            sheet
                .set_column_width(col, (name.len() + 4).max(12) as f64)
                .map_err(ApiError::internal)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(ApiError::internal)?;
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(ApiError::internal)?;
            for (c, value) in row.iter().enumerate() {
                let c = u16::try_from(c).map_err(ApiError::internal)?;
                let written = match value {
                    Value::Text(t) => sheet.write_string(r, c, t).map(|_| ()),
                    #[allow(clippy::cast_precision_loss)]
                    Value::Number(n) => sheet.write_number(r, c, *n as f64).map(|_| ()),
                    #[allow(clippy::cast_precision_loss)]
                    Value::Rupiah(n) => sheet
                        .write_number_with_format(r, c, *n as f64, &rupiah)
                        .map(|_| ()),
                    Value::Date(d) => sheet.write_date_with_format(r, c, d, &date).map(|_| ()),
                    Value::Bool(b) => sheet.write_boolean(r, c, *b).map(|_| ()),
                    Value::Empty => Ok(()),
                };
                written.map_err(ApiError::internal)?;
            }
        }
    }
    workbook.save_to_buffer().map_err(ApiError::internal)
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect();
    if cleaned.trim().is_empty() {
        "Sheet1".to_owned()
    } else {
        cleaned
    }
}

/// The answer to an export: `json` as it is, or the table as CSV or XLSX under `filename`
/// (without extension) as an attachment.
pub fn respond<T: Serialize>(
    request: &HttpRequest,
    params: &ExportParams,
    filename: &str,
    json: &T,
    table: impl FnOnce() -> Table,
) -> ApiResult<HttpResponse> {
    match params.format(request) {
        Format::Json => Ok(HttpResponse::Ok().json(json)),
        Format::Csv => Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("{filename}.csv"),
            table().to_csv(params).into_bytes(),
        )),
        Format::Xlsx => Ok(attachment(
            XLSX,
            &format!("{filename}.xlsx"),
            table().to_xlsx()?,
        )),
    }
}

/// About this many bytes of a streamed answer are handed to the client at a time.
pub const CHUNK_BYTES: usize = 32 * 1024;

/// Chunks handed over and not yet sent: with the one being written, a streamed answer holds
/// about three chunks however long it is.
const CHUNKS_AHEAD: usize = 2;

/// The writing end of a streamed answer ([`streamed`]): the producer appends to [`Chunks::buf`]
/// and calls [`Chunks::ready`] after each row, which hands a full chunk to the client and waits
/// while the client is behind.
pub struct Chunks {
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
    pub buf: Vec<u8>,
}

/// Why a streamed answer stopped before its end.
#[derive(Debug)]
pub enum Cut {
    /// The client went away; nothing is left to do.
    Gone,
    /// The answer could not be finished: the client gets a cut-off body (its length does not
    /// add up, chunked encoding ends without its last chunk), never a complete wrong one.
    Failed(ApiError),
}

impl<E: Into<ApiError>> From<E> for Cut {
    fn from(error: E) -> Self {
        Cut::Failed(error.into())
    }
}

impl Chunks {
    /// Hands the client a chunk once [`CHUNK_BYTES`] are written.
    pub async fn ready(&mut self) -> Result<(), Cut> {
        if self.buf.len() >= CHUNK_BYTES {
            self.send().await
        } else {
            Ok(())
        }
    }

    async fn send(&mut self) -> Result<(), Cut> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES + 1024));
        self.tx
            .send(Ok(bytes::Bytes::from(chunk)))
            .await
            .map_err(|_| Cut::Gone)
    }
}

/// A `200` answer written while it is made: `produce` runs in a task of its own and writes into
/// the [`Chunks`] it is given, returning them when done; the body is sent as it comes, so a
/// report of every ASN in the city is never held whole. `filename` makes it a download. Whatever
/// can fail before the first row (a bad filter, the first queries) should fail before this is
/// called, so it is answered with a problem.
pub fn streamed<F, Fut>(content_type: &str, filename: Option<&str>, produce: F) -> HttpResponse
where
    F: FnOnce(Chunks) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Chunks, Cut>> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    let chunks = Chunks {
        tx: tx.clone(),
        buf: Vec::with_capacity(CHUNK_BYTES + 1024),
    };
    tokio::spawn(async move {
        match produce(chunks).await {
            Ok(mut rest) => {
                if !rest.buf.is_empty() {
                    let _ = rest.send().await;
                }
            }
            Err(Cut::Gone) => tracing::debug!("the client left before a streamed answer ended"),
            Err(Cut::Failed(error)) => {
                tracing::error!(error = %error, "a streamed answer was cut off");
                let _ = tx
                    .send(Err(std::io::Error::other(
                        "the answer could not be finished",
                    )))
                    .await;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut answer = HttpResponse::Ok();
    answer.content_type(content_type.to_owned());
    if let Some(filename) = filename {
        answer.insert_header((header::CONTENT_DISPOSITION, disposition(filename)));
    }
    answer.streaming(body)
}

/// `attachment; filename="…"` with anything but letters, digits, `-`, `_` and `.` replaced.
fn disposition(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

/// A download: the body under `filename`, with the media type given.
pub fn attachment(content_type: &str, filename: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type.to_owned())
        .insert_header((header::CONTENT_DISPOSITION, disposition(filename)))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn table() -> Table {
        let mut t = Table::new("Penjualan", &["tanggal", "produk", "jumlah", "bruto"]);
        t.push(vec![
            NaiveDate::from_ymd_opt(2026, 3, 1).into(),
            "=cmd|' /C calc'!A0".into(),
            3i64.into(),
            Value::Rupiah(-45_000),
        ]);
        t
    }

    #[test]
    fn csv_defuses_formulas_and_keeps_numbers() {
        let csv = table().to_csv(&ExportParams::default());
        assert_eq!(
            csv,
            "tanggal,produk,jumlah,bruto\n2026-03-01,'=cmd|' /C calc'!A0,3,-45000\n"
        );
    }

    #[test]
    fn semicolon_brings_the_byte_order_mark() {
        let params = ExportParams {
            delimiter: Some(Delimiter::Semicolon),
            ..ExportParams::default()
        };
        let csv = table().to_csv(&params);
        assert!(
            csv.starts_with("\u{feff}tanggal;produk;jumlah;bruto\n"),
            "{csv}"
        );
        let no_bom = ExportParams {
            delimiter: Some(Delimiter::Semicolon),
            bom: Some(false),
            ..ExportParams::default()
        };
        assert!(table().to_csv(&no_bom).starts_with("tanggal;"));
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = table().to_xlsx().unwrap_or_default();
        assert!(bytes.starts_with(b"PK\x03\x04"), "not a zip");
        assert!(bytes.len() > 1000);
    }

    #[test]
    fn the_query_wins_over_accept() {
        let req = TestRequest::default()
            .insert_header((header::ACCEPT, "text/csv"))
            .to_http_request();
        assert_eq!(ExportParams::default().format(&req), Format::Csv);
        let params = ExportParams {
            format: Some(Format::Xlsx),
            ..ExportParams::default()
        };
        assert_eq!(params.format(&req), Format::Xlsx);
        let plain = TestRequest::default().to_http_request();
        assert_eq!(ExportParams::default().format(&plain), Format::Json);
    }

    #[tokio::test]
    async fn a_streamed_answer_comes_whole_or_visibly_cut_off() {
        use std::io::Write as _;
        let whole = streamed(
            "text/plain",
            Some("laporan bulan.txt"),
            |mut out| async move {
                for i in 0..20_000 {
                    writeln!(out.buf, "{i}").map_err(ApiError::internal)?;
                    out.ready().await?;
                }
                Ok(out)
            },
        );
        assert_eq!(
            whole
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok()),
            Some("attachment; filename=\"laporan_bulan.txt\"")
        );
        let body = actix_web::body::to_bytes(whole.into_body())
            .await
            .unwrap_or_default();
        let mut expected = String::new();
        for i in 0..20_000 {
            expected.push_str(&i.to_string());
            expected.push('\n');
        }
        assert!(body.len() > 3 * CHUNK_BYTES);
        assert_eq!(body, expected.as_bytes());

        let cut = streamed("text/plain", None, |mut out| async move {
            out.buf.resize(CHUNK_BYTES, b'x');
            out.ready().await?;
            Err(Cut::Failed(ApiError::internal(anyhow::anyhow!(
                "the database went away"
            ))))
        });
        assert!(
            actix_web::body::to_bytes(cut.into_body()).await.is_err(),
            "a failure after the first chunk must not look like a whole answer"
        );
    }

    #[test]
    fn sheet_names_are_made_acceptable() {
        assert_eq!(sheet_name("a/b:c"), "a-b-c");
        assert_eq!(sheet_name(""), "Sheet1");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }
}
