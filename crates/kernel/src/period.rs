//! WIB calendar periods and working days.
//!
//! Instants are stored in UTC, but every period the city talks about (the ASN month, the
//! turnover month and year, payout service levels) is a calendar period in Asia/Jakarta. WIB has
//! no daylight saving time, so a fixed UTC+7 offset is exact and needs no time-zone database.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Western Indonesian Time, UTC+7.
pub const WIB: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time, so this arm can only ever fail the build, never a request.
    None => panic!("UTC+7 is a valid offset"),
};

/// The calendar date in WIB at the given instant.
pub fn wib_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&WIB).date_naive()
}

/// The instant at which the given date begins in WIB.
///
/// The fallback is reachable only for dates at the very edge of chrono's range, hundreds of
/// thousands of years away, where subtracting seven hours leaves the representable range.
pub fn wib_midnight_utc(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .checked_sub_offset(WIB)
        .map_or(DateTime::<Utc>::MIN_UTC, |naive| naive.and_utc())
}

/// 1 January 00:00 WIB of the given year, the start of a tax year.
pub fn year_start_utc(year: i32) -> DateTime<Utc> {
    wib_midnight_utc(NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("invalid period: {0}; expected YYYY-MM")]
    Period(&'static str),
    #[error("invalid date {value:?}: expected a real date written YYYY-MM-DD")]
    Date { value: String },
}

impl PeriodError {
    /// The stable machine-readable code sent to API clients.
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::Period(_) => "invalid_period",
            PeriodError::Date { .. } => "invalid_date",
        }
    }
}

/// A calendar month in WIB. Fields are ordered year then month so that the derived ordering is
/// chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    month: u32,
}

/// Reads a fixed-width run of ASCII digits, or `None` if any byte is not a digit.
fn fixed_digits(text: &str) -> Option<u32> {
    text.bytes().try_fold(0_u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

impl Period {
    /// A period from a year in 2000..=2999 and a month in 1..=12.
    pub fn new(year: i32, month: u32) -> Result<Period, PeriodError> {
        if !(2000..=2999).contains(&year) {
            return Err(PeriodError::Period("year must be between 2000 and 2999"));
        }
        if !(1..=12).contains(&month) {
            return Err(PeriodError::Period("month must be between 01 and 12"));
        }
        Ok(Period { year, month })
    }

    /// Parses exactly `YYYY-MM`, the form used in URLs and reports.
    pub fn parse(input: &str) -> Result<Period, PeriodError> {
        let bytes = input.as_bytes();
        if bytes.len() != 7 || bytes[4] != b'-' {
            return Err(PeriodError::Period("wrong shape"));
        }
        let year = fixed_digits(&input[..4]).ok_or(PeriodError::Period("wrong shape"))?;
        let month = fixed_digits(&input[5..]).ok_or(PeriodError::Period("wrong shape"))?;
        Period::new(year as i32, month)
    }

    /// The WIB month containing the instant. Unlike [`Period::new`], any year is accepted, since
    /// an instant that exists has a month.
    pub fn of(instant: DateTime<Utc>) -> Period {
        let date = wib_date(instant);
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    #[must_use]
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    #[must_use]
    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The first day of the month.
    ///
    /// A period always holds a month in 1..=12 of a year inside chrono's range, so the fallback
    /// can only be reached by a `next()` past chrono's last representable year.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MAX)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// 00:00 WIB on the first day, inclusive.
    pub fn start_utc(self) -> DateTime<Utc> {
        wib_midnight_utc(self.first_day())
    }

    /// 00:00 WIB on the first day of the next month, exclusive.
    pub fn end_utc(self) -> DateTime<Utc> {
        self.next().start_utc()
    }

    pub fn contains(self, instant: DateTime<Utc>) -> bool {
        Period::of(instant) == self
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s)
    }
}

impl TryFrom<String> for Period {
    type Error = PeriodError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Period::parse(&value)
    }
}

impl From<Period> for String {
    fn from(period: Period) -> String {
        period.to_string()
    }
}

impl utoipa::PartialSchema for Period {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A calendar month in WIB (UTC+7)"))
            .pattern(Some(r"^\d{4}-(0[1-9]|1[0-2])$"))
            .examples([serde_json::Value::from("2025-10")])
            .into()
    }
}

impl utoipa::ToSchema for Period {}

