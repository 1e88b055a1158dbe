//! Reading numbers and search text from requests.
//!
//! Money and quantities arrive as JSON values and are read here instead of by serde, so that
//! `"price": 1000.5` becomes a field error with a stable code (`amount_has_fraction`) rather
//! than a generic body error, and no JSON number is ever turned into a float.

use peken_kernel::error::Validation;
use peken_kernel::{ApiError, Rupiah};
use serde_json::Value;

/// A whole, strictly positive amount of rupiah, at most `max`.
pub fn positive_rupiah(v: &mut Validation, field: &str, value: &Value, max: i64) -> Option<Rupiah> {
    let amount = integer(v, field, value, "amount_has_fraction", "invalid_amount")?;
    if amount <= 0 {
        v.push(
            field,
            "amount_not_positive",
            format!("{field} must be more than zero"),
        );
        return None;
    }
    if amount > max {
        v.push(
            field,
            "amount_too_large",
            format!("{field} must be at most {max}"),
        );
        return None;
    }
    Some(Rupiah::new(amount))
}

/// A whole number within `min..=max` (stock, quantities, limits).
pub fn whole_number(
    v: &mut Validation,
    field: &str,
    value: &Value,
    min: i64,
    max: i64,
) -> Option<i64> {
    let n = integer(v, field, value, "not_an_integer", "not_an_integer")?;
    if (min..=max).contains(&n) {
        Some(n)
    } else {
        v.push(
            field,
            "out_of_range",
            format!("{field} must be from {min} to {max}"),
        );
        None
    }
}

/// A JSON integer; a number with a fraction (or written as a decimal) gets `fraction_code`,
/// anything else `other_code`.
fn integer(
    v: &mut Validation,
    field: &str,
    value: &Value,
    fraction_code: &str,
    other_code: &str,
) -> Option<i64> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if n.is_f64() {
                v.push(
                    field,
                    fraction_code,
                    format!("{field} must be a whole number, written without a decimal point"),
                );
                None
            } else {
                v.push(field, other_code, format!("{field} is out of range"));
                None
            }
        }
        Value::Null => {
            v.push(field, "required", format!("{field} is required"));
            None
        }
        _ => {
            v.push(field, other_code, format!("{field} must be a JSON integer"));
            None
        }
    }
}

pub use peken_kernel::patch::present;

/// The most words a search may have; more would only slow the query down.
pub const MAX_SEARCH_WORDS: usize = 8;

/// Lowercased words of letters and digits: how names are stored for search and how queries are
/// read. Punctuation separates words, so `Toko "Maju-Jaya"` is `toko maju jaya`.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of a search query, or a 422 when there are too many or they are too long.
pub fn query_words(q: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(q) = q else {
        return Ok(Vec::new());
    };
    let words = search_words(q);
    if words.len() > MAX_SEARCH_WORDS || words.iter().any(|w| w.chars().count() > 40) {
        return Err(ApiError::field(
            "q",
            "query_too_long",
            format!("a search has at most {MAX_SEARCH_WORDS} words of at most 40 characters"),
        ));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_must_be_a_positive_json_integer() {
        let mut v = Validation::new();
        assert_eq!(
            positive_rupiah(&mut v, "price", &json!(15_000), 1_000_000),
            Some(Rupiah::new(15_000))
        );
        assert!(v.is_empty());
        for (value, code) in [
            (json!(1000.5), "amount_has_fraction"),
            (json!(1000.0), "amount_has_fraction"),
            (json!(0), "amount_not_positive"),
            (json!(-5), "amount_not_positive"),
            (json!("1000"), "invalid_amount"),
            (json!(2_000_000), "amount_too_large"),
            (json!(null), "required"),
        ] {
            let mut v = Validation::new();
            assert_eq!(positive_rupiah(&mut v, "price", &value, 1_000_000), None);
            let err = v
                .finish()
                .expect_err("refused")
                .problem(peken_kernel::problems::Lang::Id);
            assert_eq!(err.errors[0].code, code, "{value}");
        }
    }

    #[test]
    fn whole_numbers_are_bounded() {
        let mut v = Validation::new();
        assert_eq!(whole_number(&mut v, "stock", &json!(0), 0, 10), Some(0));
        assert_eq!(whole_number(&mut v, "stock", &json!(11), 0, 10), None);
        assert_eq!(whole_number(&mut v, "stock", &json!(1.5), 0, 10), None);
        let codes: Vec<_> = v
            .finish()
            .expect_err("two errors")
            .problem(peken_kernel::problems::Lang::Id)
            .errors
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, ["out_of_range", "not_an_integer"]);
    }

    #[test]
    fn search_text_is_lowercase_words() {
        assert_eq!(
            search_words("Minyak Goreng (1 L) Toko \"Maju-Jaya\""),
            ["minyak", "goreng", "1", "l", "toko", "maju", "jaya"]
        );
        assert_eq!(
            query_words(Some("  BERAS  premium ")).expect("ok"),
            ["beras", "premium"]
        );
        assert!(query_words(Some("a b c d e f g h i")).is_err());
    }
}
