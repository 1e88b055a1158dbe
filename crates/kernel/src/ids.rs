//! Validated Indonesian identifiers: NIP, NI PPPK, NIK, NIB, NPWP and Kemendagri region codes.
//!
//! Each type can only be built by parsing, so holding one means the format has been checked.
//! Only the format is checked here: whether a person, business or region actually exists is
//! decided elsewhere against official data.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Why an identifier was rejected. The reasons are fixed texts, so a message can never echo the
/// input, which for a NIK is sensitive personal data.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    #[error("invalid NIP: {0}")]
    Nip(&'static str),
    #[error("invalid NI PPPK: {0}")]
    NiPppk(&'static str),
    #[error("invalid NIK: {0}")]
    Nik(&'static str),
    #[error("invalid NIB: {0}")]
    Nib(&'static str),
    #[error("invalid NPWP: {0}")]
    Npwp(&'static str),
    #[error("invalid region code: {0}")]
    RegionCode(&'static str),
}

impl IdError {
    /// The stable machine-readable code sent to API clients.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Nip(_) => "invalid_nip",
            IdError::NiPppk(_) => "invalid_ni_pppk",
            IdError::Nik(_) => "invalid_nik",
            IdError::Nib(_) => "invalid_nib",
            IdError::Npwp(_) => "invalid_npwp",
            IdError::RegionCode(_) => "invalid_region_code",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

/// Which civil-servant scheme an ASN number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AsnKind {
    Pns,
    Pppk,
}

/// Which level of the Kemendagri hierarchy a region code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegionLevel {
    Kota,
    Kecamatan,
    Kelurahan,
}

/// Removes surrounding whitespace and, where the printed form groups digits with spaces, the
/// spaces inside too; returns `None` unless exactly `len` ASCII digits remain.
fn digits(input: &str, len: usize, strip_inner_spaces: bool) -> Option<String> {
    let trimmed = input.trim_ascii();
    let text: String = if strip_inner_spaces {
        trimmed.chars().filter(|c| *c != ' ').collect()
    } else {
        trimmed.to_owned()
    };
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// Reads a run of ASCII digits already known to be digits; callers slice validated strings.
fn number(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

fn sex_from_digit(digit: &str) -> Option<Sex> {
    match digit {
        "1" => Some(Sex::Male),
        "2" => Some(Sex::Female),
        _ => None,
    }
}

/// Reads a `YYYYMMDD` date, the birth-date prefix of both NIP and NI PPPK.
fn parse_yyyymmdd(yyyymmdd: &str) -> Option<NaiveDate> {
    let year = number(&yyyymmdd[..4]) as i32;
    NaiveDate::from_ymd_opt(year, number(&yyyymmdd[4..6]), number(&yyyymmdd[6..8]))
}

fn string_schema(description: &str, pattern: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .examples([serde_json::Value::from(example)])
        .into()
}

/// Implements `FromStr` and the `TryFrom<String>` that serde deserialises through, both by
/// calling the type's `parse`, so no path into the type skips validation.
macro_rules! id_parse_traits {
    ($ty:ident) => {
        impl FromStr for $ty {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = IdError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $ty::parse(&value)
            }
        }
    };
}

/// Implements `as_str`, `Display` and `Serialize` as the normalised string, for the
/// identifiers that are not sensitive.
macro_rules! id_string_traits {
    ($ty:ident, $field:tt) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.$field
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.$field)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.$field)
            }
        }
    };
}

macro_rules! id_schema {
    ($ty:ident, $description:expr, $pattern:expr, $example:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string_schema($description, $pattern, $example)
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}

/// NIP of a PNS civil servant: 18 digits `YYYYMMDD YYYYMM S NNN` (birth date, appointment
/// month, sex, sequence). The printed form with spaces is accepted and normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Nip {
    digits: String,
    birth_date: NaiveDate,
    sex: Sex,
}

