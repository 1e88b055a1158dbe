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
    pub format: Option<Format>,
    /// CSV only: `comma` (the default) or `semicolon` (Indonesian Excel; implies `bom`).
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

    fn csv_writer(&self) -> CsvWriter {
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
        writer.finish()
    }

    /// The table as a one-sheet XLSX workbook: a bold header row, frozen; text as strings
    /// (never formulas), numbers as numbers, rupiah with thousands separators, dates as dates.
    pub fn to_xlsx(&self) -> ApiResult<Vec<u8>> {
        xlsx(std::slice::from_ref(self))
    }
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

/// A download: the body under `filename`, with the media type given.
pub fn attachment(content_type: &str, filename: &str, body: Vec<u8>) -> HttpResponse {
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
    HttpResponse::Ok()
        .content_type(content_type.to_owned())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}\""),
        ))
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

    #[test]
    fn sheet_names_are_made_acceptable() {
        assert_eq!(sheet_name("a/b:c"), "a-b-c");
        assert_eq!(sheet_name(""), "Sheet1");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }
}
