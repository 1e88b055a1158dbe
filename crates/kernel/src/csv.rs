//! The one CSV writer of every export (transfer files, reports, compliance rows).
//!
//! Text cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) are defused with a leading `'`, so a merchant-chosen account name
//! such as `=HYPERLINK(…)` reaches the treasurer's spreadsheet as text. Numbers the project
//! writes are [`Cell::Number`] and stay numbers, negative ones included. Cells holding the
//! delimiter, a quote or a line break are quoted (RFC 4180); lines end with `\n`.

/// One cell of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text from anywhere, clients included: defused when it could start a formula.
    Text(&'a str),
    /// A whole number the project computed (amounts in rupiah, counts).
    Number(i64),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(value: &'a str) -> Self {
        Cell::Text(value)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(value: &'a String) -> Self {
        Cell::Text(value)
    }
}

impl From<i64> for Cell<'_> {
    fn from(value: i64) -> Self {
        Cell::Number(value)
    }
}

impl From<crate::Rupiah> for Cell<'_> {
    fn from(value: crate::Rupiah) -> Self {
        Cell::Number(value.get())
    }
}

/// Writes rows into a `String`.
#[derive(Debug)]
pub struct CsvWriter {
    out: String,
    delimiter: char,
}

impl Default for CsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvWriter {
    /// Comma-separated, no byte order mark.
    pub fn new() -> Self {
        Self {
            out: String::new(),
            delimiter: ',',
        }
    }

    /// For spreadsheets that expect it: `delimiter` (`;` for locales whose decimal separator
    /// is a comma) and a UTF-8 byte order mark first.
    pub fn with_options(delimiter: char, bom: bool) -> Self {
        Self {
            out: if bom {
                "\u{feff}".to_owned()
            } else {
                String::new()
            },
            delimiter,
        }
    }

    /// A header line of plain names.
    pub fn header(&mut self, names: &[&str]) -> &mut Self {
        let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Text(n)).collect();
        self.row(&cells)
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> &mut Self {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(self.delimiter);
            }
            match cell {
                Cell::Number(n) => self.out.push_str(&n.to_string()),
                Cell::Text(text) => self.text(text),
            }
        }
        self.out.push('\n');
        self
    }

    fn text(&mut self, text: &str) {
        let defused = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let quoted = text.contains([self.delimiter, '"', '\n', '\r']);
        if quoted {
            self.out.push('"');
        }
        if defused {
            self.out.push('\'');
        }
        if quoted {
            self.out.push_str(&text.replace('"', "\"\""));
            self.out.push('"');
        } else {
            self.out.push_str(text);
        }
    }

    /// Moves what is written so far to the end of `out`, for an answer sent while it is
    /// written; the next rows continue in the same format (no second byte order mark).
    pub fn drain_into(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.out.as_bytes());
        self.out.clear();
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(cells: &[Cell<'_>]) -> String {
        let mut w = CsvWriter::new();
        w.row(cells);
        w.finish()
    }

    #[test]
    fn formulas_are_defused_and_numbers_stay_numbers() {
        assert_eq!(
            one(&[
                Cell::Text("=HYPERLINK(\"x\")"),
                Cell::Text("+62"),
                Cell::Text("-1"),
                Cell::Text("@SUM(A1)"),
                Cell::Text("\tx"),
                Cell::Number(-1500),
                Cell::Number(0),
            ]),
            "\"'=HYPERLINK(\"\"x\"\")\",'+62,'-1,'@SUM(A1),'\tx,-1500,0\n"
        );
        assert_eq!(one(&[Cell::Text("\r=1")]), "\"'\r=1\"\n");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(
            one(&[
                Cell::Text("a,b"),
                Cell::Text("say \"hi\""),
                Cell::Text("x\ny"),
                Cell::Text("plain")
            ]),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",plain\n"
        );
    }

    #[test]
    fn semicolons_and_a_byte_order_mark_on_request() {
        let mut w = CsvWriter::with_options(';', true);
        w.header(&["a", "b"])
            .row(&[Cell::Text("x;y"), Cell::Number(3)]);
        assert_eq!(w.finish(), "\u{feff}a;b\n\"x;y\";3\n");
    }
}
