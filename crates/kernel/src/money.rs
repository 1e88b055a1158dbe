//! Whole-rupiah money and the single rounding rule used for tax.
//!
//! Amounts are signed 64-bit integers of whole rupiah. Every arithmetic operation is checked,
//! because an overflow in a ledger must become an error rather than a silently wrapped balance.
//! No floating-point value is used anywhere, not even while parsing bank files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

/// An amount of money in whole rupiah; negative values are debits, refunds and reversals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rupiah(i64);

/// Why a decimal amount could not be read exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error("amount is not a plain decimal number (digits, an optional sign and decimal point)")]
    Malformed,
    #[error("amount has a non-zero fraction of a rupiah")]
    Fraction,
    #[error("amount has more than two decimal places")]
    TooManyDecimals,
    #[error("amount is too large")]
    Overflow,
}

impl MoneyError {
    /// The stable machine-readable code sent to API clients.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Fraction => "amount_has_fraction",
            MoneyError::Empty
            | MoneyError::Malformed
            | MoneyError::TooManyDecimals
            | MoneyError::Overflow => "invalid_amount",
        }
    }
}

impl Rupiah {
    pub const ZERO: Rupiah = Rupiah(0);

    pub const fn new(amount: i64) -> Rupiah {
        Rupiah(amount)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Rupiah) -> Option<Rupiah> {
        self.0.checked_add(other.0).map(Rupiah)
    }

    pub fn checked_sub(self, other: Rupiah) -> Option<Rupiah> {
        self.0.checked_sub(other.0).map(Rupiah)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Rupiah> {
        self.0.checked_mul(factor).map(Rupiah)
    }

    pub fn checked_neg(self) -> Option<Rupiah> {
        self.0.checked_neg().map(Rupiah)
    }

    pub fn checked_abs(self) -> Option<Rupiah> {
        self.0.checked_abs().map(Rupiah)
    }

    /// The absolute value.
    ///
    /// `i64::MIN` has no positive counterpart, so it saturates to `i64::MAX`; no real amount comes
    /// within a factor of a million of that bound. Use [`Rupiah::checked_abs`] where the edge
    /// matters.
    #[must_use]
    pub fn abs(self) -> Rupiah {
        Rupiah(self.0.saturating_abs())
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Sums amounts, returning `None` if any intermediate total overflows.
    ///
    /// This replaces `std::iter::Sum`, which would have to panic or wrap on overflow.
    pub fn checked_sum<I>(amounts: I) -> Option<Rupiah>
    where
        I: IntoIterator<Item = Rupiah>,
    {
        amounts
            .into_iter()
            .try_fold(Rupiah::ZERO, Rupiah::checked_add)
    }

    /// Applies a rate in basis points (0.5% is 50) and rounds the result with
    /// [`round_half_up_div`], the tax rounding rule.
    pub fn apply_rate_bps(self, bps: u32) -> Option<Rupiah> {
        let product = i128::from(self.0) * i128::from(bps);
        round_half_up_div(product, 10_000).map(Rupiah)
    }

    /// Parses an amount as written in bank files and forms, exactly.
    ///
    /// Accepted: an optional `+` or `-`, one or more ASCII digits, and optionally a point followed
    /// by one or two digits that must all be zero (`1250000`, `1250000.0`, `-500.00`). Surrounding
    /// ASCII whitespace is ignored. Thousands separators are rejected rather than guessed, because
    /// `1.000` means one thousand in Indonesian writing and one in a bank file.
    pub fn parse_decimal(input: &str) -> Result<Rupiah, MoneyError> {
        let text = input.trim_ascii();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, unsigned) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Malformed);
        }
        if let Some(fraction) = fraction {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MoneyError::Malformed);
            }
            if fraction.len() > 2 {
                return Err(MoneyError::TooManyDecimals);
            }
            if fraction.bytes().any(|b| b != b'0') {
                return Err(MoneyError::Fraction);
            }
        }
        // The magnitude is accumulated as u64 so that `i64::MIN`, whose magnitude exceeds
        // `i64::MAX`, still parses.
        let magnitude = whole.bytes().try_fold(0_u64, |acc, digit| {
            acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        });
        let magnitude = magnitude.ok_or(MoneyError::Overflow)?;
        let value = if negative {
            0_i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.map(Rupiah).ok_or(MoneyError::Overflow)
    }

    /// Formats the amount the Indonesian way: `Rp1.250.000`, and `-Rp500` for negatives.
    pub fn format_idr(self) -> String {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 3);
        if self.0 < 0 {
            grouped.push('-');
        }
        grouped.push_str("Rp");
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(digit);
        }
        grouped
    }
}

