//! What the city's offices (OPD) spent through the marketplace on micro and small businesses
//! and cooperatives, per OPD and WIB month, against the share the city targets
//! (`Policies::opd_small_business_target_bps`), and by the kecamatan of the shops.
//!
//! An order counts in the month of its payment (as an ASN's spend), at its total before tax
//! withholding (what the budget spent) less what was refunded of it. A shop is a cooperative by
//! its kind (`koperasi`); any other shop is micro, small or neither (medium, large) by its
//! annual sales in the year of the month (PP 7/2021, the journal's `turnover_years`, the same
//! class the programme's class reports show). Every OPD is listed, the ones that bought nothing
//! included, with every month of the range.

use std::collections::{BTreeMap, HashMap};

use peken_kernel::export::{Table, Value};
use peken_kernel::money::round_half_up_div;
use peken_kernel::period::Period;
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::read;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::programme;
use super::turnover::umkm_class;

/// The longest range of one report, in months.
pub const MAX_MONTHS: u32 = 120;

/// Who the report is about: every OPD or one, every shop or one kecamatan's.
#[derive(Debug, Clone, Default)]
pub struct SpendScope {
    pub opd_id: Option<String>,
    pub kecamatan_code: Option<String>,
}

/// Spend split by the kind of business that received it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpendFigures {
    /// Orders with something left after refunds.
    pub orders: i64,
    pub total_amount: Rupiah,
    pub micro_amount: Rupiah,
    pub small_amount: Rupiah,
    pub cooperative_amount: Rupiah,
    /// Medium and large businesses.
    pub other_amount: Rupiah,
    /// Micro + small + cooperatives: what counts towards the target.
    pub qualifying_amount: Rupiah,
    /// `qualifying_amount / total_amount` in basis points, rounded half up; absent without
    /// spend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_bps: Option<i64>,
}

impl SpendFigures {
    fn add(&mut self, class: Receiver, orders: i64, amount: i64) {
        let bump = |r: &mut Rupiah| *r = Rupiah::new(r.get().saturating_add(amount));
        self.orders = self.orders.saturating_add(orders);
        bump(&mut self.total_amount);
        match class {
            Receiver::Micro => bump(&mut self.micro_amount),
            Receiver::Small => bump(&mut self.small_amount),
            Receiver::Cooperative => bump(&mut self.cooperative_amount),
            Receiver::Other => bump(&mut self.other_amount),
        }
        if class != Receiver::Other {
            bump(&mut self.qualifying_amount);
        }
    }

    fn finish(mut self) -> Self {
        self.share_bps = if self.total_amount.get() > 0 {
            round_half_up_div(
                i128::from(self.qualifying_amount.get()) * 10_000,
                i128::from(self.total_amount.get()),
            )
        } else {
            None
        };
        self
    }

    fn meets(&self, target_bps: u32) -> bool {
        self.share_bps.is_some_and(|s| s >= i64::from(target_bps))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiver {
    Micro,
    Small,
    Cooperative,
    Other,
}

fn receiver(kind: &str, annual_sales: i64) -> Receiver {
    if kind == "koperasi" {
        return Receiver::Cooperative;
    }
    match umkm_class(annual_sales) {
        "mikro" => Receiver::Micro,
        "kecil" => Receiver::Small,
        _ => Receiver::Other,
    }
}

/// One OPD's spend in one month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdSpendMonth {
    /// `YYYY-MM`, WIB.
    pub period: String,
    pub spend: SpendFigures,
    pub meets_target: bool,
}

/// One OPD's spend in one month at the shops of one kecamatan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdSpendKecamatan {
    pub period: String,
    pub kecamatan_code: String,
    pub kecamatan_name: String,
    pub spend: SpendFigures,
}

/// One OPD over the range.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdSpend {
    pub opd_id: String,
    pub opd_code: String,
    pub opd_name: String,
    /// The whole range.
    pub spend: SpendFigures,
    /// Whether the range's share reaches the target (false without spend).
    pub meets_target: bool,
    /// Every month of the range, months without spend included.
    pub months: Vec<OpdSpendMonth>,
    /// The months and kecamatan with spend.
    pub by_kecamatan: Vec<OpdSpendKecamatan>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdSpendReport {
    pub from: String,
    pub to: String,
    /// The city's target share of OPD spend for micro and small businesses and cooperatives,
    /// in basis points.
    pub target_share_bps: u32,
    /// Set when the report covers one kecamatan's shops only (a camat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
    pub opds: Vec<OpdSpend>,
    /// Every OPD of the report together.
    pub spend: SpendFigures,
}