/// Parses exactly `YYYY-MM-DD` into a real date.
pub fn parse_date(input: &str) -> Result<NaiveDate, PeriodError> {
    let bytes = input.as_bytes();
    let shaped = bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-';
    let date = shaped
        .then(|| {
            let year = fixed_digits(&input[..4])?;
            let month = fixed_digits(&input[5..7])?;
            let day = fixed_digits(&input[8..])?;
            NaiveDate::from_ymd_opt(year as i32, month, day)
        })
        .flatten();
    date.ok_or_else(|| PeriodError::Date {
        // Settings values can be long; only the start is needed to find the mistake.
        value: input.chars().take(32).collect(),
    })
}

/// Parses a comma-separated list of `YYYY-MM-DD` dates, the form holidays take in settings.
/// Whitespace around entries and empty entries (as left by a trailing comma) are ignored.
/// Checks a range of WIB days given as text: real dates, `from` ≤ `to` (422 `invalid_range`), at
/// most `max_days` days (422 `range_too_long`, `what` named in the message). `to` defaults to
/// `today`, `from` to the first of `to`'s month.
pub fn day_range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
    max_days: i64,
    what: &str,
) -> crate::ApiResult<(NaiveDate, NaiveDate)> {
    use crate::ApiError;
    let mut v = crate::Validation::new();
    let to = match to {
        Some(t) => v.check("to", parse_date(t)),
        None => Some(today),
    };
    let from = match from {
        Some(f) => v.check("from", parse_date(f)),
        None => to.and_then(|t| t.with_day0(0)),
    };
    v.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated range missing"
        )));
    };
    if from > to {
        return Err(ApiError::field(
            "from",
            "invalid_range",
            "from must not be after to",
        ));
    }
    if (to - from).num_days() + 1 > max_days {
        return Err(ApiError::field(
            "to",
            "range_too_long",
            format!("{what} covers at most {max_days} days"),
        ));
    }
    Ok((from, to))
}

pub fn parse_holidays(input: &str) -> Result<Vec<NaiveDate>, PeriodError> {
    input
        .split(',')
        .map(str::trim_ascii)
        .filter(|entry| !entry.is_empty())
        .map(parse_date)
        .collect()
}