/// Divides and rounds to the nearest whole number, halves away from zero.
///
/// This is the one rounding rule for tax (PER-11/PJ/2025: half up to whole rupiah). Negative
/// values round half away from zero so that the tax on a reversal is exactly the negation of the
/// tax on the original. Returns `None` if the denominator is not positive or the result does not
/// fit in an `i64`.
pub fn round_half_up_div(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator <= 0 {
        return None;
    }
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // Both sides are compared as u128 because doubling a remainder close to `i128::MAX` would
    // overflow i128, while it always fits in u128.
    let rounded = if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        quotient.checked_add(numerator.signum())?
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

impl fmt::Display for Rupiah {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Rupiah {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rupiah::parse_decimal(s)
    }
}

impl utoipa::PartialSchema for Rupiah {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("Amount in whole rupiah"))
            .examples([serde_json::json!(1_250_000)])
            .into()
    }
}

impl utoipa::ToSchema for Rupiah {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rp(amount: i64) -> Rupiah {
        Rupiah::new(amount)
    }

    #[test]
    fn parses_bank_amounts_exactly() {
        assert_eq!(Rupiah::parse_decimal("1250000"), Ok(rp(1_250_000)));
        assert_eq!(Rupiah::parse_decimal("1250000.00"), Ok(rp(1_250_000)));
        assert_eq!(Rupiah::parse_decimal("1250000.0"), Ok(rp(1_250_000)));
        assert_eq!(Rupiah::parse_decimal("-500.00"), Ok(rp(-500)));
        assert_eq!(Rupiah::parse_decimal("+42"), Ok(rp(42)));
        assert_eq!(Rupiah::parse_decimal(" \t10000.00\r\n"), Ok(rp(10_000)));
        assert_eq!(Rupiah::parse_decimal("007"), Ok(rp(7)));
        assert_eq!(Rupiah::parse_decimal("-0"), Ok(Rupiah::ZERO));
        assert_eq!(
            Rupiah::parse_decimal("-9223372036854775808"),
            Ok(rp(i64::MIN))
        );
        assert_eq!("99".parse::<Rupiah>(), Ok(rp(99)));
    }

    #[test]
    fn rejects_anything_inexact_or_ambiguous() {
        use MoneyError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("abc", Malformed),
            ("12a", Malformed),
            ("1,000", Malformed),
            ("1.000.000", Malformed),
            ("1e5", Malformed),
            ("1E5", Malformed),
            ("-", Malformed),
            ("+-1", Malformed),
            ("--1", Malformed),
            ("- 1", Malformed),
            (".50", Malformed),
            ("10.", Malformed),
            ("1 000", Malformed),
            ("١٢", Malformed),
            ("10.5", Fraction),
            ("10.05", Fraction),
            ("-0.50", Fraction),
            ("10.000", TooManyDecimals),
            ("10.123", TooManyDecimals),
            ("9223372036854775808", Overflow),
            ("-9223372036854775809", Overflow),
            ("99999999999999999999999", Overflow),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Rupiah::parse_decimal(input),
                Err(expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(MoneyError::Fraction.code(), "amount_has_fraction");
        assert_eq!(MoneyError::Malformed.code(), "invalid_amount");
        assert_eq!(MoneyError::Overflow.code(), "invalid_amount");
        assert_eq!(MoneyError::Empty.code(), "invalid_amount");
        assert_eq!(MoneyError::TooManyDecimals.code(), "invalid_amount");
    }

    #[test]
    fn formats_plain_and_indonesian() {
        assert_eq!(rp(-500).to_string(), "-500");
        assert_eq!(rp(1_250_000).format_idr(), "Rp1.250.000");
        assert_eq!(rp(-500).format_idr(), "-Rp500");
        assert_eq!(rp(0).format_idr(), "Rp0");
        assert_eq!(rp(1000).format_idr(), "Rp1.000");
        assert_eq!(rp(999).format_idr(), "Rp999");
        assert_eq!(rp(100_000).format_idr(), "Rp100.000");
        assert_eq!(rp(i64::MIN).format_idr(), "-Rp9.223.372.036.854.775.808");
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(rp(2).checked_add(rp(3)), Some(rp(5)));
        assert_eq!(rp(i64::MAX).checked_add(rp(1)), None);
        assert_eq!(rp(2).checked_sub(rp(3)), Some(rp(-1)));
        assert_eq!(rp(i64::MIN).checked_sub(rp(1)), None);
        assert_eq!(rp(7).checked_mul(3), Some(rp(21)));
        assert_eq!(rp(i64::MAX).checked_mul(2), None);
        assert_eq!(rp(5).checked_neg(), Some(rp(-5)));
        assert_eq!(rp(i64::MIN).checked_neg(), None);
        assert_eq!(rp(-5).abs(), rp(5));
        assert_eq!(rp(i64::MIN).checked_abs(), None);
        assert!(rp(-1).is_negative() && !rp(0).is_negative());
        assert!(rp(1).is_positive() && !rp(0).is_positive());
        assert_eq!(Rupiah::checked_sum([rp(1), rp(2), rp(3)]), Some(rp(6)));
        assert_eq!(Rupiah::checked_sum([]), Some(Rupiah::ZERO));
        assert_eq!(Rupiah::checked_sum([rp(i64::MAX), rp(1), rp(-5)]), None);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_up_div(5, 2), Some(3));
        assert_eq!(round_half_up_div(-5, 2), Some(-3));
        assert_eq!(round_half_up_div(7, 3), Some(2));
        assert_eq!(round_half_up_div(8, 3), Some(3));
        assert_eq!(round_half_up_div(-8, 3), Some(-3));
        assert_eq!(round_half_up_div(0, 7), Some(0));
        assert_eq!(round_half_up_div(1, 0), None);
        assert_eq!(round_half_up_div(1, -2), None);
        assert_eq!(round_half_up_div(i128::from(i64::MAX) + 1, 1), None);
        assert_eq!(round_half_up_div(i128::MAX, i128::MAX), Some(1));
        assert_eq!(round_half_up_div(i128::MIN, i128::MAX), Some(-1));
    }

