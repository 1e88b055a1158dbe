//! Bank statements: the parsed form shared by the CSV and MT940 readers, line digests for
//! deduplication, and reference extraction for matching.
//!
//! Parsing is exact (whole rupiah via `Rupiah::parse_decimal`, a non-zero fraction refused) and
//! total: any input, however hostile, yields either a statement or a list of bad lines, never a
//! panic.

pub mod csv;
pub mod mt940;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// Which way money moved on the collection account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Debit,
    Credit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Debit => "debit",
            Direction::Credit => "credit",
        }
    }
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Position in the file, from 1 (data lines for CSV, `:61:` entries for MT940).
    pub line_no: usize,
    pub value_date: NaiveDate,
    pub direction: Direction,
    /// Positive whole rupiah.
    pub amount: i64,
    /// The narrative, where the payout reference appears.
    pub description: String,
    /// The running balance after the line, when the bank gives one.
    pub balance: Option<i64>,
    /// The line as it appeared in the file.
    pub raw: String,
}

/// A parsed statement file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `csv` or `mt940`.
    pub format: &'static str,
    /// The account the statement is of, when the file says (`:25:`) or the uploader does.
    pub account: Option<String>,
    /// The statement's own reference (`:20:`).
    pub statement_ref: Option<String>,
    pub opening_balance: Option<i64>,
    /// The closing balance and its date (`:62F:`, or the last CSV line's balance).
    pub closing: Option<(NaiveDate, i64)>,
    pub lines: Vec<Line>,
}

/// A bad line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub code: &'static str,
    pub message: String,
}

/// At most this many lines per file; a month of a busy account stays far below it.
pub const MAX_LINES: usize = 200_000;
/// Descriptions longer than this are refused rather than stored.
pub const MAX_DESCRIPTION: usize = 2_000;

/// Collapses runs of whitespace to one space and trims, so that a re-export with different
/// spacing is the same line.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The digest that identifies each line across imports: the account, the line's content and its
/// occurrence number among identical lines of the same file (two equal transfers on one day
/// are two lines, and stay two lines when the file is imported again).
pub fn line_digests(account: Option<&str>, lines: &[Line]) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    lines
        .iter()
        .map(|line| {
            let content = format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                account.unwrap_or(""),
                line.value_date,
                line.direction.as_str(),
                line.amount,
                normalise(&line.description),
            );
            let occurrence = seen.entry(content.clone()).or_insert(0);
            *occurrence += 1;
            hex::encode(Sha256::digest(format!("{content}\u{1f}{occurrence}")))
        })
        .collect()
}

/// The digest of a whole statement's content: its account, its lines' digests in order and its
/// closing balance. The same statement imported again in any byte form has the same digest.
pub fn statement_digest(statement: &Statement, digests: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(statement.account.as_deref().unwrap_or("").as_bytes());
    for digest in digests {
        hasher.update([0x1f]);
        hasher.update(digest.as_bytes());
    }
    if let Some((date, balance)) = statement.closing {
        hasher.update(format!("\u{1e}{date}\u{1f}{balance}").as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The candidate payout references (`PKN` and 12 Crockford base32 characters) in a narrative, in
/// order, without repeats; the caller keeps those that exist. Case and surrounding text do not matter: banks upper-case, truncate
/// and pad remarks.
pub fn references_in(description: &str) -> Vec<String> {
    let upper = description.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let mut start = 0;
    while let Some(pos) = upper[start..].find("PKN") {
        let at = start + pos;
        let body = bytes.get(at + 3..at + 15);
        // Text glued to the end (`PKN…TOKO`) is allowed: only references that exist in the
        // database match anything, and an amount must agree as well.
        let valid = body.is_some_and(|b| {
            b.iter()
                .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"ILOU".contains(c)))
        });
        if valid
            && let Some(text) = upper.get(at..at + 15)
            && !found.iter().any(|f| f == text)
        {
            found.push(text.to_owned());
        }
        // Candidates may overlap (`PKNPKN…`); every one is looked up.
        start = at + 3;
    }
    found
}

/// The digits of a narrative, for finding an account number in it whatever the punctuation.
pub fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Reads a decimal amount exactly into positive whole rupiah, with the field's name in errors.
fn amount(text: &str, line: usize, field: &str) -> Result<i64, LineError> {
    peken_kernel::Rupiah::parse_decimal(text)
        .map(peken_kernel::Rupiah::get)
        .map_err(|e| LineError {
            line,
            code: e.code(),
            message: format!("{field}: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_inside_other_text() {
        assert_eq!(
            references_in("TRF BIFAST peken pkn0123456789ab / toko"),
            ["PKN0123456789AB"]
        );
        assert_eq!(
            references_in("PKN0123456789AB PKN0123456789AB PKNZZZZZZZZZZZZ"),
            ["PKN0123456789AB", "PKNZZZZZZZZZZZZ"]
        );
        // Too short, or with letters Crockford leaves out: not a reference.
        assert!(references_in("PKN0123456789A").is_empty());
        assert_eq!(references_in("PKN0123456789ABTOKO"), ["PKN0123456789AB"]);
        assert!(references_in("PKN0123456789AI").is_empty());
        assert!(references_in("PKPKN").is_empty());
        assert!(references_in("XPKNPKN0123456789AB").contains(&"PKN0123456789AB".to_owned()));
    }

    #[test]
    fn identical_lines_get_distinct_but_stable_digests() {
        let line = Line {
            line_no: 1,
            value_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            direction: Direction::Debit,
            amount: 5_000,
            description: "TRF  X".into(),
            balance: None,
            raw: String::new(),
        };
        let twice = vec![
            line.clone(),
            Line {
                line_no: 2,
                ..line.clone()
            },
        ];
        let digests = line_digests(Some("123"), &twice);
        assert_ne!(digests[0], digests[1]);
        assert_eq!(digests, line_digests(Some("123"), &twice));
        let respaced = Line {
            description: " TRF X ".into(),
            ..line
        };
        assert_eq!(line_digests(Some("123"), &[respaced])[0], digests[0]);
    }

    use proptest::prelude::*;

    fn mt940_field() -> impl Strategy<Value = String> {
        let tag = prop::sample::select(vec![
            ":20:", ":25:", ":28C:", ":60F:", ":61:", ":86:", ":62F:", ":64:", "", "{4:", "-}",
        ]);
        (tag, "[ -~\\u{a0}-\\u{17f}]{0,40}").prop_map(|(t, body)| format!("{t}{body}"))
    }

    // Any text, and amounts that read back exactly, are fuzzed in `crates/server/tests/fuzz`;
    // these two feed the parsers what they half expect.
    proptest! {
        #[test]
        fn mt940_parser_never_panics_on_field_soup(fields in prop::collection::vec(mt940_field(), 0..30)) {
            let text = fields.join("\r\n");
            if let Ok(statement) = mt940::parse(&text) {
                for line in statement.lines {
                    prop_assert!(line.amount > 0);
                }
            }
        }

        #[test]
        fn csv_parser_never_panics_on_cell_soup(
            rows in prop::collection::vec(prop::collection::vec("[-0-9.,\" a-zA-Z]{0,12}", 0..7), 0..20)
        ) {
            let mut text = String::from("value_date,description,debit,credit,balance\n");
            for row in rows {
                text.push_str(&row.join(","));
                text.push('\n');
            }
            let _ = csv::parse(&text, Some("1".into()));
        }
    }
}
