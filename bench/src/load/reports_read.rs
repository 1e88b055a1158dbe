//! The reports scenario: the reads a read replica takes off the primary (the mandate compliance
//! report, the city's turnover, the programme's monthly series and dormant shops, OPD spend, and
//! the audit log), asked by the cooperatives office in a closed loop. Nothing is written, so a
//! run on the primary alone and a run on a replica of the same database compare like for like.

use chrono::Utc;
use peken_kernel::period::Period;

/// The report requests, in the order the clients take turns through them.
pub fn paths(now: chrono::DateTime<Utc>) -> Vec<String> {
    let last_month = Period::of(now).prev();
    vec![
        format!("/api/v1/reports/mandate-compliance?period={last_month}"),
        "/api/v1/reports/turnover".to_owned(),
        "/api/v1/programme/reports/monthly".to_owned(),
        "/api/v1/programme/reports/dormant-shops".to_owned(),
        "/api/v1/programme/reports/opd-spend".to_owned(),
        "/api/v1/admin/audit-log?limit=50".to_owned(),
    ]
}

/// The request client `client` sends as its `k`-th: clients start at different reports, so each
/// report is being asked for at every moment.
pub fn pick(paths: &[String], client: usize, k: u64) -> &str {
    let n = paths.len().max(1);
    let i = (client % n + usize::try_from(k % n as u64).unwrap_or(0)) % n;
    paths.get(i).map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_goes_through_every_report_from_its_own_start() {
        let paths = paths(Utc::now());
        assert_eq!(paths.len(), 6);
        assert!(paths[0].contains("period=") && paths[0].contains("mandate-compliance"));
        let first: Vec<&str> = (0..6).map(|c| pick(&paths, c, 0)).collect();
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{first:?}");
        let one_client: Vec<&str> = (0..6).map(|k| pick(&paths, 3, k)).collect();
        let mut seen = one_client.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 6, "{one_client:?}");
        assert_eq!(pick(&paths, 3, 6), pick(&paths, 3, 0));
    }
}