impl Nip {
    pub fn parse(input: &str) -> Result<Nip, IdError> {
        let digits = digits(input, 18, true).ok_or(IdError::Nip("must be 18 digits"))?;
        let birth = parse_yyyymmdd(&digits[..8]).ok_or(IdError::Nip("birth date is not a date"))?;
        if !(1940..=2015).contains(&birth.year()) {
            return Err(IdError::Nip("birth year out of range"));
        }
        let appointed_year = number(&digits[8..12]) as i32;
        if !(1..=12).contains(&number(&digits[12..14])) {
            return Err(IdError::Nip("appointment month is not a month"));
        }
        if !(1960..=2100).contains(&appointed_year) {
            return Err(IdError::Nip("appointment year out of range"));
        }
        if appointed_year < birth.year() + 15 {
            return Err(IdError::Nip("appointment before the age of 15"));
        }
        let sex =
            sex_from_digit(&digits[14..15]).ok_or(IdError::Nip("sex digit must be 1 or 2"))?;
        if &digits[15..] == "000" {
            return Err(IdError::Nip("sequence must not be 000"));
        }
        Ok(Nip {
            digits,
            birth_date: birth,
            sex,
        })
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }
}

id_parse_traits!(Nip);
id_string_traits!(Nip, digits);
id_schema!(
    Nip,
    "NIP of a PNS (18 digits)",
    r"^\d{18}$",
    "198001012005011001"
);

/// NI PPPK of a contract civil servant: 18 digits `YYYYMMDD YYYY NN S NNN` (birth date,
/// appointment year, two further digits, sex, sequence).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct NiPppk {
    digits: String,
    birth_date: NaiveDate,
    sex: Sex,
}

impl NiPppk {
    pub fn parse(input: &str) -> Result<NiPppk, IdError> {
        let digits = digits(input, 18, true).ok_or(IdError::NiPppk("must be 18 digits"))?;
        let birth =
            parse_yyyymmdd(&digits[..8]).ok_or(IdError::NiPppk("birth date is not a date"))?;
        if birth.year() < 1940 {
            return Err(IdError::NiPppk("birth year out of range"));
        }
        // PPPK appointments began in 2019, so an earlier year cannot be a PPPK number.
        let appointed_year = number(&digits[8..12]) as i32;
        if !(2019..=2100).contains(&appointed_year) {
            return Err(IdError::NiPppk("appointment year out of range"));
        }
        if appointed_year < birth.year() + 15 {
            return Err(IdError::NiPppk("appointment before the age of 15"));
        }
        let sex =
            sex_from_digit(&digits[14..15]).ok_or(IdError::NiPppk("sex digit must be 1 or 2"))?;
        if &digits[15..] == "000" {
            return Err(IdError::NiPppk("sequence must not be 000"));
        }
        Ok(NiPppk {
            digits,
            birth_date: birth,
            sex,
        })
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }
}

id_parse_traits!(NiPppk);
id_string_traits!(NiPppk, digits);
id_schema!(
    NiPppk,
    "NI PPPK (18 digits)",
    r"^\d{18}$",
    "198501012021121001"
);

/// The number of an ASN, PNS or PPPK.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum AsnNumber {
    Pns(Nip),
    Pppk(NiPppk),
}

impl AsnNumber {
    /// Parses a number whose kind is unknown, trying PNS first.
    ///
    /// The two layouts overlap: `19850101 202112 1 001` is both a NIP appointed in December 2021
    /// and a NI PPPK appointed in 2021. PNS is tried first because they are the large majority,
    /// so wherever the kind is known (an import column, a registration form), use
    /// [`AsnNumber::parse_as`] instead. If neither layout fits, the NIP error is returned.
    pub fn parse(input: &str) -> Result<AsnNumber, IdError> {
        match Nip::parse(input) {
            Ok(nip) => Ok(AsnNumber::Pns(nip)),
            Err(nip_error) => NiPppk::parse(input)
                .map(AsnNumber::Pppk)
                .map_err(|_| nip_error),
        }
    }

