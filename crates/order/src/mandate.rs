//! The ASN monthly purchase mandate: minimums per position class with effective months, each
//! ASN's spend per WIB month (kept by checkout, payment and refunds in `asn_monthly_spend`),
//! compliance per ASN, OPD and kecamatan, and the reminder before the month ends.
//!
//! The compliance report is a read model over identity's roster at the month's end (each ASN's
//! OPD then) and the spend table.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::export::Value;
use peken_kernel::period::{Period, wib_date};
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use peken_mail::{Mail, Template};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The minimum for one position class from one month on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MandatePolicy {
    pub position_class: String,
    pub min_amount: Rupiah,
    /// The first WIB month (`YYYY-MM`) it applies to.
    pub effective_from: Period,
}

/// A policy from what a person typed, every field checked (the API's `PUT` and the console's
/// form both make it here): a known position class, a whole number of rupiah from 0 to one
/// trillion, a month `YYYY-MM`.
pub fn policy_from(
    position_class: &str,
    min_amount: i64,
    effective_from: &str,
) -> ApiResult<MandatePolicy> {
    let mut v = peken_kernel::Validation::new();
    let class =
        peken_identity::http::check_position_class(&mut v, "position_class", position_class);
    v.require(
        (0..=1_000_000_000_000).contains(&min_amount),
        "min_amount",
        "invalid_amount",
        "a whole number of rupiah, zero or more",
    );
    let from = v.check("effective_from", Period::parse(effective_from));
    let (class, from) = v.finish_with((class, from))?;
    Ok(MandatePolicy {
        position_class: class,
        min_amount: Rupiah::new(min_amount),
        effective_from: from,
    })
}

pub async fn set_policy(state: &AppState, policy: &MandatePolicy, actor: &Caller) -> ApiResult<()> {
    let backend = state.db.get_database_backend();
    let txn = state.db.begin().await?;
    let before = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT min_amount FROM mandate_policies WHERE position_class = $1 \
             AND effective_from = $2",
            [
                policy.position_class.clone().into(),
                policy.effective_from.to_string().into(),
            ],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "min_amount"))
        .transpose()?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO mandate_policies (position_class, effective_from, min_amount, set_by, \
             updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (position_class, effective_from) \
             DO UPDATE SET min_amount = excluded.min_amount, set_by = excluded.set_by, \
             updated_at = excluded.updated_at",
        [
            policy.position_class.clone().into(),
            policy.effective_from.to_string().into(),
            policy.min_amount.get().into(),
            actor.user_id.clone().into(),
            state.now().into(),
        ],
    ))
    .await?;
    peken_audit::record(
        &txn,
        actor,
        peken_audit::Change::new(
            "mandate_policy.set",
            "mandate_policy",
            &format!("{}@{}", policy.position_class, policy.effective_from),
        )
        .before(serde_json::json!({"min_amount": before}))
        .after(serde_json::json!({"min_amount": policy.min_amount.get()})),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn list_policies<C: ConnectionTrait>(conn: &C) -> ApiResult<Vec<MandatePolicy>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT position_class, effective_from, min_amount FROM mandate_policies \
             ORDER BY position_class, effective_from",
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let from: String = r.try_get("", "effective_from")?;
            Ok(MandatePolicy {
                position_class: r.try_get("", "position_class")?,
                min_amount: Rupiah::new(r.try_get("", "min_amount")?),
                effective_from: Period::parse(&from).map_err(|e| {
                    ApiError::internal(anyhow::anyhow!("stored period {from}: {e}"))
                })?,
            })
        })
        .collect()
}

/// The minimum in force for each class in `period`: the latest policy effective at or before it.
fn minimums(policies: &[MandatePolicy], period: Period) -> HashMap<String, Rupiah> {
    let mut out: HashMap<String, (Period, Rupiah)> = HashMap::new();
    for p in policies.iter().filter(|p| p.effective_from <= period) {
        let entry = out
            .entry(p.position_class.clone())
            .or_insert((p.effective_from, p.min_amount));
        if p.effective_from >= entry.0 {
            *entry = (p.effective_from, p.min_amount);
        }
    }
    out.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// One ASN's standing for a month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AsnStanding {
    pub user_id: String,
    pub nip: String,
    pub name: String,
    pub opd_id: Option<String>,
    pub kecamatan_code: Option<String>,
    pub position_class: String,
    pub required_amount: Rupiah,
    pub spent_amount: Rupiah,
    pub remaining_amount: Rupiah,
    pub compliant: bool,
    /// False when no minimum was in force for the class that month (required is then 0).
    pub policy_found: bool,
    #[serde(skip)]
    pub email: Option<String>,
}