/// Working days: Monday to Friday, except the configured national holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> WorkingCalendar {
        WorkingCalendar {
            holidays: holidays.into_iter().collect(),
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The date `days` working days after `date`: from a Friday, one working day later is the
    /// next Monday. Zero days gives `date` itself.
    pub fn add_working_days(&self, date: NaiveDate, days: u32) -> NaiveDate {
        let mut current = date;
        let mut remaining = days;
        while remaining > 0 {
            let Some(next) = current.succ_opt() else {
                // Only reachable at chrono's last representable date.
                return current;
            };
            current = next;
            if self.is_working_day(current) {
                remaining -= 1;
            }
        }
        current
    }

    /// The number of working days in `(start, end]`, or 0 if `end` is not after `start`.
    ///
    /// It is computed arithmetically rather than by walking each day, so a range of years is as
    /// cheap as a range of days.
    pub fn working_days_between(&self, start: NaiveDate, end: NaiveDate) -> i64 {
        if end <= start {
            return 0;
        }
        let days = (end - start).num_days();
        let full_weeks = days / 7;
        let mut weekdays = full_weeks * 5;
        let mut current = start + chrono::Days::new((full_weeks * 7) as u64);
        while current < end {
            let Some(next) = current.succ_opt() else {
                break;
            };
            current = next;
            if !matches!(current.weekday(), Weekday::Sat | Weekday::Sun) {
                weekdays += 1;
            }
        }
        let excluded = std::ops::Bound::Excluded(start);
        let included = std::ops::Bound::Included(end);
        let holidays_on_weekdays = self
            .holidays
            .range((excluded, included))
            .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .count() as i64;
        weekdays - holidays_on_weekdays
    }

    /// The working days after `date` up to and including the last day of its month.
    pub fn working_days_left_in_month(&self, date: NaiveDate) -> u32 {
        let last = Period {
            year: date.year(),
            month: date.month(),
        }
        .last_day();
        self.working_days_between(date, last) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn period(text: &str) -> Period {
        Period::parse(text).unwrap()
    }

    #[test]
    fn wib_is_utc_plus_seven() {
        assert_eq!(WIB.local_minus_utc(), 7 * 3600);
    }

    #[test]
    fn orders_late_on_the_last_evening_count_for_that_month() {
        // 23:30 WIB on 31 October is 16:30 UTC the same day.
        assert_eq!(Period::of(utc(2025, 10, 31, 16, 30)), period("2025-10"));
        // 00:00 WIB on 1 November is 17:00 UTC on 31 October.
        assert_eq!(Period::of(utc(2025, 10, 31, 17, 0)), period("2025-11"));
        assert_eq!(wib_date(utc(2025, 10, 31, 16, 59)), date(2025, 10, 31));
        assert_eq!(wib_date(utc(2025, 10, 31, 17, 0)), date(2025, 11, 1));
    }

    #[test]
    fn period_bounds_are_wib_midnights() {
        let october = period("2025-10");
        assert_eq!(october.start_utc(), utc(2025, 9, 30, 17, 0));
        assert_eq!(october.end_utc(), utc(2025, 10, 31, 17, 0));
        assert!(october.contains(utc(2025, 9, 30, 17, 0)));
        assert!(!october.contains(utc(2025, 9, 30, 16, 59)));
        assert!(!october.contains(october.end_utc()));
        assert_eq!(october.first_day(), date(2025, 10, 1));
        assert_eq!(october.last_day(), date(2025, 10, 31));
        assert_eq!(period("2024-02").last_day(), date(2024, 2, 29));
        assert_eq!(period("2025-02").last_day(), date(2025, 2, 28));
        assert_eq!(period("2025-12").next(), period("2026-01"));
        assert_eq!(period("2026-01").prev(), period("2025-12"));
        assert_eq!(year_start_utc(2026), utc(2025, 12, 31, 17, 0));
        assert!(period("2025-09") < period("2025-10") && period("2025-12") < period("2026-01"));
    }

    #[test]
    fn period_text_form() {
        let p = period("2025-03");
        assert_eq!((p.year(), p.month()), (2025, 3));
        assert_eq!(p.to_string(), "2025-03");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2025-03\"");
        assert_eq!(serde_json::from_str::<Period>("\"2025-03\"").unwrap(), p);
        for bad in [
            "2025-3",
            "2025-13",
            "2025-00",
            "1999-12",
            "3000-01",
            "2025/03",
            "2025-03-01",
            " 2025-03",
            "+025-03",
            "２０２５-03",
            "",
        ] {
            let error = Period::parse(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_period", "input {bad:?}");
        }
        assert!(serde_json::from_str::<Period>("\"2025-13\"").is_err());
        let schema = serde_json::to_value(<Period as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["pattern"], r"^\d{4}-(0[1-9]|1[0-2])$");
    }

    #[test]
    fn holidays_parse_from_settings() {
        assert_eq!(parse_holidays(""), Ok(vec![]));
        assert_eq!(
            parse_holidays("2025-12-25, 2026-01-01,"),
            Ok(vec![date(2025, 12, 25), date(2026, 1, 1)])
        );
        let error = parse_holidays("2025-12-25,2025-02-30").unwrap_err();
        assert_eq!(error.code(), "invalid_date");
        assert!(error.to_string().contains("2025-02-30"));
        assert!(parse_holidays("2025-1-1").is_err());
        assert!(parse_date("25-12-2025").is_err());
        assert_eq!(parse_date("2024-02-29"), Ok(date(2024, 2, 29)));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // 2025-12-25 is a Thursday holiday; 2025-12-26 a Friday.
        let calendar = WorkingCalendar::new([date(2025, 12, 25)]);
        let friday = date(2025, 12, 26);
        assert!(calendar.is_working_day(friday));
        assert!(!calendar.is_working_day(date(2025, 12, 27)));
        assert!(!calendar.is_working_day(date(2025, 12, 28)));
        assert!(!calendar.is_working_day(date(2025, 12, 25)));
        assert_eq!(calendar.add_working_days(friday, 1), date(2025, 12, 29));
        assert_eq!(calendar.add_working_days(friday, 0), friday);
        // From Wednesday 24 December, three working days skip the holiday and the weekend.
        assert_eq!(
            calendar.add_working_days(date(2025, 12, 24), 3),
            date(2025, 12, 30)
        );
        assert_eq!(
            calendar.working_days_between(date(2025, 12, 24), date(2025, 12, 30)),
            3
        );
        assert_eq!(calendar.working_days_between(friday, friday), 0);
        assert_eq!(calendar.working_days_between(friday, date(2025, 12, 1)), 0);
        // Saturday to Sunday has no working day; Friday to Monday has one.
        assert_eq!(calendar.working_days_between(friday, date(2025, 12, 29)), 1);
        assert_eq!(
            calendar.working_days_between(date(2025, 12, 27), date(2025, 12, 28)),
            0
        );
        // After Monday 29 December, only Tuesday 30 and Wednesday 31 remain.
        assert_eq!(calendar.working_days_left_in_month(date(2025, 12, 29)), 2);
        assert_eq!(calendar.working_days_left_in_month(date(2025, 12, 31)), 0);
        // December 2025 has 23 weekdays after 30 November, one of them a holiday.
        assert_eq!(calendar.working_days_left_in_month(date(2025, 11, 30)), 0);
        assert_eq!(
            calendar.working_days_between(date(2025, 11, 30), date(2025, 12, 31)),
            22
        );
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0_u64..20_000).prop_map(|offset| date(2000, 1, 1) + chrono::Days::new(offset))
    }

    fn walk_count(calendar: &WorkingCalendar, start: NaiveDate, end: NaiveDate) -> i64 {
        let mut count = 0;
        let mut day = start;
        while day < end {
            day = day.succ_opt().unwrap();
            if calendar.is_working_day(day) {
                count += 1;
            }
        }
        count
    }

    proptest! {
        #[test]
        fn period_round_trips(year in 2000_i32..=2999, month in 1_u32..=12) {
            let p = Period::new(year, month).unwrap();
            prop_assert_eq!(Period::parse(&p.to_string()).unwrap(), p);
            prop_assert_eq!(p.next().prev(), p);
            prop_assert_eq!(p.end_utc(), p.next().start_utc());
            prop_assert_eq!(Period::of(p.start_utc()), p);
        }

        #[test]
        fn last_wib_minute_belongs_to_the_month(year in 2000_i32..=2999, month in 1_u32..=12) {
            let p = Period::new(year, month).unwrap();
            let last_minute = WIB
                .from_local_datetime(&p.last_day().and_hms_opt(23, 59, 0).unwrap())
                .unwrap()
                .to_utc();
            let next_midnight = WIB
                .from_local_datetime(&p.next().first_day().and_hms_opt(0, 0, 0).unwrap())
                .unwrap()
                .to_utc();
            prop_assert_eq!(Period::of(last_minute), p);
            prop_assert!(p.contains(last_minute));
            prop_assert_eq!(Period::of(next_midnight), p.next());
            prop_assert!(!p.contains(next_midnight));
            prop_assert_eq!(next_midnight, p.end_utc());
        }

        #[test]
        fn instants_fall_in_their_wib_period(seconds in 946_684_800_i64..32_503_680_000) {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let p = Period::of(instant);
            prop_assert!(p.start_utc() <= instant && instant < p.end_utc());
            prop_assert_eq!(p.first_day().month(), wib_date(instant).month());
        }

        #[test]
        fn parsers_never_panic(text in any::<String>()) {
            let _ = Period::parse(&text);
            let _ = parse_holidays(&text);
        }

        #[test]
        fn dates_round_trip_through_settings(days in prop::collection::vec(any_date(), 0..6)) {
            let text = days.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
            prop_assert_eq!(parse_holidays(&text).unwrap(), days);
        }

        #[test]
        fn working_day_counts_match_a_day_by_day_walk(
            start in any_date(),
            span in 0_u64..400,
            holidays in prop::collection::vec(any_date(), 0..30),
            near in prop::collection::vec(0_u64..400, 0..10),
        ) {
            let end = start + chrono::Days::new(span);
            let nearby = near.iter().map(|offset| start + chrono::Days::new(*offset));
            let calendar = WorkingCalendar::new(holidays.into_iter().chain(nearby));
            prop_assert_eq!(
                calendar.working_days_between(start, end),
                walk_count(&calendar, start, end)
            );
            prop_assert_eq!(calendar.working_days_between(end, start), 0);
        }

        #[test]
        fn adding_working_days_lands_on_a_working_day(
            start in any_date(),
            n in 0_u32..40,
            near in prop::collection::vec(0_u64..60, 0..10),
        ) {
            let calendar =
                WorkingCalendar::new(near.iter().map(|offset| start + chrono::Days::new(*offset)));
            let landed = calendar.add_working_days(start, n);
            prop_assert_eq!(calendar.working_days_between(start, landed), i64::from(n));
            if n > 0 {
                prop_assert!(calendar.is_working_day(landed));
            }
        }
    }
}