    pub fn parse_as(input: &str, kind: AsnKind) -> Result<AsnNumber, IdError> {
        match kind {
            AsnKind::Pns => Nip::parse(input).map(AsnNumber::Pns),
            AsnKind::Pppk => NiPppk::parse(input).map(AsnNumber::Pppk),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AsnNumber::Pns(nip) => nip.as_str(),
            AsnNumber::Pppk(ni) => ni.as_str(),
        }
    }

    pub fn kind(&self) -> AsnKind {
        match self {
            AsnNumber::Pns(_) => AsnKind::Pns,
            AsnNumber::Pppk(_) => AsnKind::Pppk,
        }
    }

    pub fn sex(&self) -> Sex {
        match self {
            AsnNumber::Pns(nip) => nip.sex(),
            AsnNumber::Pppk(ni) => ni.sex(),
        }
    }
}

impl fmt::Display for AsnNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AsnNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

id_parse_traits!(AsnNumber);
id_schema!(
    AsnNumber,
    "NIP or NI PPPK (18 digits)",
    r"^\d{18}$",
    "198001012005011001"
);

/// NIK, the 16-digit population number: province, city, district, birth `DDMMYY` (day + 40 for
/// women) and a sequence from 0001.
///
/// A NIK is sensitive personal data. `Debug` and `Display` print the masked form, there is no
/// `Serialize`, and the raw digits are reachable only through [`Nik::expose`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Nik(String);

impl Nik {
    pub fn parse(input: &str) -> Result<Nik, IdError> {
        let digits = digits(input, 16, false).ok_or(IdError::Nik("must be 16 digits"))?;
        if !(11..=94).contains(&number(&digits[..2])) {
            return Err(IdError::Nik("province code out of range"));
        }
        if &digits[2..4] == "00" {
            return Err(IdError::Nik("city code must not be 00"));
        }
        if &digits[4..6] == "00" {
            return Err(IdError::Nik("district code must not be 00"));
        }
        let coded_day = number(&digits[6..8]);
        let day = if coded_day > 40 {
            coded_day - 40
        } else {
            coded_day
        };
        if !(1..=31).contains(&day) {
            return Err(IdError::Nik("birth day out of range"));
        }
        let month = number(&digits[8..10]);
        // The two-digit year does not say its century, so 29 February is accepted in any year:
        // 2000 was a leap year and every century before it holds leap years.
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(IdError::Nik("birth date is not a date"));
        }
        if &digits[12..] == "0000" {
            return Err(IdError::Nik("sequence must not be 0000"));
        }
        Ok(Nik(digits))
    }

    /// The raw digits, for storage and for comparison with official records only. Never put
    /// them in a response or a log line; use [`Nik::masked`] there.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first four and last four digits with the rest hidden, e.g. `3578********0001`.
    pub fn masked(&self) -> String {
        mask_nik_str(&self.0)
    }

    pub fn is_surabaya(&self) -> bool {
        self.0.starts_with("3578")
    }

    pub fn sex(&self) -> Sex {
        if number(&self.0[6..8]) > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }
}

/// Masks a stored NIK the way [`Nik::masked`] does. Anything that is not 16 characters long is
/// hidden entirely, because a malformed value may still be someone's number.
pub fn mask_nik_str(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() == 16 {
        let mut masked: String = chars[..4].iter().collect();
        masked.push_str("********");
        masked.extend(&chars[12..]);
        masked
    } else {
        "*".repeat(chars.len())
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Nik").field(&self.masked()).finish()
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

id_parse_traits!(Nik);
id_schema!(
    Nik,
    "NIK (16 digits); responses show it masked",
    r"^\d{16}$",
    "3578014101900001"
);

/// NIB, the 13-digit business number issued by OSS. It has no public check digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Nib(String);

impl Nib {
    pub fn parse(input: &str) -> Result<Nib, IdError> {
        digits(input, 13, false)
            .map(Nib)
            .ok_or(IdError::Nib("must be 13 digits"))
    }
}

id_parse_traits!(Nib);
id_string_traits!(Nib, 0);
id_schema!(
    Nib,
    "NIB issued by OSS (13 digits)",
    r"^\d{13}$",
    "1234567890123"
);

/// NPWP in its 16-digit form. The old 15-digit form is normalised by prefixing `0`, as the tax
/// office does.
///
/// An individual's NPWP is their NIK, so `Debug` masks it like a NIK to keep it out of logs.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Npwp(String);

impl Npwp {
    /// Accepts 16 digits or 15 digits, with `.`, `-` and spaces anywhere in between, as in
    /// `01.234.567.8-901.000`.
    pub fn parse(input: &str) -> Result<Npwp, IdError> {
        let stripped: String = input
            .trim_ascii()
            .chars()
            .filter(|c| !matches!(c, '.' | '-' | ' '))
            .collect();
        if !stripped.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Npwp("must contain only digits and separators"));
        }
        match stripped.len() {
            16 => Ok(Npwp(stripped)),
            15 => Ok(Npwp(format!("0{stripped}"))),
            _ => Err(IdError::Npwp("must be 15 or 16 digits")),
        }
    }
}