/// Summary of a group (an OPD, a kecamatan, or everyone).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Compliance {
    pub asn_count: u64,
    pub compliant_count: u64,
    pub total_spent: Rupiah,
    /// Compliant ASN as a percentage of all, to one decimal.
    pub compliance_rate: f64,
}

impl Compliance {
    fn add(&mut self, s: &AsnStanding) {
        self.asn_count += 1;
        if s.compliant {
            self.compliant_count += 1;
        }
        self.total_spent = self
            .total_spent
            .checked_add(s.spent_amount)
            .unwrap_or(self.total_spent);
    }

    fn finish(&mut self) {
        self.compliance_rate = if self.asn_count == 0 {
            0.0
        } else {
            (self.compliant_count as f64 * 1000.0 / self.asn_count as f64).round() / 10.0
        };
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdCompliance {
    pub opd_id: String,
    pub opd_code: String,
    pub opd_name: String,
    #[serde(flatten)]
    pub compliance: Compliance,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KecamatanCompliance {
    pub kecamatan_code: String,
    pub kecamatan_name: String,
    #[serde(flatten)]
    pub compliance: Compliance,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplianceReport {
    pub period: Period,
    /// Position classes of ASN in the report that had no minimum in force this month.
    pub classes_without_policy: Vec<String>,
    pub totals: Compliance,
    pub opds: Vec<OpdCompliance>,
    pub kecamatans: Vec<KecamatanCompliance>,
    pub asns: Vec<AsnStanding>,
}

/// Filters of the compliance report.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub opd_id: Option<String>,
    pub kecamatan: Option<String>,
    pub user_id: Option<String>,
}

/// The report's filter for `caller`: an OPD admin sees only its own OPD (another OPD is 404,
/// an OPD admin without one 403); admins see any OPD or all. A kecamatan must be an official
/// code. The API and the web console both read the report through this.
pub fn filter_for(
    state: &AppState,
    caller: &Caller,
    opd_id: Option<&str>,
    kecamatan: Option<&str>,
) -> ApiResult<ReportFilter> {
    let opd_id = if caller.role == peken_kernel::auth::Role::OpdAdmin {
        let own = caller.opd_id.clone().ok_or_else(ApiError::forbidden)?;
        if opd_id.is_some_and(|o| o != own) {
            return Err(ApiError::not_found("OPD"));
        }
        Some(own)
    } else {
        opd_id.map(str::to_owned)
    };
    if let Some(kec) = kecamatan
        && state.regions.kecamatan(kec).is_none()
    {
        return Err(ApiError::field(
            "kecamatan",
            "unknown_region",
            "not an official kecamatan code",
        ));
    }
    Ok(ReportFilter {
        opd_id,
        kecamatan: kecamatan.map(str::to_owned),
        user_id: None,
    })
}

/// The month a report is asked for (`YYYY-MM`), the current WIB month when absent.
pub fn period_param(state: &AppState, raw: Option<&str>) -> ApiResult<Period> {
    match raw {
        None => Ok(Period::of(state.now())),
        Some(p) => {
            Period::parse(p).map_err(|e| ApiError::field("period", "invalid_period", e.to_string()))
        }
    }
}

/// Every ASN's standing for `period`, each counted in the OPD it belonged to at the month's
/// end: identity's roster in one statement, the month's spend in another, joined here with the
/// minimums.
pub async fn standings(
    state: &AppState,
    conn: &DatabaseConnection,
    period: Period,
    filter: &ReportFilter,
) -> ApiResult<Vec<AsnStanding>> {
    let mut rows = Standings::open(state, conn, period, filter).await?;
    let mut out = Vec::new();
    while let Some(s) = rows.next().await? {
        out.push(s);
    }
    Ok(out)
}

/// The standings one ASN at a time, as identity's roster arrives from the database: the
/// minimums and the month's spend are read first, the roster is streamed.
pub struct Standings {
    roster: peken_identity::roster::RosterStream,
    minimum: HashMap<String, Rupiah>,
    spent: HashMap<String, Rupiah>,
    filter: ReportFilter,
    regions: Arc<Regions>,
}

impl Standings {
    pub async fn open(
        state: &AppState,
        conn: &DatabaseConnection,
        period: Period,
        filter: &ReportFilter,
    ) -> ApiResult<Self> {
        let policies = list_policies(conn).await?;
        let spent = spend_of(conn, period, filter.user_id.as_deref()).await?;
        let roster = peken_identity::roster::roster_stream(
            conn,
            period.end_utc(),
            filter.user_id.as_deref(),
        )
        .await?;
        Ok(Self {
            roster,
            minimum: minimums(&policies, period),
            spent,
            filter: filter.clone(),
            regions: state.regions.clone(),
        })
    }

    /// The next ASN the filter keeps, or `None` after the last.
    pub async fn next(&mut self) -> ApiResult<Option<AsnStanding>> {
        while let Some(person) = self.roster.next().await? {
            let kecamatan = person
                .domicile_kelurahan_code
                .as_deref()
                .or(person.work_kelurahan_code.as_deref())
                .and_then(|k| self.regions.kelurahan(k))
                .and_then(|k| k.kecamatan())
                .map(|k| k.as_str().to_owned());
            if self
                .filter
                .opd_id
                .as_ref()
                .is_some_and(|f| person.opd_id.as_ref() != Some(f))
                || self
                    .filter
                    .kecamatan
                    .as_ref()
                    .is_some_and(|f| kecamatan.as_ref() != Some(f))
            {
                continue;
            }
            let required = self.minimum.get(&person.position_class).copied();
            let spent = self
                .spent
                .get(&person.user_id)
                .copied()
                .unwrap_or(Rupiah::ZERO);
            let required_amount = required.unwrap_or(Rupiah::ZERO);
            let remaining = required_amount
                .checked_sub(spent)
                .filter(|r| r.is_positive())
                .unwrap_or(Rupiah::ZERO);
            return Ok(Some(AsnStanding {
                user_id: person.user_id,
                nip: person.nip,
                name: person.name,
                email: person.email,
                opd_id: person.opd_id,
                kecamatan_code: kecamatan,
                position_class: person.position_class,
                required_amount,
                spent_amount: spent,
                remaining_amount: remaining,
                compliant: spent >= required_amount,
                policy_found: required.is_some(),
            }));
        }
        Ok(None)
    }
}

/// The report without its per-ASN rows: what they add up to.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceSummary {
    pub classes_without_policy: Vec<String>,
    pub totals: Compliance,
    pub opds: Vec<OpdCompliance>,
    pub kecamatans: Vec<KecamatanCompliance>,
}

/// A report being read: each ASN's standing as it comes, added to the totals as it passes, so
/// the rows can be written out one by one (the API's JSON and CSV) or kept (the console).
pub struct ReportRun {
    pub period: Period,
    standings: Standings,
    opd_names: HashMap<String, (String, String)>,
    totals: Compliance,
    by_opd: BTreeMap<String, Compliance>,
    by_kecamatan: BTreeMap<String, Compliance>,
    without: Vec<String>,
}

/// The columns of the report's per-ASN rows (CSV and XLSX).
pub const COLUMNS: [&str; 11] = [
    "period",
    "nip",
    "name",
    "opd_code",
    "kecamatan_code",
    "position_class",
    "required_amount",
    "spent_amount",
    "remaining_amount",
    "compliant",
    "policy_found",
];

impl ReportRun {
    /// Starts the report on the read connection (the replica while it is fresh).
    pub async fn open(state: &AppState, period: Period, filter: &ReportFilter) -> ApiResult<Self> {
        let read = state.read_db();
        let conn = read.connection();
        let opd_names = peken_identity::roster::opd_names(conn).await?;
        let standings = Standings::open(state, conn, period, filter).await?;
        Ok(Self {
            period,
            standings,
            opd_names,
            totals: Compliance::default(),
            by_opd: BTreeMap::new(),
            by_kecamatan: BTreeMap::new(),
            without: Vec::new(),
        })
    }

    /// The next ASN, counted in the totals.
    pub async fn next(&mut self) -> ApiResult<Option<AsnStanding>> {
        let Some(s) = self.standings.next().await? else {
            return Ok(None);
        };
        self.totals.add(&s);
        if let Some(opd) = &s.opd_id {
            self.by_opd.entry(opd.clone()).or_default().add(&s);
        }
        if let Some(kec) = &s.kecamatan_code {
            self.by_kecamatan.entry(kec.clone()).or_default().add(&s);
        }
        if !s.policy_found && !self.without.contains(&s.position_class) {
            self.without.push(s.position_class.clone());
        }
        Ok(Some(s))
    }

    /// One ASN's row as the CSV and the workbook show it.
    pub fn row(&self, s: &AsnStanding) -> Vec<Value> {
        let opd_code = s
            .opd_id
            .as_deref()
            .and_then(|o| self.opd_names.get(o))
            .map(|(code, _)| code.as_str())
            .unwrap_or_default();
        vec![
            Value::from(self.period.to_string()),
            Value::from(&s.nip),
            Value::from(&s.name),
            Value::from(opd_code),
            Value::from(s.kecamatan_code.as_deref().unwrap_or_default()),
            Value::from(&s.position_class),
            s.required_amount.into(),
            s.spent_amount.into(),
            s.remaining_amount.into(),
            Value::Bool(s.compliant),
            Value::Bool(s.policy_found),
        ]
    }

    /// What the rows read so far add up to (all of them, once `next` has answered `None`).
    pub fn summary(self, regions: &Regions) -> ComplianceSummary {
        let mut totals = self.totals;
        totals.finish();
        let mut without = self.without;
        without.sort();
        let opd_names = self.opd_names;
        ComplianceSummary {
            classes_without_policy: without,
            totals,
            opds: self
                .by_opd
                .into_iter()
                .map(|(opd_id, mut compliance)| {
                    compliance.finish();
                    let (code, name) = opd_names.get(&opd_id).cloned().unwrap_or_default();
                    OpdCompliance {
                        opd_id,
                        opd_code: code,
                        opd_name: name,
                        compliance,
                    }
                })
                .collect(),
            kecamatans: self
                .by_kecamatan
                .into_iter()
                .map(|(code, mut compliance)| {
                    compliance.finish();
                    KecamatanCompliance {
                        kecamatan_name: regions
                            .get(&code)
                            .map(|r| r.name.clone())
                            .unwrap_or_default(),
                        kecamatan_code: code,
                        compliance,
                    }
                })
                .collect(),
        }
    }
}

/// The whole report, its rows kept (the console's page; the API streams them instead).
pub async fn report(
    state: &AppState,
    period: Period,
    filter: &ReportFilter,
) -> ApiResult<ComplianceReport> {
    let mut run = ReportRun::open(state, period, filter).await?;
    let mut asns = Vec::new();
    while let Some(s) = run.next().await? {
        asns.push(s);
    }
    let summary = run.summary(&state.regions);
    Ok(ComplianceReport {
        period,
        classes_without_policy: summary.classes_without_policy,
        totals: summary.totals,
        opds: summary.opds,
        kecamatans: summary.kecamatans,
        asns,
    })
}

/// The report's totals alone: the rows are counted as they pass and none is kept (the
/// console's trend over the past months).
pub async fn summary(
    state: &AppState,
    period: Period,
    filter: &ReportFilter,
) -> ApiResult<ComplianceSummary> {
    let mut run = ReportRun::open(state, period, filter).await?;
    while run.next().await?.is_some() {}
    Ok(run.summary(&state.regions))
}

/// What each ASN (or only `user_id`) paid in `period`, from the spend kept at payment.
async fn spend_of<C: ConnectionTrait>(
    conn: &C,
    period: Period,
    user_id: Option<&str>,
) -> ApiResult<HashMap<String, Rupiah>> {
    let mut sql =
        String::from("SELECT user_id, spent_amount FROM asn_monthly_spend WHERE period = $1");
    let mut values: Vec<sea_orm::Value> = vec![period.to_string().into()];
    if let Some(user_id) = user_id {
        sql.push_str(" AND user_id = $2");
        values.push(user_id.into());
    }
    let rows = peken_kernel::sql::query(conn, sql, values).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get("", "user_id")?,
            Rupiah::new(r.try_get("", "spent_amount")?),
        );
    }
    Ok(out)
}