    #[test]
    fn applies_tax_rates_in_basis_points() {
        // 0.5% of Rp1,250,000 is exactly Rp6,250.
        assert_eq!(rp(1_250_000).apply_rate_bps(50), Some(rp(6_250)));
        // 0.5% of Rp100 is Rp0.5, which rounds up to Rp1; the reversal mirrors it.
        assert_eq!(rp(100).apply_rate_bps(50), Some(rp(1)));
        assert_eq!(rp(-100).apply_rate_bps(50), Some(rp(-1)));
        // 0.5% of Rp99 is Rp0.495, which rounds down.
        assert_eq!(rp(99).apply_rate_bps(50), Some(rp(0)));
        assert_eq!(rp(i64::MAX).apply_rate_bps(20_000), None);
    }

    #[test]
    fn serialises_as_plain_integer_with_integer_schema() {
        assert_eq!(serde_json::to_string(&rp(-1500)).unwrap(), "-1500");
        assert_eq!(serde_json::from_str::<Rupiah>("2500").unwrap(), rp(2500));
        assert!(serde_json::from_str::<Rupiah>("2500.5").is_err());
        let schema = serde_json::to_value(<Rupiah as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "integer");
        assert_eq!(schema["format"], "int64");
    }

    fn reference_round(numerator: i128, denominator: i128) -> i128 {
        let magnitude = (2 * numerator.abs() + denominator) / (2 * denominator);
        numerator.signum() * magnitude
    }

    proptest! {
        #[test]
        fn integer_text_round_trips(n in any::<i64>()) {
            prop_assert_eq!(Rupiah::parse_decimal(&format!("{n}")), Ok(rp(n)));
            prop_assert_eq!(Rupiah::parse_decimal(&format!("{n}.00")), Ok(rp(n)));
            prop_assert_eq!(Rupiah::parse_decimal(&format!("{n}.0")), Ok(rp(n)));
            prop_assert_eq!(rp(n).to_string().parse::<Rupiah>(), Ok(rp(n)));
        }

        #[test]
        fn non_zero_fractions_are_rejected(n in any::<i64>(), fraction in 1_u32..100) {
            let two_digits = format!("{n}.{fraction:02}");
            prop_assert_eq!(Rupiah::parse_decimal(&two_digits), Err(MoneyError::Fraction));
            if fraction < 10 {
                let one_digit = format!("{n}.{fraction}");
                prop_assert_eq!(Rupiah::parse_decimal(&one_digit), Err(MoneyError::Fraction));
            }
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
            let _ = Rupiah::parse_decimal(&text);
        }

        #[test]
        fn formatted_idr_strips_back_to_the_number(n in any::<i64>()) {
            let stripped = rp(n).format_idr().replace(['.', 'R', 'p'], "");
            prop_assert_eq!(stripped, n.to_string());
        }

        #[test]
        fn rounding_matches_reference(
            numerator in -(1_i128 << 100)..(1_i128 << 100),
            denominator in 1_i128..(1_i128 << 20),
        ) {
            let expected = i64::try_from(reference_round(numerator, denominator)).ok();
            prop_assert_eq!(round_half_up_div(numerator, denominator), expected);
        }

        #[test]
        fn reversal_tax_mirrors_original(n in -(1_i64 << 50)..(1_i64 << 50), bps in 0_u32..10_000) {
            let original = rp(n).apply_rate_bps(bps).unwrap();
            let reversal = rp(-n).apply_rate_bps(bps).unwrap();
            prop_assert_eq!(reversal, original.checked_neg().unwrap());
        }

        #[test]
        fn checked_sum_matches_i128_sum(amounts in prop::collection::vec(any::<i64>(), 0..8)) {
            let exact: i128 = amounts.iter().copied().map(i128::from).sum();
            // An overflowing intermediate total is also rejected, so compare only on success.
            if let Some(total) = Rupiah::checked_sum(amounts.iter().copied().map(rp)) {
                prop_assert_eq!(i128::from(total.get()), exact);
            } else {
                prop_assert!(amounts.iter().try_fold(0_i64, |a, b| a.checked_add(*b)).is_none());
            }
        }
    }
}