/// Checks a range: `from` not after `to` (as the programme's other reports), at most
/// [`MAX_MONTHS`] months.
pub fn check_range(from: Period, to: Period) -> ApiResult<()> {
    programme::check_range(from, to)?;
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
    if months > MAX_MONTHS as i32 {
        return Err(ApiError::field(
            "to",
            "range_too_long",
            format!("the report covers at most {MAX_MONTHS} months"),
        ));
    }
    Ok(())
}

/// The report, in four statements whatever the range: OPDs, spend lines, shops, turnover.
pub async fn report<C: ConnectionTrait>(
    conn: &C,
    regions: &Regions,
    scope: &SpendScope,
    from: Period,
    to: Period,
    target_share_bps: u32,
) -> ApiResult<OpdSpendReport> {
    check_range(from, to)?;
    let opds: Vec<_> = peken_identity::people::opds(conn)
        .await?
        .into_iter()
        .filter(|o| scope.opd_id.as_ref().is_none_or(|id| *id == o.id))
        .collect();
    let lines =
        peken_order::opd::spend::spend_lines(conn, from, to, scope.opd_id.as_deref()).await?;
    let mut merchant_ids: Vec<String> = lines.iter().map(|l| l.merchant_id.clone()).collect();
    merchant_ids.sort();
    merchant_ids.dedup();
    let shops: HashMap<String, (String, String)> =
        peken_merchant::facts::facts(conn, &merchant_ids)
            .await?
            .into_iter()
            .map(|(id, f)| (id, (f.kind, f.kecamatan_code)))
            .collect();
    let years: Vec<i32> = (from.year()..=to.year()).collect();
    let sales: HashMap<(String, i32), i64> = read::turnover_of_years(conn, &years)
        .await?
        .into_iter()
        .map(|(id, year, amount)| ((id, year), amount))
        .collect();

    // (opd, period) and (opd, period, kecamatan) → figures.
    let mut monthly: HashMap<(String, Period), SpendFigures> = HashMap::new();
    let mut local: BTreeMap<(String, Period, String), SpendFigures> = BTreeMap::new();
    for line in &lines {
        let Some((kind, kecamatan)) = shops.get(&line.merchant_id) else {
            continue;
        };
        if scope
            .kecamatan_code
            .as_ref()
            .is_some_and(|k| k != kecamatan)
        {
            continue;
        }
        let annual = sales
            .get(&(line.merchant_id.clone(), line.period.year()))
            .copied()
            .unwrap_or(0);
        let class = receiver(kind, annual);
        monthly
            .entry((line.opd_id.clone(), line.period))
            .or_default()
            .add(class, line.orders, line.amount);
        local
            .entry((line.opd_id.clone(), line.period, kecamatan.clone()))
            .or_default()
            .add(class, line.orders, line.amount);
    }

    let periods = programme::months_from(from, to);
    let mut all = SpendFigures::default();
    let mut out = Vec::with_capacity(opds.len());
    for opd in opds {
        let mut whole = SpendFigures::default();
        let months = periods
            .iter()
            .map(|p| {
                let spend = monthly
                    .get(&(opd.id.clone(), *p))
                    .copied()
                    .unwrap_or_default()
                    .finish();
                merge(&mut whole, &spend);
                OpdSpendMonth {
                    period: p.to_string(),
                    meets_target: spend.meets(target_share_bps),
                    spend,
                }
            })
            .collect();
        let by_kecamatan = local
            .range((opd.id.clone(), from, String::new())..)
            .take_while(|((id, _, _), _)| *id == opd.id)
            .map(|((_, p, k), spend)| OpdSpendKecamatan {
                period: p.to_string(),
                kecamatan_code: k.clone(),
                kecamatan_name: regions.get(k).map_or_else(String::new, |r| r.name.clone()),
                spend: spend.finish(),
            })
            .collect();
        merge(&mut all, &whole);
        let whole = whole.finish();
        out.push(OpdSpend {
            opd_id: opd.id,
            opd_code: opd.code,
            opd_name: opd.name,
            meets_target: whole.meets(target_share_bps),
            spend: whole,
            months,
            by_kecamatan,
        });
    }
    Ok(OpdSpendReport {
        from: from.to_string(),
        to: to.to_string(),
        target_share_bps,
        kecamatan_code: scope.kecamatan_code.clone(),
        opds: out,
        spend: all.finish(),
    })
}