/// Sends each ASN still short of the month's minimum one reminder, once the month has no more
/// working days left than the policy says. Dedupe keys make it once per ASN and month even
/// with several processes; a finished run is remembered so later passes cost one query.
/// Whether the month's reminders went out, and when they go: once no more than
/// `working_days` working days are left in the month.
#[derive(Debug, Clone)]
pub struct ReminderStatus {
    pub sent_at: Option<DateTime<Utc>>,
    pub working_days: u32,
}

pub async fn reminder_status(state: &AppState, period: Period) -> ApiResult<ReminderStatus> {
    let policies = state.policies.get(&state.db).await?;
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            state.db.get_database_backend(),
            "SELECT completed_at FROM mandate_reminder_runs WHERE period = $1",
            [period.to_string().into()],
        ))
        .await?;
    Ok(ReminderStatus {
        sent_at: row
            .map(|r| r.try_get::<DateTime<Utc>>("", "completed_at"))
            .transpose()?,
        working_days: policies.mandate_reminder_working_days,
    })
}

pub async fn send_reminders(state: &AppState) -> ApiResult<usize> {
    let now = state.now();
    let today = wib_date(now);
    let period = Period::of(now);
    let policies = state.policies.get(&state.db).await?;
    if state.calendar.working_days_left_in_month(today) > policies.mandate_reminder_working_days {
        return Ok(0);
    }
    let backend = state.db.get_database_backend();
    let done = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT period FROM mandate_reminder_runs WHERE period = $1",
            [period.to_string().into()],
        ))
        .await?;
    if done.is_some() {
        return Ok(0);
    }
    let short: Vec<AsnStanding> = standings(state, &state.db, period, &ReportFilter::default())
        .await?
        .into_iter()
        .filter(|s| s.policy_found && !s.compliant && s.email.is_some())
        .collect();
    let deadline = period.last_day();
    let txn = state.db.begin().await?;
    for s in &short {
        enqueue_reminder(&txn, s, period, deadline, now).await?;
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO mandate_reminder_runs (period, reminded, completed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (period) DO NOTHING",
        [
            period.to_string().into(),
            (short.len() as i64).into(),
            now.into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    if !short.is_empty() {
        tracing::info!(count = short.len(), %period, "mandate reminders queued");
    }
    Ok(short.len())
}

async fn enqueue_reminder<C: ConnectionTrait>(
    conn: &C,
    s: &AsnStanding,
    period: Period,
    deadline: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(email) = s.email.clone() else {
        return Ok(());
    };
    peken_mail::enqueue(
        conn,
        Mail {
            to: email,
            to_name: Some(s.name.clone()),
            user_id: Some(s.user_id.clone()),
            template: Template::MandateReminder {
                asn_name: s.name.clone(),
                period: period.to_string(),
                required: s.required_amount,
                spent: s.spent_amount,
                remaining: s.remaining_amount,
                deadline,
            },
            dedupe_key: crate::reminders::reminder_key(period, &s.user_id),
        },
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(class: &str, from: &str, amount: i64) -> MandatePolicy {
        MandatePolicy {
            position_class: class.into(),
            min_amount: Rupiah::new(amount),
            effective_from: Period::parse(from).expect("period"),
        }
    }

    #[test]
    fn the_latest_policy_at_or_before_the_month_applies() {
        let policies = [
            policy("camat", "2026-01", 2_000_000),
            policy("camat", "2026-12", 2_500_000),
            policy("staf", "2026-06", 500_000),
        ];
        let nov = minimums(&policies, Period::parse("2026-11").expect("p"));
        assert_eq!(
            nov["camat"],
            Rupiah::new(2_000_000),
            "next month's policy does not apply yet"
        );
        assert_eq!(nov["staf"], Rupiah::new(500_000));
        let dec = minimums(&policies, Period::parse("2026-12").expect("p"));
        assert_eq!(dec["camat"], Rupiah::new(2_500_000));
        let may = minimums(&policies, Period::parse("2026-05").expect("p"));
        assert!(
            !may.contains_key("staf"),
            "no policy before its first month"
        );
    }
}
