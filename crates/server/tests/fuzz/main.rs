//! Property fuzzing of the parsers that read what outsiders write: bank statements (CSV and
//! MT940), money amounts, and the identifiers (NIK, NIP, NI PPPK, NIB, NPWP, region codes).
//! Each parser must never panic, must agree with a small reference written here from the rules
//! in the domain brief, and must give back exactly what was written (no float anywhere: amounts
//! above 2^53 come back to the rupiah).
//!
//! `cargo test` runs `PEKEN_FUZZ_CASES` cases per property (default 1,000); `scripts/fuzz.sh`
//! runs a million per property in release mode. Figures are in `RELIABILITY.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed expectation is a failed test"
)]

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use peken_kernel::Rupiah;
use peken_kernel::ids::{NiPppk, Nib, Nik, Nip, Npwp, RegionCode};
use peken_kernel::money::MoneyError;
use peken_payout::statement::{Direction, csv, mt940, references_in};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    let cases = std::env::var("PEKEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    Config {
        cases,
        // A failure prints its minimal case; nothing is written next to the sources.
        failure_persistence: None,
        ..Config::default()
    }
}

/// The amount grammar of the domain brief, computed in `i128`: an optional sign, digits, and
/// optionally a point with one or two zeros. `None` when it is not an amount or out of range.
fn reference_amount(text: &str) -> Option<Result<i64, ()>> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.contains('.')
        && (fraction.is_empty() || fraction.len() > 2 || fraction.bytes().any(|b| b != b'0'))
    {
        return None;
    }
    let mut value: i128 = 0;
    for digit in whole.bytes() {
        value = value * 10 + i128::from(digit - b'0');
        if value > i128::from(u64::MAX) {
            return Some(Err(()));
        }
    }
    let value = if negative { -value } else { value };
    Some(i64::try_from(value).map_err(|_| ()))
}

/// The NIK rules of the domain brief, checked independently of the kernel.
fn reference_nik(digits: &str) -> bool {
    let n = |range: std::ops::Range<usize>| digits[range].parse::<u32>().unwrap();
    let coded_day = n(6..8);
    let day = if coded_day > 40 {
        coded_day - 40
    } else {
        coded_day
    };
    digits.len() == 16
        && (11..=94).contains(&n(0..2))
        && n(2..4) != 0
        && n(4..6) != 0
        && NaiveDate::from_ymd_opt(2000, n(8..10), day).is_some()
        && n(12..16) != 0
}

fn date_in(days: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(u64::from(days))
}

/// A description a bank might write: letters, digits, spaces, commas and quotes, sometimes a
/// payout reference.
fn description() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9 ,.\"/-]{0,30}",
        proptest::option::of("[0-9A-HJKMNP-TV-Z]{12}"),
    )
        .prop_map(|(text, reference)| {
            let text = match reference {
                Some(r) => format!("{text} PKN{r} TOKO"),
                None => text,
            };
            // What the parser keeps: whitespace runs collapsed, no ends.
            let kept = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if kept.is_empty() {
                "TRF".to_owned()
            } else {
                kept
            }
        })
}

