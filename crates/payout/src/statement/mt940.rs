//! SWIFT MT940 customer statements.
//!
//! Fields start at the beginning of a line with `:tag:`; other lines continue the previous
//! field. Read here: `:20:` reference, `:25:` account, `:60F:`/`:60M:` opening balance, `:61:`
//! entries (value date `YYMMDD`, optional entry date `MMDD`, mark `D`/`C`/`RD`/`RC`, optional
//! funds code, amount with a decimal comma, transaction type, references), `:86:` the narrative
//! of the preceding entry, `:62F:`/`:62M:` closing balance. SWIFT envelope blocks (`{1:…}`) and
//! other tags are ignored.

use chrono::NaiveDate;

use super::{Direction, Line, LineError, MAX_DESCRIPTION, MAX_LINES, Statement, amount};

/// Whether a body looks like MT940 rather than CSV.
pub fn sniff(input: &str) -> bool {
    input
        .lines()
        .take(20)
        .any(|l| l.trim_start().starts_with(":20:") || l.contains("{4:"))
}

struct Field {
    tag: String,
    text: String,
    line: usize,
}

fn fields(input: &str) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for (i, raw) in input.lines().enumerate() {
        let mut line = raw.trim_end_matches('\r');
        // The text block of a SWIFT message opens with `{4:` and closes with `-}`.
        if let Some(pos) = line.find("{4:") {
            line = &line[pos + 3..];
        }
        if line.trim() == "-}" || line.trim() == "-" || line.starts_with("{1:") {
            continue;
        }
        if let Some(rest) = line.strip_prefix(':')
            && let Some(end) = rest.find(':')
            && (2..=3).contains(&end)
            && rest[..end].bytes().all(|b| b.is_ascii_alphanumeric())
        {
            out.push(Field {
                tag: rest[..end].to_owned(),
                text: rest[end + 1..].to_owned(),
                line: i + 1,
            });
        } else if let Some(last) = out.last_mut() {
            last.text.push('\n');
            last.text.push_str(line);
        }
    }
    out
}

fn yymmdd(text: &str) -> Option<NaiveDate> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r).and_then(|t| t.parse::<u32>().ok());
    NaiveDate::from_ymd_opt(2000 + n(0..2)? as i32, n(2..4)?, n(4..6)?)
}

/// An MT940 amount: digits with a decimal comma (`1500,00`, `1500,`), exact.
fn mt_amount(text: &str, line: usize, field: &str) -> Result<i64, LineError> {
    let text = text.trim();
    let text = text.strip_suffix(',').unwrap_or(text);
    if text.contains('.') {
        return Err(LineError {
            line,
            code: "invalid_amount",
            message: format!("{field}: MT940 amounts use a decimal comma"),
        });
    }
    amount(&text.replace(',', "."), line, field)
}

/// `:60F:`/`:62F:` balances: mark `C`/`D`, date `YYMMDD`, currency, amount.
fn balance(text: &str, line: usize, field: &str) -> Result<(NaiveDate, i64), LineError> {
    let bad = |message: &str| LineError {
        line,
        code: "invalid_balance",
        message: format!("{field}: {message}"),
    };
    let text = text.trim();
    let sign = match text.get(..1) {
        Some("C") => 1,
        Some("D") => -1,
        _ => return Err(bad("expected C or D")),
    };
    let date = text
        .get(1..7)
        .and_then(yymmdd)
        .ok_or_else(|| bad("expected a YYMMDD date"))?;
    let currency = text.get(7..10).unwrap_or("");
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("expected a currency code"));
    }
    let value = mt_amount(text.get(10..).unwrap_or(""), line, field)?;
    Ok((date, sign * value))
}