impl fmt::Debug for Npwp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Npwp").field(&mask_nik_str(&self.0)).finish()
    }
}

id_parse_traits!(Npwp);
id_string_traits!(Npwp, 0);
id_schema!(
    Npwp,
    "NPWP, normalised to 16 digits",
    r"^\d{16}$",
    "0012345678901000"
);

/// A Kemendagri region code in dotted form: `PP.KK` (kota or kabupaten), `PP.KK.DD`
/// (kecamatan) or `PP.KK.DD.NNNN` (kelurahan starting with 1, desa starting with 2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(input: &str) -> Result<RegionCode, IdError> {
        let text = input.trim_ascii();
        let parts: Vec<&str> = text.split('.').collect();
        let widths: &[usize] = match parts.len() {
            2 => &[2, 2],
            3 => &[2, 2, 2],
            4 => &[2, 2, 2, 4],
            _ => {
                return Err(IdError::RegionCode(
                    "expected PP.KK, PP.KK.DD or PP.KK.DD.NNNN",
                ));
            }
        };
        for (part, width) in parts.iter().zip(widths) {
            if part.len() != *width || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdError::RegionCode(
                    "each part must have its exact digit count",
                ));
            }
        }
        if !(11..=94).contains(&number(parts[0])) {
            return Err(IdError::RegionCode("province code out of range"));
        }
        if parts[1..].iter().any(|part| number(part) == 0) {
            return Err(IdError::RegionCode("a part must not be all zeros"));
        }
        if let Some(village) = parts.get(3)
            && (!matches!(village.as_bytes()[0], b'1' | b'2') || number(&village[1..]) == 0)
        {
            return Err(IdError::RegionCode("village part must be 1NNN or 2NNN"));
        }
        Ok(RegionCode(text.to_owned()))
    }

    pub fn level(&self) -> RegionLevel {
        match self.0.len() {
            5 => RegionLevel::Kota,
            8 => RegionLevel::Kecamatan,
            _ => RegionLevel::Kelurahan,
        }
    }

    /// The region one level up; a kota has none here because province codes are not accepted.
    pub fn parent(&self) -> Option<RegionCode> {
        match self.level() {
            RegionLevel::Kota => None,
            RegionLevel::Kecamatan => Some(RegionCode(self.0[..5].to_owned())),
            RegionLevel::Kelurahan => Some(RegionCode(self.0[..8].to_owned())),
        }
    }

    /// The kecamatan a kelurahan lies in, or the kecamatan itself.
    pub fn kecamatan(&self) -> Option<RegionCode> {
        match self.level() {
            RegionLevel::Kota => None,
            RegionLevel::Kecamatan | RegionLevel::Kelurahan => {
                Some(RegionCode(self.0[..8].to_owned()))
            }
        }
    }

    pub fn is_surabaya(&self) -> bool {
        self.0 == "35.78" || self.0.starts_with("35.78.")
    }
}