proptest! {
    #![proptest_config(config())]

    // ----- money -----

    #[test]
    fn amounts_never_panic_and_agree_with_the_reference(
        text in prop_oneof![
            "\\PC{0,24}",
            "[ +-]?[0-9]{0,21}([.,][0-9]{0,3})?[ ]?",
        ]
    ) {
        let parsed = Rupiah::parse_decimal(&text);
        match reference_amount(&text) {
            Some(Ok(value)) => prop_assert_eq!(parsed.map(Rupiah::get), Ok(value)),
            Some(Err(())) => prop_assert_eq!(parsed, Err(MoneyError::Overflow)),
            None => prop_assert!(parsed.is_err(), "{text:?} read as {parsed:?}"),
        }
    }

    #[test]
    fn every_whole_amount_round_trips_exactly(
        value in any::<i64>(),
        suffix in prop::sample::select(vec!["", ".0", ".00"]),
        plus in any::<bool>(),
    ) {
        let sign = if plus && value >= 0 { "+" } else { "" };
        let text = format!("{sign}{value}{suffix}");
        prop_assert_eq!(Rupiah::parse_decimal(&text).map(Rupiah::get), Ok(value));
    }

    #[test]
    fn a_fraction_of_a_rupiah_is_refused(value in 0_i64..i64::MAX, cents in 1_u32..100) {
        let text = format!("{value}.{cents:02}");
        prop_assert_eq!(Rupiah::parse_decimal(&text), Err(MoneyError::Fraction));
    }

    // ----- identifiers -----

    #[test]
    fn identifier_parsers_never_panic(text in "\\PC{0,24}|[0-9 .-]{0,24}") {
        let _ = Nik::parse(&text);
        let _ = Nip::parse(&text);
        let _ = NiPppk::parse(&text);
        let _ = Nib::parse(&text);
        let _ = Npwp::parse(&text);
        let _ = RegionCode::parse(&text);
    }

    #[test]
    fn a_nik_is_accepted_exactly_when_the_rules_say(digits in "[0-9]{16}") {
        match Nik::parse(&digits) {
            Ok(nik) => {
                prop_assert!(reference_nik(&digits), "{digits} accepted");
                prop_assert_eq!(nik.expose(), digits.as_str());
                prop_assert_eq!(Nik::parse(nik.expose()).unwrap(), nik.clone());
                // Shown anywhere, it is masked.
                for shown in [format!("{nik}"), format!("{nik:?}"), nik.masked()] {
                    prop_assert!(!shown.contains(&digits[4..12]), "{shown}");
                }
            }
            Err(_) => prop_assert!(!reference_nik(&digits), "{digits} refused"),
        }
    }

    #[test]
    fn a_nip_is_accepted_exactly_when_the_rules_say(
        (year, month, day) in (1930_u32..2026, 0_u32..14, 0_u32..33),
        (appointed, appointed_month) in (1950_u32..2110, 0_u32..14),
        (sex, seq) in (0_u32..4, 0_u32..1000),
    ) {
        let nip = format!("{year}{month:02}{day:02}{appointed}{appointed_month:02}{sex}{seq:03}");
        // The rules of the domain brief: a real birth date (years 1940-2015), a real month of
        // appointment at 15 or older (years 1960-2100), sex 1 or 2, a sequence from 001.
        let born = NaiveDate::from_ymd_opt(year as i32, month, day);
        let valid = born.is_some_and(|b| (1940..=2015).contains(&b.year()))
            && (1..=12).contains(&appointed_month)
            && (1960..=2100).contains(&appointed)
            && appointed >= year + 15
            && (1..=2).contains(&sex)
            && seq != 0;
        match Nip::parse(&nip) {
            Ok(parsed) => {
                prop_assert!(valid, "{nip} accepted");
                prop_assert_eq!(parsed.as_str(), nip.as_str());
                prop_assert_eq!(Some(parsed.birth_date()), born);
            }
            Err(_) => prop_assert!(!valid, "{nip} refused"),
        }
    }

    #[test]
    fn an_old_npwp_is_normalised_and_every_npwp_round_trips(digits in "[0-9]{15,16}") {
        if let Ok(npwp) = Npwp::parse(&digits) {
            let expected = if digits.len() == 15 { format!("0{digits}") } else { digits.clone() };
            prop_assert_eq!(npwp.as_str(), expected.as_str());
            prop_assert_eq!(Npwp::parse(npwp.as_str()).unwrap(), npwp.clone());
        }
    }

    #[test]
    fn nib_and_region_codes_round_trip(nib in "[0-9]{13}", kec in 1_u32..100, kel in 1_u32..1000) {
        if let Ok(parsed) = Nib::parse(&nib) {
            prop_assert_eq!(parsed.as_str(), nib.as_str());
        }
        for code in [format!("35.78.{kec:02}"), format!("35.78.{kec:02}.1{kel:03}")] {
            if let Ok(parsed) = RegionCode::parse(&code) {
                prop_assert_eq!(parsed.as_str(), code.as_str());
                prop_assert_eq!(RegionCode::parse(parsed.as_str()).unwrap(), parsed.clone());
            }
        }
    }

    // ----- bank statements -----

    #[test]
    fn statement_parsers_never_panic(text in "\\PC{0,300}|[:0-9A-Z,.\\r\\n{}-]{0,300}") {
        let _ = csv::parse(&text, None);
        let _ = mt940::parse(&text);
        let _ = mt940::sniff(&text);
        let _ = references_in(&text);
    }

    #[test]
    fn a_csv_statement_reads_back_exactly(
        lines in prop::collection::vec(
            (0_u32..10_000, any::<bool>(), 1_i64..=i64::MAX / 4, description(),
             prop::sample::select(vec!["", ".0", ".00"]), any::<Option<i64>>()),
            1..25,
        )
    ) {
        let mut writer = ::csv::Writer::from_writer(Vec::new());
        writer.write_record(["value_date", "description", "debit", "credit", "balance"]).unwrap();
        for (day, debit, amount, text, suffix, balance) in &lines {
            let cell = format!("{amount}{suffix}");
            let (d, c) = if *debit { (cell, String::new()) } else { (String::new(), cell) };
            let balance = balance.map(|b| b.to_string()).unwrap_or_default();
            writer
                .write_record([&date_in(*day).to_string(), text, &d, &c, &balance])
                .unwrap();
        }
        let written = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let parsed = csv::parse(&written, None)
            .map_err(|e| TestCaseError::fail(format!("{e:?}\n{written}")))?;
        prop_assert_eq!(parsed.lines.len(), lines.len());
        for ((day, debit, amount, text, _, balance), line) in lines.iter().zip(&parsed.lines) {
            let direction = if *debit { Direction::Debit } else { Direction::Credit };
            prop_assert_eq!(line.value_date, date_in(*day));
            prop_assert_eq!((line.direction, line.amount), (direction, *amount));
            prop_assert_eq!(line.balance, *balance);
            prop_assert_eq!(&line.description, text);
        }
    }

    #[test]
    fn a_csv_line_with_a_fraction_of_a_rupiah_is_refused(
        amount in 1_i64..1_000_000_000_000,
        cents in 1_u32..100,
        at in 0_usize..5,
    ) {
        let mut text = String::from("value_date,description,debit,credit,balance\n");
        for i in 0..5 {
            let cell = if i == at { format!("{amount}.{cents:02}") } else { amount.to_string() };
            writeln!(text, "2026-03-0{},TRF,{cell},,", i + 1).unwrap();
        }
        let errors = csv::parse(&text, None).expect_err("a fraction must be refused");
        prop_assert!(errors.iter().any(|e| e.line == at + 2), "{errors:?}");
    }

    #[test]
    fn an_mt940_statement_reads_back_exactly(
        lines in prop::collection::vec(
            (0_u32..10_000, any::<bool>(), 1_i64..=i64::MAX / 4, description(),
             prop::sample::select(vec![",", ",0", ",00"]), any::<bool>()),
            1..25,
        ),
        closing in 0_i64..=i64::MAX / 4,
    ) {
        let mut text = String::from(":20:STMT1\r\n:25:1234567890\r\n:28C:1/1\r\n:60F:C000101IDR0,00\r\n");
        for (day, debit, amount, narrative, comma, entry_date) in &lines {
            let date = date_in(*day);
            let entry = if *entry_date { date.format("%m%d").to_string() } else { String::new() };
            let mark = if *debit { "D" } else { "C" };
            write!(
                text,
                ":61:{}{entry}{mark}{amount}{comma}NTRFNONREF//B{day}\r\n:86:{narrative}\r\n",
                date.format("%y%m%d")
            )
            .unwrap();
        }
        let last = date_in(lines.iter().map(|l| l.0).max().unwrap_or(0));
        write!(text, ":62F:C{}IDR{closing},00\r\n-}}", last.format("%y%m%d")).unwrap();
        let parsed = mt940::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(parsed.account.as_deref(), Some("1234567890"));
        prop_assert_eq!(parsed.closing, Some((last, closing)));
        prop_assert_eq!(parsed.lines.len(), lines.len());
        for ((day, debit, amount, narrative, _, _), line) in lines.iter().zip(&parsed.lines) {
            let date = date_in(*day);
            // Two-digit years are read in this century or the last; compare day of year and
            // the last two digits of the year.
            prop_assert_eq!(
                (line.value_date.ordinal(), line.value_date.year() % 100),
                (date.ordinal(), date.year() % 100)
            );
            let direction = if *debit { Direction::Debit } else { Direction::Credit };
            prop_assert_eq!((line.direction, line.amount), (direction, *amount));
            for reference in references_in(narrative) {
                prop_assert!(references_in(&line.description).contains(&reference));
            }
        }
    }

    #[test]
    fn an_mt940_amount_with_cents_is_refused(amount in 1_i64..1_000_000_000_000, cents in 1_u32..100) {
        let text = format!(
            ":20:S\r\n:25:1\r\n:61:260302D{amount},{cents:02}NTRFNONREF\r\n:86:TRF\r\n:62F:C260302IDR0,00\r\n"
        );
        prop_assert!(mt940::parse(&text).is_err());
    }
}