/// The `:61:` entry before its narrative: (value date, direction, amount, references).
fn entry(text: &str, line: usize) -> Result<(NaiveDate, Direction, i64, String), LineError> {
    let bad = |message: &str| LineError {
        line,
        code: "invalid_entry",
        message: format!(":61: {message}"),
    };
    let first = text.lines().next().unwrap_or("");
    let value_date = first
        .get(..6)
        .and_then(yymmdd)
        .ok_or_else(|| bad("expected a YYMMDD value date"))?;
    let mut rest = first.get(6..).unwrap_or("");
    // The optional entry date, MMDD.
    if rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        rest = &rest[4..];
    }
    let (direction, after) = if let Some(r) = rest.strip_prefix("RC") {
        (Direction::Debit, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        (Direction::Credit, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (Direction::Credit, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (Direction::Debit, r)
    } else {
        return Err(bad("expected a debit/credit mark (C, D, RC or RD)"));
    };
    // An optional funds code: the third letter of the currency.
    let after = match after.as_bytes().first() {
        Some(b) if b.is_ascii_uppercase() => &after[1..],
        _ => after,
    };
    let end = after
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(after.len());
    if end == 0 {
        return Err(bad("expected an amount"));
    }
    let value = mt_amount(&after[..end], line, ":61: amount")?;
    if value <= 0 {
        return Err(bad("the amount must be positive"));
    }
    let references = text[text.len().min(first.len())..].trim().to_owned();
    let tail = after[end..].to_owned();
    Ok((
        value_date,
        direction,
        value,
        format!("{tail} {references}").trim().to_owned(),
    ))
}

/// The bank's own reference of an entry (the account servicing institution's reference: what
/// follows `//` on the first line of `:61:`, at most 16 characters), from the line as stored;
/// `None` for a CSV line or an entry without one.
pub fn bank_reference(raw: &str) -> Option<String> {
    let first = raw.lines().next()?.strip_prefix(":61:")?;
    let (_, after) = first.split_once("//")?;
    let reference: String = after
        .trim()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(16)
        .collect();
    (!reference.is_empty()).then_some(reference)
}

/// Parses an MT940 statement. The account is the `:25:` field; one file may hold several
/// statements of the same account.
pub fn parse(input: &str) -> Result<Statement, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut account: Option<String> = None;
    let mut statement_ref = None;
    let mut opening = None;
    let mut closing = None;
    let mut lines: Vec<Line> = Vec::new();
    let mut pending: Option<(Line, usize)> = None;
    let finish = |pending: &mut Option<(Line, usize)>, lines: &mut Vec<Line>| {
        if let Some((line, _)) = pending.take() {
            lines.push(line);
        }
    };
    for field in fields(input) {
        match field.tag.as_str() {
            "20" => statement_ref = Some(field.text.trim().to_owned()),
            "25" => {
                let this = field.text.trim().to_owned();
                match &account {
                    Some(existing) if *existing != this => errors.push(LineError {
                        line: field.line,
                        code: "multiple_accounts",
                        message: "one file must hold statements of one account".into(),
                    }),
                    _ => account = Some(this),
                }
            }
            "60F" | "60M" => match balance(&field.text, field.line, ":60F:") {
                Ok((_, v)) => {
                    if opening.is_none() {
                        opening = Some(v);
                    }
                }
                Err(e) => errors.push(e),
            },
            "62F" | "62M" => {
                finish(&mut pending, &mut lines);
                match balance(&field.text, field.line, ":62F:") {
                    Ok(b) => closing = Some(b),
                    Err(e) => errors.push(e),
                }
            }
            "61" => {
                finish(&mut pending, &mut lines);
                if lines.len() >= MAX_LINES {
                    errors.push(LineError {
                        line: field.line,
                        code: "too_many_lines",
                        message: format!("a statement has at most {MAX_LINES} lines"),
                    });
                    break;
                }
                match entry(&field.text, field.line) {
                    Ok((value_date, direction, value, references)) => {
                        pending = Some((
                            Line {
                                line_no: lines.len() + 1,
                                value_date,
                                direction,
                                amount: value,
                                description: references,
                                balance: None,
                                raw: format!(":61:{}", field.text),
                            },
                            field.line,
                        ));
                    }
                    Err(e) => errors.push(e),
                }
            }
            "86" => {
                if let Some((line, _)) = pending.as_mut() {
                    let narrative = field.text.replace('\n', " ");
                    let joined = format!("{} {}", line.description, narrative);
                    line.description.clear();
                    line.description.push_str(joined.trim());
                    line.raw = format!("{}\n:86:{}", line.raw, field.text);
                }
            }
            _ => {}
        }
    }
    finish(&mut pending, &mut lines);
    for line in &lines {
        if line.description.chars().count() > MAX_DESCRIPTION {
            errors.push(LineError {
                line: line.line_no,
                code: "description_too_long",
                message: format!("narrative: at most {MAX_DESCRIPTION} characters"),
            });
        }
    }
    if statement_ref.is_none() && lines.is_empty() && closing.is_none() {
        errors.push(LineError {
            line: 1,
            code: "invalid_statement",
            message: "no MT940 fields (:20:, :61:, :62F:) found".into(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Statement {
        format: "mt940",
        account,
        statement_ref,
        opening_balance: opening,
        closing,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "{1:F01BMRIIDJAXXXX0000000000}{2:O9401200260302BMRIIDJAXXXX00000000002603021200N}{4:\r
:20:STMT20260302\r
:25:1230007654321\r
:28C:00061/001\r
:60F:C260301IDR1000000,00\r
:61:2603020302D100000,00NTRFPKN0123456789AB//BIFAST001\r
:86:TRF BIFAST KE 0987654321 TOKO SRI\r
PEKEN PKN0123456789AB\r
:61:260302C150000,NTRFNONREF\r
:86:SETORAN VA 8808123\r
:62F:C260302IDR1050000,00\r
-}";

    #[test]
    fn reads_entries_narratives_and_balances() {
        assert!(sniff(SAMPLE));
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.account.as_deref(), Some("1230007654321"));
        assert_eq!(s.statement_ref.as_deref(), Some("STMT20260302"));
        assert_eq!(s.opening_balance, Some(1_000_000));
        let (date, closing) = s.closing.unwrap();
        assert_eq!(
            (date.to_string(), closing),
            ("2026-03-02".into(), 1_050_000)
        );
        assert_eq!(s.lines.len(), 2);
        let debit = &s.lines[0];
        assert_eq!((debit.direction, debit.amount), (Direction::Debit, 100_000));
        assert!(debit.description.contains("PKN0123456789AB"));
        assert!(debit.description.contains("TOKO SRI PEKEN"));
        assert!(debit.raw.starts_with(":61:2603020302D100000,00"));
        assert!(debit.raw.contains("\n:86:TRF BIFAST"));
        let credit = &s.lines[1];
        assert_eq!(
            (credit.direction, credit.amount),
            (Direction::Credit, 150_000)
        );
        assert_eq!(credit.description, "NTRFNONREF SETORAN VA 8808123");
        assert_eq!(bank_reference(&debit.raw).as_deref(), Some("BIFAST001"));
        assert_eq!(bank_reference(&credit.raw), None);
    }

    #[test]
    fn the_bank_reference_is_what_follows_the_double_slash_of_61() {
        assert_eq!(
            bank_reference(":61:2603020302D5,00NTRFNONREF//B1\n:86:X//Y").as_deref(),
            Some("B1")
        );
        assert_eq!(
            bank_reference(":61:260302D5,00NTRFA//0123456789ABCDEFGH\nmore").as_deref(),
            Some("0123456789ABCDEF")
        );
        assert_eq!(bank_reference(":61:260302D5,00NTRFA//"), None);
        assert_eq!(bank_reference("2026-03-02,TRF //X,5.00,,"), None);
    }

    #[test]
    fn inexact_or_malformed_fields_are_refused() {
        let bad = ":20:X\n:25:1\n:61:260302D100,50NTRF\n:61:261302D100NTRF\n\
                   :61:260302X100NTRF\n:61:260302D1.000,00NTRF\n:62F:C260302IDRabc\n";
        let errors = parse(bad).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                "amount_has_fraction",
                "invalid_entry",
                "invalid_entry",
                "invalid_amount",
                "invalid_amount",
            ],
            "{errors:?}"
        );
        assert_eq!(parse("hello").unwrap_err()[0].code, "invalid_statement");
        let two_accounts = ":20:X\n:25:1\n:20:Y\n:25:2\n";
        assert_eq!(
            parse(two_accounts).unwrap_err()[0].code,
            "multiple_accounts"
        );
    }
}