id_parse_traits!(RegionCode);
id_string_traits!(RegionCode, 0);
id_schema!(
    RegionCode,
    "Kemendagri region code: kota PP.KK, kecamatan PP.KK.DD, kelurahan PP.KK.DD.NNNN",
    r"^\d{2}\.\d{2}(\.\d{2}(\.[12]\d{3})?)?$",
    "35.78.01.1001"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nip_parses_fields_and_printed_form() {
        let nip = Nip::parse("19800115 200503 2 007").unwrap();
        assert_eq!(nip.as_str(), "198001152005032007");
        assert_eq!(
            nip.birth_date(),
            NaiveDate::from_ymd_opt(1980, 1, 15).unwrap()
        );
        assert_eq!(nip.sex(), Sex::Female);
        assert_eq!(nip.to_string(), "198001152005032007");
        assert_eq!(
            "198001011999121001".parse::<Nip>().unwrap().sex(),
            Sex::Male
        );
    }

    #[test]
    fn nip_rejections() {
        let cases = [
            ("19800101200501100", "must be 18 digits"),
            ("1980010120050110011", "must be 18 digits"),
            ("19800101200501100a", "must be 18 digits"),
            ("198002302005011001", "birth date is not a date"),
            ("193912312005011001", "birth year out of range"),
            ("201601012040011001", "birth year out of range"),
            ("198001012005131001", "appointment month is not a month"),
            ("198001012005001001", "appointment month is not a month"),
            ("195001011959011001", "appointment year out of range"),
            ("199001012101011001", "appointment year out of range"),
            ("198001011994121001", "appointment before the age of 15"),
            ("198001012005013001", "sex digit must be 1 or 2"),
            ("198001012005011000", "sequence must not be 000"),
        ];
        for (input, reason) in cases {
            assert_eq!(
                Nip::parse(input),
                Err(IdError::Nip(reason)),
                "input {input}"
            );
        }
        assert_eq!(Nip::parse("x").unwrap_err().code(), "invalid_nip");
    }

    #[test]
    fn ni_pppk_rules() {
        let ni = NiPppk::parse("198501012021991002").unwrap();
        assert_eq!(
            ni.birth_date(),
            NaiveDate::from_ymd_opt(1985, 1, 1).unwrap()
        );
        assert_eq!(ni.sex(), Sex::Male);
        // PPPK did not exist before 2019.
        assert_eq!(
            NiPppk::parse("198501012018011001"),
            Err(IdError::NiPppk("appointment year out of range"))
        );
        assert_eq!(
            NiPppk::parse("201001012019011001"),
            Err(IdError::NiPppk("appointment before the age of 15"))
        );
        assert_eq!(
            NiPppk::parse("198501012021013001"),
            Err(IdError::NiPppk("sex digit must be 1 or 2"))
        );
        assert_eq!(NiPppk::parse("1").unwrap_err().code(), "invalid_ni_pppk");
    }

    #[test]
    fn asn_number_prefers_pns_unless_kind_is_given() {
        // Appointment digits "2021 99" are not a month, so only the PPPK layout fits.
        let pppk = AsnNumber::parse("198501012021991002").unwrap();
        assert_eq!(pppk.kind(), AsnKind::Pppk);
        // "2021 12" is a month, so both layouts fit and PNS wins unless the kind is explicit.
        let ambiguous = "198501012021121001";
        assert_eq!(AsnNumber::parse(ambiguous).unwrap().kind(), AsnKind::Pns);
        let explicit = AsnNumber::parse_as(ambiguous, AsnKind::Pppk).unwrap();
        assert_eq!(explicit.kind(), AsnKind::Pppk);
        assert_eq!(explicit.as_str(), ambiguous);
        assert!(AsnNumber::parse_as("198501012018991002", AsnKind::Pns).is_err());
        assert_eq!(AsnNumber::parse("12").unwrap_err().code(), "invalid_nip");
        assert_eq!(serde_json::to_string(&AsnKind::Pppk).unwrap(), "\"pppk\"");
        let json = serde_json::to_string(&explicit).unwrap();
        assert_eq!(json, format!("\"{ambiguous}\""));
    }

    #[test]
    fn nik_parses_and_masks() {
        let nik = Nik::parse("3578014101900001").unwrap();
        assert_eq!(nik.masked(), "3578********0001");
        assert_eq!(nik.expose(), "3578014101900001");
        assert!(nik.is_surabaya());
        assert_eq!(nik.sex(), Sex::Female);
        assert_eq!(format!("{nik:?}"), "Nik(\"3578********0001\")");
        assert_eq!(nik.to_string(), "3578********0001");
        let male = Nik::parse("3201023112991234").unwrap();
        assert!(!male.is_surabaya());
        assert_eq!(male.sex(), Sex::Male);
        // 29 February is accepted whatever the two-digit year.
        assert!(Nik::parse("3578012902010001").is_ok());
        assert!(Nik::parse("3578016902010001").is_ok());
    }

    #[test]
    fn nik_rejections_never_echo_the_number() {
        let cases = [
            ("357801410190001", "must be 16 digits"),
            ("1078014101900001", "province code out of range"),
            ("9578014101900001", "province code out of range"),
            ("3500014101900001", "city code must not be 00"),
            ("3578004101900001", "district code must not be 00"),
            ("3578010001900001", "birth day out of range"),
            ("3578013201900001", "birth day out of range"),
            ("3578014001900001", "birth day out of range"),
            ("3578017201900001", "birth day out of range"),
            ("3578013002900001", "birth date is not a date"),
            ("3578017104900001", "birth date is not a date"),
            ("3578010113900001", "birth date is not a date"),
            ("3578014101900000", "sequence must not be 0000"),
        ];
        for (input, reason) in cases {
            let error = Nik::parse(input).unwrap_err();
            assert_eq!(error, IdError::Nik(reason), "input {input}");
            assert_eq!(error.code(), "invalid_nik");
            assert!(!error.to_string().contains(&input[4..12]));
        }
        let json_error = serde_json::from_str::<Nik>("\"3578014101900000\"").unwrap_err();
        assert!(!json_error.to_string().contains("3578014101900000"));
    }

    #[test]
    fn mask_nik_str_hides_odd_lengths_entirely() {
        assert_eq!(mask_nik_str("3578014101900001"), "3578********0001");
        assert_eq!(mask_nik_str("12345"), "*****");
        assert_eq!(mask_nik_str(""), "");
        assert_eq!(mask_nik_str("ééééabcdefghéééé"), "éééé********éééé");
    }

    #[test]
    fn nib_and_npwp() {
        assert_eq!(
            Nib::parse(" 1234567890123 ").unwrap().as_str(),
            "1234567890123"
        );
        assert_eq!(
            Nib::parse("123456789012"),
            Err(IdError::Nib("must be 13 digits"))
        );
        assert!(Nib::parse("12345678901-3").is_err());
        let old = Npwp::parse("01.234.567.8-901.000").unwrap();
        assert_eq!(old.as_str(), "0012345678901000");
        assert_eq!(
            Npwp::parse("3578014101900001").unwrap().as_str(),
            "3578014101900001"
        );
        assert_eq!(format!("{old:?}"), "Npwp(\"0012********1000\")");
        assert_eq!(
            Npwp::parse("01/234"),
            Err(IdError::Npwp("must contain only digits and separators"))
        );
        assert_eq!(
            Npwp::parse("12.345"),
            Err(IdError::Npwp("must be 15 or 16 digits"))
        );
        assert_eq!(Npwp::parse("").unwrap_err().code(), "invalid_npwp");
    }

    #[test]
    fn region_codes_and_hierarchy() {
        let kelurahan = RegionCode::parse("35.78.01.1001").unwrap();
        assert_eq!(kelurahan.level(), RegionLevel::Kelurahan);
        assert_eq!(kelurahan.parent().unwrap().as_str(), "35.78.01");
        assert_eq!(kelurahan.kecamatan().unwrap().as_str(), "35.78.01");
        assert!(kelurahan.is_surabaya());
        let kecamatan = kelurahan.parent().unwrap();
        assert_eq!(kecamatan.level(), RegionLevel::Kecamatan);
        assert_eq!(kecamatan.kecamatan(), Some(kecamatan.clone()));
        let kota = kecamatan.parent().unwrap();
        assert_eq!(kota.as_str(), "35.78");
        assert_eq!(kota.level(), RegionLevel::Kota);
        assert_eq!(kota.parent(), None);
        assert_eq!(kota.kecamatan(), None);
        assert!(RegionCode::parse("35.15.04.2001").is_ok_and(|desa| !desa.is_surabaya()));
        for bad in [
            "35",
            "3578",
            "35.78.",
            "35.7.01",
            "35.78.1",
            "35.78.01.101",
            "35.78.01.3001",
            "35.78.01.1000",
            "35.00",
            "35.78.00",
            "10.78",
            "35.78.01.1001.1",
            "35,78",
            "",
        ] {
            let error = RegionCode::parse(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_region_code", "input {bad:?}");
        }
        assert_eq!(
            serde_json::to_string(&kelurahan).unwrap(),
            "\"35.78.01.1001\""
        );
        let back: RegionCode = serde_json::from_str("\"35.78.01\"").unwrap();
        assert_eq!(back.level(), RegionLevel::Kecamatan);
        assert!(serde_json::from_str::<RegionCode>("\"35.78.1\"").is_err());
        assert_eq!(
            serde_json::to_string(&RegionLevel::Kecamatan).unwrap(),
            "\"kecamatan\""
        );
    }

    #[test]
    fn schemas_are_patterned_strings() {
        let schema = serde_json::to_value(<RegionCode as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        let pattern = schema["pattern"].as_str().unwrap();
        assert!(pattern.starts_with('^') && pattern.ends_with('$'));
        let nip = serde_json::to_value(<Nip as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(nip["pattern"], r"^\d{18}$");
        let example = nip["examples"][0].as_str().unwrap();
        assert!(Nip::parse(example).is_ok());
    }

    fn date_strategy(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = NaiveDate> {
        (years, 1_u32..=12, 1_u32..=31)
            .prop_filter_map("real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn generated_nips_parse(
            birth in date_strategy(1940..=2015),
            offset in 15_i32..=85,
            month in 1_u32..=12,
            sex in 1_u8..=2,
            seq in 1_u32..=999,
        ) {
            let year = (birth.year() + offset).max(1960);
            prop_assume!(year <= 2100);
            let text = format!("{}{year}{month:02}{sex}{seq:03}", birth.format("%Y%m%d"));
            let nip = Nip::parse(&text).unwrap();
            prop_assert_eq!(nip.as_str(), text.as_str());
            prop_assert_eq!(nip.birth_date(), birth);
            prop_assert_eq!(nip.sex(), if sex == 1 { Sex::Male } else { Sex::Female });
            prop_assert_eq!(Nip::parse(&nip.to_string()).unwrap(), nip.clone());
            let json = serde_json::to_string(&nip).unwrap();
            prop_assert_eq!(serde_json::from_str::<Nip>(&json).unwrap(), nip);
        }

        #[test]
        fn generated_ni_pppks_parse(
            birth in date_strategy(1940..=2085),
            year in 2019_i32..=2100,
            any_two in 0_u32..=99,
            sex in 1_u8..=2,
            seq in 1_u32..=999,
        ) {
            prop_assume!(year >= birth.year() + 15);
            let text = format!("{}{year}{any_two:02}{sex}{seq:03}", birth.format("%Y%m%d"));
            let ni = NiPppk::parse(&text).unwrap();
            prop_assert_eq!(ni.as_str(), text.as_str());
            prop_assert_eq!(ni.birth_date(), birth);
            let asn = AsnNumber::parse_as(&text, AsnKind::Pppk).unwrap();
            prop_assert_eq!(asn.kind(), AsnKind::Pppk);
        }

        #[test]
        fn generated_niks_parse_and_mask(
            province in 11_u32..=94,
            city in 1_u32..=99,
            district in 1_u32..=99,
            birth in date_strategy(2000..=2000),
            female in any::<bool>(),
            yy in 0_u32..=99,
            seq in 1_u32..=9999,
        ) {
            let day = birth.day() + if female { 40 } else { 0 };
            let text = format!(
                "{province:02}{city:02}{district:02}{day:02}{:02}{yy:02}{seq:04}",
                birth.month()
            );
            let nik = Nik::parse(&text).unwrap();
            prop_assert_eq!(nik.expose(), text.as_str());
            prop_assert_eq!(nik.sex(), if female { Sex::Female } else { Sex::Male });
            let masked = nik.masked();
            prop_assert_eq!(&masked[..4], &text[..4]);
            prop_assert_eq!(&masked[12..], &text[12..]);
            prop_assert_eq!(&masked[4..12], "********");
            let debug = format!("{nik:?}");
            prop_assert!(!debug.contains(&text[4..12]));
            let json = serde_json::to_string(&text).unwrap();
            prop_assert_eq!(serde_json::from_str::<Nik>(&json).unwrap(), nik);
        }

        #[test]
        fn generated_npwps_and_nibs_parse(digits in "[0-9]{16}", nib in "[0-9]{13}") {
            let npwp = Npwp::parse(&digits).unwrap();
            prop_assert_eq!(npwp.as_str(), digits.as_str());
            let old = &digits[1..];
            let dotted = format!(
                "{}.{}.{}.{}-{}.{}",
                &old[..2], &old[2..5], &old[5..8], &old[8..9], &old[9..12], &old[12..]
            );
            let expected = format!("0{old}");
            let normalised = Npwp::parse(&dotted).unwrap();
            prop_assert_eq!(normalised.as_str(), expected.as_str());
            let parsed = Nib::parse(&nib).unwrap();
            prop_assert_eq!(parsed.as_str(), nib.as_str());
            prop_assert_eq!(Nib::parse(&parsed.to_string()).unwrap(), parsed);
        }

        #[test]
        fn generated_region_codes_parse(
            province in 11_u32..=94,
            kota in 1_u32..=99,
            kecamatan in 1_u32..=99,
            village_kind in 1_u32..=2,
            village in 1_u32..=999,
        ) {
            let text = format!("{province}.{kota:02}.{kecamatan:02}.{village_kind}{village:03}");
            let code = RegionCode::parse(&text).unwrap();
            prop_assert_eq!(code.as_str(), text.as_str());
            prop_assert_eq!(code.level(), RegionLevel::Kelurahan);
            let parent = code.parent().unwrap();
            prop_assert_eq!(parent.as_str(), &text[..8]);
            prop_assert_eq!(RegionCode::parse(parent.as_str()).unwrap(), parent.clone());
            let kota = parent.parent().unwrap();
            prop_assert_eq!(kota.as_str(), &text[..5]);
            prop_assert_eq!(code.is_surabaya(), text.starts_with("35.78."));
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = Nip::parse(&text);
            let _ = NiPppk::parse(&text);
            let _ = AsnNumber::parse(&text);
            let _ = Nib::parse(&text);
            let _ = Npwp::parse(&text);
            let _ = RegionCode::parse(&text);
            let _ = mask_nik_str(&text);
            if let Err(error) = Nik::parse(&text) {
                prop_assert_eq!(error.code(), "invalid_nik");
            }
        }

        #[test]
        fn random_digit_strings_round_trip_when_accepted(
            eighteen in "[0-9]{18}",
            sixteen in "[0-9]{16}",
            region in "[0-9]{2}\\.[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{4})?)?",
        ) {
            if let Ok(asn) = AsnNumber::parse(&eighteen) {
                prop_assert_eq!(asn.as_str(), eighteen.as_str());
            }
            if let Ok(nik) = Nik::parse(&sixteen) {
                prop_assert_eq!(nik.expose(), sixteen.as_str());
            }
            if let Ok(code) = RegionCode::parse(&region) {
                prop_assert_eq!(code.to_string(), region);
            }
        }
    }
}