fn merge(into: &mut SpendFigures, from: &SpendFigures) {
    let sum = |a: Rupiah, b: Rupiah| Rupiah::new(a.get().saturating_add(b.get()));
    into.orders = into.orders.saturating_add(from.orders);
    into.total_amount = sum(into.total_amount, from.total_amount);
    into.micro_amount = sum(into.micro_amount, from.micro_amount);
    into.small_amount = sum(into.small_amount, from.small_amount);
    into.cooperative_amount = sum(into.cooperative_amount, from.cooperative_amount);
    into.other_amount = sum(into.other_amount, from.other_amount);
    into.qualifying_amount = sum(into.qualifying_amount, from.qualifying_amount);
}

const FIGURE_COLUMNS: [&str; 8] = [
    "orders",
    "total_amount",
    "micro_amount",
    "small_amount",
    "cooperative_amount",
    "other_amount",
    "qualifying_amount",
    "share_bps",
];

fn figures(row: &mut Vec<Value>, s: &SpendFigures) {
    row.extend([
        s.orders.into(),
        s.total_amount.into(),
        s.micro_amount.into(),
        s.small_amount.into(),
        s.cooperative_amount.into(),
        s.other_amount.into(),
        s.qualifying_amount.into(),
        s.share_bps.map_or(Value::Empty, Value::from),
    ]);
}

/// One row per OPD and month (`opd_code`, `opd_name`, `period`, the figures, `target_bps`,
/// `meets_target`).
pub fn monthly_table(report: &OpdSpendReport) -> Table {
    let mut columns = vec!["opd_id", "opd_code", "opd_name", "period"];
    columns.extend(FIGURE_COLUMNS);
    columns.extend(["target_bps", "meets_target"]);
    let mut table = Table::new("Belanja OPD per bulan", &columns);
    for opd in &report.opds {
        for m in &opd.months {
            let mut row: Vec<Value> = vec![
                (&opd.opd_id).into(),
                (&opd.opd_code).into(),
                (&opd.opd_name).into(),
                (&m.period).into(),
            ];
            figures(&mut row, &m.spend);
            row.push(i64::from(report.target_share_bps).into());
            row.push(if m.meets_target { "ya" } else { "tidak" }.into());
            table.push(row);
        }
    }
    table
}

/// One row per OPD, month and kecamatan of the shops with spend.
pub fn kecamatan_table(report: &OpdSpendReport) -> Table {
    let mut columns = vec![
        "opd_id",
        "opd_code",
        "opd_name",
        "period",
        "kecamatan_code",
        "kecamatan_name",
    ];
    columns.extend(FIGURE_COLUMNS);
    let mut table = Table::new("Belanja OPD per kecamatan", &columns);
    for opd in &report.opds {
        for k in &opd.by_kecamatan {
            let mut row: Vec<Value> = vec![
                (&opd.opd_id).into(),
                (&opd.opd_code).into(),
                (&opd.opd_name).into(),
                (&k.period).into(),
                (&k.kecamatan_code).into(),
                (&k.kecamatan_name).into(),
            ];
            figures(&mut row, &k.spend);
            table.push(row);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_follow_kind_then_class() {
        assert_eq!(receiver("koperasi", 60_000_000_000), Receiver::Cooperative);
        assert_eq!(receiver("toko_kelontong", 2_000_000_000), Receiver::Micro);
        assert_eq!(receiver("umkm", 2_000_000_001), Receiver::Small);
        assert_eq!(receiver("umkm", 15_000_000_001), Receiver::Other);
    }

    #[test]
    fn shares_round_half_up_and_need_spend() {
        let mut s = SpendFigures::default();
        s.add(Receiver::Micro, 1, 1);
        s.add(Receiver::Other, 1, 2);
        let s = s.finish();
        // 1/3 = 3333.33… bps
        assert_eq!(s.share_bps, Some(3_333));
        let mut t = SpendFigures::default();
        t.add(Receiver::Small, 1, 2);
        t.add(Receiver::Other, 0, 16_000);
        // 2/16002 = 1.2498… bps → 1
        assert_eq!(t.finish().share_bps, Some(1));
        assert!(!SpendFigures::default().finish().meets(0));
        assert_eq!(SpendFigures::default().finish().share_bps, None);
    }

    #[test]
    fn ranges_are_checked() {
        let p = |s: &str| Period::parse(s).unwrap();
        assert!(check_range(p("2021-10"), p("2026-12")).is_ok());
        assert!(check_range(p("2026-12"), p("2026-11")).is_err());
        assert!(check_range(p("2016-01"), p("2025-12")).is_ok());
        assert!(check_range(p("2016-01"), p("2026-01")).is_err());
    }
}
