//! Uploaded tables (bulk imports): a CSV or XLSX file read into rows of text, each with the
//! line number a spreadsheet shows for it, so every problem can name its line.
//!
//! The kind is told by the bytes: a ZIP container is XLSX (its first sheet is read), anything
//! else must be UTF-8 CSV, with or without a byte order mark, separated by `,` or `;` (the one
//! the header line uses). Blank lines are skipped; cells are trimmed.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::ApiError;

/// One line of the table after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line (CSV) or row (XLSX) number as the file's editor shows it, the header being 1.
    pub number: usize,
    /// The cells, aligned with [`Upload::columns`]; missing trailing cells are empty.
    pub cells: Vec<String>,
}

/// A table read from an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The header's names, lower-cased and trimmed.
    pub columns: Vec<String>,
    pub lines: Vec<Line>,
}

impl Upload {
    /// The position of the column named `name` (any of `names`), if the header has it.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| names.iter().any(|n| c == n))
    }
}

/// Reads `bytes` as XLSX or CSV. An empty file, a file without a header, an unreadable
/// workbook or non-UTF-8 text is `422 unreadable_file`; more than `max_lines` lines is
/// `422 too_many_lines`.
pub fn read(bytes: &[u8], max_lines: usize) -> Result<Upload, ApiError> {
    let upload = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else {
        read_csv(bytes)?
    };
    if upload.columns.iter().all(String::is_empty) {
        return Err(unreadable("the file has no header line"));
    }
    if upload.lines.len() > max_lines {
        return Err(ApiError::unprocessable(
            "too_many_lines",
            format!("at most {max_lines} lines per file"),
        )
        .with_context(serde_json::json!({ "max_lines": max_lines })));
    }
    Ok(upload)
}

fn unreadable(detail: &str) -> ApiError {
    ApiError::unprocessable("unreadable_file", detail.to_owned())
}

fn read_csv(bytes: &[u8]) -> Result<Upload, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| unreadable("the file is neither XLSX nor UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(unreadable("the file holds NUL bytes"));
    }
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut columns = None;
    let mut lines = Vec::new();
    // Line breaks are counted from where the previous record's count stopped, so reading a
    // file stays linear in its size.
    let (mut counted_to, mut breaks) = (0_usize, 0_usize);
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(&format!("not valid CSV: {e}")))?;
        // The csv crate's own line count skips blank lines; the editor's does not.
        let start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        // A record's position is where the reader stood after the one before it, so the blank
        // lines between them come first.
        let bytes = text.as_bytes();
        let mut start = start.min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        if start > counted_to {
            #[expect(
                clippy::naive_bytecount,
                reason = "one upload's lines; not worth a crate for a faster count"
            )]
            let more = bytes[counted_to..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            breaks += more;
            counted_to = start;
        }
        let number = breaks + 1;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        match columns {
            None => columns = Some(cells.iter().map(|c| c.to_lowercase()).collect::<Vec<_>>()),
            Some(ref header) => lines.push(Line {
                number,
                cells: aligned(cells, header.len()),
            }),
        }
    }
    Ok(Upload {
        columns: columns.unwrap_or_default(),
        lines,
    })
}

fn read_xlsx(bytes: &[u8]) -> Result<Upload, ApiError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| unreadable(&format!("not a readable XLSX workbook: {e}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("the workbook has no sheet"))?
        .map_err(|e| unreadable(&format!("the first sheet cannot be read: {e}")))?;
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    let mut columns = None;
    let mut lines = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let number = first_row + i + 1;
        match columns {
            None => columns = Some(cells.iter().map(|c| c.to_lowercase()).collect::<Vec<_>>()),
            Some(ref header) => lines.push(Line {
                number,
                cells: aligned(cells, header.len()),
            }),
        }
    }
    Ok(Upload {
        columns: columns.unwrap_or_default(),
        lines,
    })
}

/// A cell as the text a person typed: whole numbers without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        #[allow(clippy::cast_possible_truncation)]
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn aligned(mut cells: Vec<String>, width: usize) -> Vec<String> {
    if cells.len() < width {
        cells.resize(width, String::new());
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Table, Value};

    #[test]
    fn csv_with_bom_and_semicolons_keeps_line_numbers() {
        let text = "\u{feff}Code;Price\n\nBERAS-5KG;65000\n;\nMINYAK;\"18.000\"\n";
        let upload = read(text.as_bytes(), 10).unwrap_or_else(|e| panic!("{}", e.code()));
        assert_eq!(upload.columns, vec!["code", "price"]);
        assert_eq!(upload.lines.len(), 2);
        assert_eq!(upload.lines[0].number, 3);
        assert_eq!(upload.lines[0].cells, vec!["BERAS-5KG", "65000"]);
        assert_eq!(upload.lines[1].number, 5);
        assert_eq!(upload.column(&["price", "harga"]), Some(1));
    }

    #[test]
    fn xlsx_reads_back_what_the_exporter_writes() {
        let mut table = Table::new("x", &["code", "price", "active"]);
        table.push(vec!["A-1".into(), Value::Rupiah(12_500), true.into()]);
        table.push(vec!["=1+1".into(), Value::Number(3), Value::Empty]);
        let bytes = table.to_xlsx().unwrap_or_default();
        let upload = read(&bytes, 10).unwrap_or_else(|e| panic!("{}", e.code()));
        assert_eq!(upload.columns, vec!["code", "price", "active"]);
        assert_eq!(upload.lines[0].number, 2);
        assert_eq!(upload.lines[0].cells, vec!["A-1", "12500", "true"]);
        assert_eq!(upload.lines[1].cells, vec!["=1+1", "3", ""]);
    }

    #[test]
    fn bad_files_are_refused_with_codes() {
        let code = |bytes: &[u8], max| read(bytes, max).err().map(|e| e.code().to_owned());
        assert_eq!(code(b"", 10).as_deref(), Some("unreadable_file"));
        assert_eq!(
            code(b"\xff\xfe\x00", 10).as_deref(),
            Some("unreadable_file")
        );
        assert_eq!(
            code(b"PK\x03\x04garbage", 10).as_deref(),
            Some("unreadable_file")
        );
        assert_eq!(code(b"a\n1\n2\n3\n", 2).as_deref(), Some("too_many_lines"));
        assert_eq!(code(b"a,b\n1,\0\n", 2).as_deref(), Some("unreadable_file"));
    }
}
