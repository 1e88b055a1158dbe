//! The bank's account history as CSV: `value_date,description,debit,credit,balance`.
//!
//! Columns are found by header name (any order, any case, a byte-order mark tolerated). Amounts
//! are plain decimals with at most two zero decimals; an empty cell is zero; each line is either
//! a debit or a credit.

use peken_kernel::period::parse_date;

use super::{Direction, Line, LineError, MAX_DESCRIPTION, MAX_LINES, Statement, amount};

const COLUMNS: [&str; 5] = ["value_date", "description", "debit", "credit", "balance"];

/// Parses a CSV statement; `account` is what the uploader says the statement is of.
pub fn parse(input: &str, account: Option<String>) -> Result<Statement, Vec<LineError>> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input.as_bytes());
    let header_error = |message: String| {
        vec![LineError {
            line: 1,
            code: "invalid_header",
            message,
        }]
    };
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("unreadable header: {e}")))?
        .clone();
    let mut index = [usize::MAX; 5];
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if let Some(col) = COLUMNS.iter().position(|c| *c == name) {
            index[col] = i;
        }
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .zip(index)
        .filter(|(_, i)| *i == usize::MAX)
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(header_error(format!(
            "the header must name {}; missing {}",
            COLUMNS.join(","),
            missing.join(",")
        )));
    }

    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut record = ::csv::StringRecord::new();
    let mut data_line = 0;
    // Line numbers are counted from the text itself: the reader's position sits on the line
    // terminator before a record, and quoted fields may span lines.
    let mut counted_to = 0;
    let mut newlines = 0;
    loop {
        let position = reader.position().byte() as usize;
        let read = reader.read_record(&mut record);
        let end = (reader.position().byte() as usize).min(input.len());
        let start = input
            .get(position..end)
            .map_or(end, |t| end - t.trim_start_matches(['\r', '\n']).len());
        newlines += input
            .get(counted_to..start)
            .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count());
        counted_to = start;
        let line_no = newlines + 1;
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(LineError {
                    line: line_no,
                    code: "malformed_line",
                    message: format!("unreadable CSV: {e}"),
                });
                break;
            }
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        data_line += 1;
        if data_line > MAX_LINES {
            errors.push(LineError {
                line: line_no,
                code: "too_many_lines",
                message: format!("a statement has at most {MAX_LINES} lines"),
            });
            break;
        }
        let raw = input
            .get(start..end)
            .unwrap_or_default()
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        match line(&record, &index, line_no, data_line, raw) {
            Ok(line) => lines.push(line),
            Err(mut bad) => errors.append(&mut bad),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let closing = lines
        .last()
        .and_then(|l| l.balance.map(|b| (l.value_date, b)));
    let opening_balance = lines.first().and_then(|l| {
        let signed = match l.direction {
            Direction::Debit => l.amount,
            Direction::Credit => -l.amount,
        };
        l.balance.and_then(|b| b.checked_add(signed))
    });
    Ok(Statement {
        format: "csv",
        account,
        statement_ref: None,
        opening_balance,
        closing,
        lines,
    })
}

fn line(
    record: &::csv::StringRecord,
    index: &[usize; 5],
    line_no: usize,
    data_line: usize,
    raw: String,
) -> Result<Line, Vec<LineError>> {
    let field = |col: usize| record.get(index[col]).unwrap_or("").trim();
    let mut errors = Vec::new();
    let value_date = match parse_date(field(0)) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(LineError {
                line: line_no,
                code: "invalid_date",
                message: format!("value_date: {e}"),
            });
            None
        }
    };
    let description = field(1).to_owned();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(LineError {
            line: line_no,
            code: "description_too_long",
            message: format!("description: at most {MAX_DESCRIPTION} characters"),
        });
    }
    let mut money = |col: usize, name: &str| -> Option<i64> {
        let text = field(col);
        if text.is_empty() {
            return Some(0);
        }
        match amount(text, line_no, name) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    let debit = money(2, "debit");
    let credit = money(3, "credit");
    let balance = if field(4).is_empty() {
        Some(None)
    } else {
        money(4, "balance").map(Some)
    };
    let mut direction = None;
    if let (Some(debit), Some(credit)) = (debit, credit) {
        direction = match (debit, credit) {
            (d, 0) if d > 0 => Some((Direction::Debit, d)),
            (0, c) if c > 0 => Some((Direction::Credit, c)),
            _ => {
                errors.push(LineError {
                    line: line_no,
                    code: "invalid_amount",
                    message: "exactly one of debit and credit must be a positive amount".into(),
                });
                None
            }
        };
    }
    match (value_date, direction, balance) {
        (Some(value_date), Some((direction, amount)), Some(balance)) if errors.is_empty() => {
            Ok(Line {
                line_no: data_line,
                value_date,
                direction,
                amount,
                description,
                balance,
                raw,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_balances_and_raw_text() {
        let text = "\u{feff}Value_Date,Description,Debit,Credit,Balance\r\n\
                    2026-03-02,SETORAN VA 8808123,,150000.00,1150000.00\r\n\
                    2026-03-02,\"TRF BIFAST PEKEN PKN0123456789AB, TOKO\",100000,,1050000\r\n\
                    \r\n";
        let statement = parse(text, Some("1234567890".into())).unwrap();
        assert_eq!(statement.lines.len(), 2);
        let credit = &statement.lines[0];
        assert_eq!(
            (credit.direction, credit.amount, credit.balance),
            (Direction::Credit, 150_000, Some(1_150_000))
        );
        let debit = &statement.lines[1];
        assert_eq!((debit.direction, debit.amount), (Direction::Debit, 100_000));
        assert_eq!(debit.description, "TRF BIFAST PEKEN PKN0123456789AB, TOKO");
        assert!(debit.raw.starts_with("2026-03-02,\"TRF"));
        assert!(!debit.raw.ends_with('\n'));
        assert_eq!(statement.opening_balance, Some(1_000_000));
        assert_eq!(
            statement.closing.map(|(d, b)| (d.to_string(), b)),
            Some(("2026-03-02".into(), 1_050_000))
        );
    }

    #[test]
    fn bad_lines_are_all_reported_with_codes() {
        let text = "value_date,description,debit,credit,balance\n\
                    2026-02-30,x,100,,\n\
                    2026-03-01,x,100.50,,\n\
                    2026-03-01,x,100,200,\n\
                    2026-03-01,x,,,\n\
                    2026-03-01,x,1.000,,\n\
                    2026-03-01,x,-5,,\n";
        let errors = parse(text, None).unwrap_err();
        let codes: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(
            codes,
            [
                (2, "invalid_date"),
                (3, "amount_has_fraction"),
                (4, "invalid_amount"),
                (5, "invalid_amount"),
                (6, "invalid_amount"),
                (7, "invalid_amount"),
            ]
        );
        assert_eq!(
            parse("date,amount\n2026-01-01,5\n", None).unwrap_err()[0].code,
            "invalid_header"
        );
    }
}
