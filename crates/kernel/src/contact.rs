//! Indonesian phone numbers and map coordinates, as buyers type them into an address.

use crate::Validation;

/// An Indonesian phone number in E.164 form (`+62…`), from what people write: `0812-3456-789`,
/// `62 812 3456 789`, `+6231 5678 901` (a Surabaya landline). The national number after the
/// country code has 8 to 12 digits and does not start with 0.
pub fn indonesian_phone(value: &str) -> Option<String> {
    let compact: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let national = if let Some(rest) = compact.strip_prefix("+62") {
        rest
    } else if let Some(rest) = compact.strip_prefix("62") {
        rest
    } else {
        compact.strip_prefix('0')?
    };
    let valid = (8..=12).contains(&national.len())
        && national.bytes().all(|b| b.is_ascii_digit())
        && !national.starts_with('0');
    valid.then(|| format!("+62{national}"))
}

/// Checks an Indonesian phone number and gives it back in E.164 form.
pub fn check_indonesian_phone(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let phone = indonesian_phone(value);
    v.require(
        phone.is_some(),
        field,
        "invalid_phone",
        "not an Indonesian phone number (e.g. 0812 3456 7890 or +62 812 3456 7890)",
    );
    phone
}

/// The box Indonesia's land and sea lie in: coordinates outside it are off the map a delivery
/// can use (a swapped latitude and longitude lands outside it too).
pub const LATITUDE: std::ops::RangeInclusive<f64> = -11.5..=6.5;
pub const LONGITUDE: std::ops::RangeInclusive<f64> = 94.5..=141.5;

/// Checks an optional pair of coordinates: both or neither, each a finite number inside
/// Indonesia.
pub fn check_coordinates(
    v: &mut Validation,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Option<(f64, f64)> {
    match (latitude, longitude) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let on_map = lat.is_finite()
                && lon.is_finite()
                && LATITUDE.contains(&lat)
                && LONGITUDE.contains(&lon);
            v.require(
                on_map,
                "latitude",
                "coordinates_off_map",
                "the coordinates are not in Indonesia",
            );
            on_map.then_some((lat, lon))
        }
        (lat, _) => {
            v.push(
                if lat.is_none() {
                    "latitude"
                } else {
                    "longitude"
                },
                "coordinates_incomplete",
                "give both latitude and longitude, or neither".to_owned(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_numbers_in_their_usual_spellings_become_e164() {
        assert_eq!(
            indonesian_phone("0812-3456-7890").as_deref(),
            Some("+6281234567890")
        );
        assert_eq!(
            indonesian_phone("62 812 3456 7890").as_deref(),
            Some("+6281234567890")
        );
        assert_eq!(
            indonesian_phone("+62 (31) 567-8901").as_deref(),
            Some("+62315678901")
        );
        assert_eq!(
            indonesian_phone("0812345678").as_deref(),
            Some("+62812345678")
        );
    }

    #[test]
    fn numbers_of_other_countries_and_wrong_lengths_are_refused() {
        for bad in [
            "+1 415 555 0100",
            "+44 20 7946 0958",
            "0812",
            "0812345678901234",
            "+62 0812 3456 789",
            "0812-3456-abc",
            "",
            "812345678",
        ] {
            assert_eq!(indonesian_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn coordinates_must_come_in_pairs_inside_indonesia() {
        let mut v = Validation::new();
        assert_eq!(
            check_coordinates(&mut v, Some(-7.2575), Some(112.7521)),
            Some((-7.2575, 112.7521))
        );
        assert!(v.is_empty());
        for (lat, lon) in [
            (Some(112.7521), Some(-7.2575)),
            (Some(f64::NAN), Some(112.0)),
            (Some(48.85), Some(2.35)),
            (Some(-7.25), None),
            (None, Some(112.75)),
        ] {
            let mut v = Validation::new();
            assert_eq!(check_coordinates(&mut v, lat, lon), None);
            assert!(!v.is_empty(), "{lat:?} {lon:?}");
        }
    }
}
