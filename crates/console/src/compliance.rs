//! The ASN mandate's compliance for admins (every OPD, by OPD and by kecamatan) and OPD admins
//! (their own OPD only, through the same filter as the API), with who is still short.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::export::{self, ExportParams, Format, Table, Value};
use peken_kernel::{ApiError, AppState, role_set};
use peken_order::mandate::{self, ComplianceReport};
use serde::Deserialize;

use crate::chart::BarChart;
use crate::page::{self, Frame, Page};
use crate::session::signed_in;

// The roles of the API's `GET /reports/mandate-compliance`.
role_set!(pub ComplianceReaders = [Admin, OpdAdmin]);

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/compliance", web::get().to(show))
        .route("/compliance/export", web::get().to(download));
}

const PAGE: &str = "/console/compliance";

#[derive(Deserialize)]
struct Query {
    period: Option<String>,
    opd_id: Option<String>,
}

impl Query {
    fn period(&self) -> Option<&str> {
        self.period
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }

    fn opd(&self) -> Option<&str> {
        self.opd_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

struct GroupRow {
    /// The OPD's id for a drill-down link (empty for other groups).
    link: String,
    name: String,
    asn_count: u64,
    compliant_count: u64,
    rate: String,
    spent: String,
}

struct ShortRow {
    nip: String,
    name: String,
    opd: String,
    required: String,
    spent: String,
    remaining: String,
    /// This month's reminder to this ASN: whether and when it went.
    reminder: String,
}

/// A reminder's standing as the office reads it.
fn reminder_label(found: Option<&peken_order::reminders::AsnReminder>) -> String {
    match found {
        None => "Belum dikirim".to_owned(),
        Some(r) => match (r.status.as_str(), r.sent_at) {
            ("sent", Some(at)) => format!("Terkirim {}", crate::page::wib(at)),
            ("failed", _) => format!(
                "Gagal dikirim (diantrekan {})",
                crate::page::wib(r.queued_at)
            ),
            _ => format!("Dalam antrean sejak {}", crate::page::wib(r.queued_at)),
        },
    }
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct Compliance {
    frame: Frame,
    period: String,
    opd_id: String,
    /// Whether the caller may see every OPD (an admin), so a single OPD links back to all.
    all_opds: bool,
    totals: GroupRow,
    opds: Vec<GroupRow>,
    kecamatans: Vec<GroupRow>,
    chart: BarChart,
    kecamatan_chart: BarChart,
    trend: Vec<GroupRow>,
    trend_chart: BarChart,
    reminders_sent: Option<String>,
    reminder_days: u32,
    short: Vec<ShortRow>,
    short_total: usize,
    classes_without_policy: Vec<String>,
}

fn group(name: String, c: &mandate::Compliance) -> GroupRow {
    GroupRow {
        link: String::new(),
        name,
        asn_count: c.asn_count,
        compliant_count: c.compliant_count,
        rate: format!("{:.1}%", c.compliance_rate),
        spent: c.total_spent.format_idr(),
    }
}

async fn report(
    state: &AppState,
    caller: &peken_kernel::auth::Caller,
    query: &Query,
) -> Result<ComplianceReport, ApiError> {
    let period = mandate::period_param(state, query.period())?;
    let filter = mandate::filter_for(state, caller, query.opd(), None)?;
    mandate::report(state, period, &filter).await
}

/// How many months the trend shows, the report's month last.
const TREND_MONTHS: usize = 6;

/// Bars of compliance rates (0 to 100%).
fn rate_chart<'a>(
    title: String,
    rows: impl Iterator<Item = (String, &'a mandate::Compliance)>,
) -> BarChart {
    BarChart::new(
        title,
        100.0,
        rows.map(|(label, c)| {
            (
                label,
                c.compliance_rate,
                format!("{:.1}%", c.compliance_rate),
            )
        })
        .collect(),
    )
}

/// The most short ASN listed on the page; the download has them all.
const SHORT_SHOWN: usize = 200;

async fn show(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            let session = signed_in::<ComplianceReaders>(&state, &req).await?;
            let report = report(&state, &session.caller, &query).await?;
            let opd_names: std::collections::HashMap<&str, &str> = report
                .opds
                .iter()
                .map(|o| (o.opd_id.as_str(), o.opd_name.as_str()))
                .collect();
            let chart = rate_chart(
                format!("Kepatuhan ASN per OPD, {}", report.period),
                report
                    .opds
                    .iter()
                    .map(|o| (o.opd_name.clone(), &o.compliance)),
            );
            // The same filter month by month: an OPD admin's trend is its own OPD's.
            let filter = mandate::filter_for(&state, &session.caller, query.opd(), None)?;
            let mut trend = Vec::with_capacity(TREND_MONTHS);
            let mut month = report.period;
            for _ in 0..TREND_MONTHS {
                let totals = if month == report.period {
                    report.totals.clone()
                } else {
                    mandate::summary(&state, month, &filter).await?.totals
                };
                trend.push((month, totals));
                month = month.prev();
            }
            trend.reverse();
            let reminders = mandate::reminder_status(&state, report.period).await?;
            let short_asns: Vec<&mandate::AsnStanding> =
                report.asns.iter().filter(|a| !a.compliant).collect();
            let short_total = short_asns.len();
            let shown: Vec<String> = short_asns
                .iter()
                .take(SHORT_SHOWN)
                .map(|a| a.user_id.clone())
                .collect();
            let reminded =
                peken_order::reminders::reminders_of(&state, report.period, &shown).await?;
            let short: Vec<ShortRow> = short_asns
                .into_iter()
                .take(SHORT_SHOWN)
                .map(|a| ShortRow {
                    reminder: reminder_label(reminded.get(&a.user_id)),
                    nip: a.nip.clone(),
                    name: a.name.clone(),
                    opd: a
                        .opd_id
                        .as_deref()
                        .and_then(|o| opd_names.get(o).copied())
                        .unwrap_or("–")
                        .to_owned(),
                    required: a.required_amount.format_idr(),
                    spent: a.spent_amount.format_idr(),
                    remaining: a.remaining_amount.format_idr(),
                })
                .collect();
            page::ok(&Compliance {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                period: report.period.to_string(),
                opd_id: query.opd().unwrap_or_default().to_owned(),
                all_opds: session.caller.role == peken_kernel::auth::Role::Admin,
                totals: group("Semua".to_owned(), &report.totals),
                opds: report
                    .opds
                    .iter()
                    .map(|o| GroupRow {
                        link: o.opd_id.clone(),
                        ..group(o.opd_name.clone(), &o.compliance)
                    })
                    .collect(),
                kecamatans: report
                    .kecamatans
                    .iter()
                    .map(|k| group(k.kecamatan_name.clone(), &k.compliance))
                    .collect(),
                chart,
                kecamatan_chart: rate_chart(
                    format!("Kepatuhan ASN per kecamatan, {}", report.period),
                    report
                        .kecamatans
                        .iter()
                        .map(|k| (k.kecamatan_name.clone(), &k.compliance)),
                ),
                trend_chart: rate_chart(
                    format!("Kepatuhan ASN enam bulan sampai {}", report.period),
                    trend.iter().map(|(p, c)| (p.to_string(), c)),
                ),
                trend: trend.iter().map(|(p, c)| group(p.to_string(), c)).collect(),
                reminders_sent: reminders.sent_at.map(crate::page::wib),
                reminder_days: reminders.working_days,
                short,
                short_total,
                classes_without_policy: report.classes_without_policy.clone(),
            })
        }
        .await,
    )
}

/// The chart's numbers (one row per OPD) as CSV or XLSX.
fn opd_table(report: &ComplianceReport) -> Table {
    let mut table = Table::new(
        "Kepatuhan per OPD",
        &[
            "period",
            "opd_code",
            "opd_name",
            "asn_count",
            "compliant_count",
            "compliance_rate_percent",
            "total_spent",
        ],
    );
    for o in &report.opds {
        table.push(vec![
            Value::Text(report.period.to_string()),
            Value::Text(o.opd_code.clone()),
            Value::Text(o.opd_name.clone()),
            Value::Number(o.compliance.asn_count as i64),
            Value::Number(o.compliance.compliant_count as i64),
            Value::Text(format!("{:.1}", o.compliance.compliance_rate)),
            o.compliance.total_spent.into(),
        ]);
    }
    table
}

#[derive(Deserialize)]
struct ExportQuery {
    period: Option<String>,
    opd_id: Option<String>,
    format: Option<String>,
}

async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ExportQuery>,
) -> Page {
    Page(
        async {
            let session = signed_in::<ComplianceReaders>(&state, &req).await?;
            let format = match query.format.as_deref() {
                Some("xlsx") => Format::Xlsx,
                _ => Format::Csv,
            };
            let inner = Query {
                period: query.period.clone(),
                opd_id: query.opd_id.clone(),
            };
            let report = report(&state, &session.caller, &inner).await?;
            let params = ExportParams {
                format: Some(format),
                ..ExportParams::default()
            };
            Ok(export::respond(
                &req,
                &params,
                &format!("kepatuhan-opd-{}", report.period),
                &(),
                || opd_table(&report),
            )?)
        }
        .await,
    )
}
