//! The programme's own reports, for the cooperatives office and the camat of a kecamatan: shops
//! without a sale in the last months, turnover and orders from launch, buyers per month, the
//! UMKM class of each shop per year and the shops that changed class, and the year's totals for
//! the accountability report (LKPJ). Each is a few grouped statements whatever the range; the
//! grouping by kecamatan and kind happens in memory over the shops' list.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Months, NaiveDate, Utc};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::{Period, wib_date, wib_midnight_utc};
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::read;
use peken_merchant::programme::{self as shops, ProgrammeShop};
use peken_order::programme as orders;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::turnover::umkm_class;

/// The month the programme was launched (October 2021): where the series start.
pub fn launch() -> Period {
    Period::new(2021, 10).unwrap_or_else(|_| unreachable!("a valid month"))
}

/// The longest "no sale in the last N months" asked for.
pub const MAX_DORMANT_MONTHS: u32 = 120;

/// Which shops a report covers: the whole city, or one kecamatan (a camat's).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub kecamatan_code: Option<String>,
}

impl Scope {
    pub fn city() -> Self {
        Self::default()
    }

    pub fn kecamatan(code: impl Into<String>) -> Self {
        Self {
            kecamatan_code: Some(code.into()),
        }
    }

    /// The shops of the scope, and their ids as a filter for the order and ledger reads
    /// (`None` for the whole city: no filter).
    async fn shops<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> ApiResult<(Vec<ProgrammeShop>, Option<Vec<String>>)> {
        let list = shops::shops(conn, self.kecamatan_code.as_deref()).await?;
        let ids = self
            .kecamatan_code
            .as_ref()
            .map(|_| list.iter().map(|s| s.id.clone()).collect());
        Ok((list, ids))
    }
}

fn region_name(regions: &Regions, code: &str) -> String {
    regions
        .get(code)
        .map_or_else(String::new, |r| r.name.clone())
}

/// Every month from `from` to `to`, both included.
pub(super) fn months_from(from: Period, to: Period) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = from;
    while p <= to {
        out.push(p);
        p = p.next();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shops without a sale

/// A count of one kecamatan and kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DormantGroup {
    pub kecamatan_code: String,
    pub kecamatan_name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    /// Active (verified, not suspended) shops.
    pub shops: i64,
    /// Of them, those without a sale since `since`.
    pub without_sale: i64,
    /// Of those, the ones that never sold.
    pub never_sold: i64,
}

/// A shop without a sale since `since`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DormantShop {
    pub merchant_id: String,
    pub name: String,
    pub kind: String,
    pub kecamatan_code: String,
    pub kelurahan_code: String,
    pub kelurahan_name: String,
    /// The WIB date the shop registered.
    pub registered_on: NaiveDate,
    /// The WIB date the cooperatives office verified it.
    pub verified_on: Option<NaiveDate>,
    /// The WIB date of its last paid order; absent when it never sold.
    pub last_sale_on: Option<NaiveDate>,
}

/// Active shops with no sale in the last `months` months.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DormantShops {
    pub months: u32,
    /// A sale on or after this WIB date counts: today less `months` months.
    pub since: NaiveDate,
    /// The camat's kecamatan; absent for the whole city.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
    pub shops: i64,
    pub without_sale: i64,
    pub never_sold: i64,
    pub groups: Vec<DormantGroup>,
    /// The shops without a sale, by kecamatan, kind and name.
    pub items: Vec<DormantShop>,
}

/// The WIB date from which a sale counts as "in the last `months` months".
pub fn dormant_since(now: DateTime<Utc>, months: u32) -> NaiveDate {
    let today = wib_date(now);
    today
        .checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

pub async fn dormant_shops<C: ConnectionTrait>(
    conn: &C,
    regions: &Regions,
    scope: &Scope,
    months: u32,
    now: DateTime<Utc>,
) -> ApiResult<DormantShops> {
    if !(1..=MAX_DORMANT_MONTHS).contains(&months) {
        return Err(ApiError::field(
            "months",
            "invalid_months",
            format!("months must be 1 to {MAX_DORMANT_MONTHS}"),
        ));
    }
    let since = dormant_since(now, months);
    let cutoff = wib_midnight_utc(since);
    let (list, ids) = scope.shops(conn).await?;
    let spans = orders::sales_span(conn, ids.as_deref()).await?;
    let mut groups: BTreeMap<(String, String), DormantGroup> = BTreeMap::new();
    let mut items = Vec::new();
    for shop in list.iter().filter(|s| s.status == "active") {
        let group = groups
            .entry((shop.kecamatan_code.clone(), shop.kind.clone()))
            .or_insert_with(|| DormantGroup {
                kecamatan_code: shop.kecamatan_code.clone(),
                kecamatan_name: region_name(regions, &shop.kecamatan_code),
                kind: shop.kind.clone(),
                shops: 0,
                without_sale: 0,
                never_sold: 0,
            });
        group.shops += 1;
        let last_sale = spans.get(&shop.id).map(|(_, last)| *last);
        if last_sale.is_some_and(|at| at >= cutoff) {
            continue;
        }
        group.without_sale += 1;
        if last_sale.is_none() {
            group.never_sold += 1;
        }
        items.push(DormantShop {
            merchant_id: shop.id.clone(),
            name: shop.name.clone(),
            kind: shop.kind.clone(),
            kecamatan_code: shop.kecamatan_code.clone(),
            kelurahan_code: shop.kelurahan_code.clone(),
            kelurahan_name: region_name(regions, &shop.kelurahan_code),
            registered_on: wib_date(shop.registered_at),
            verified_on: shop.verified_at.map(wib_date),
            last_sale_on: last_sale.map(wib_date),
        });
    }
    let groups: Vec<DormantGroup> = groups.into_values().collect();
    Ok(DormantShops {
        months,
        since,
        kecamatan_code: scope.kecamatan_code.clone(),
        shops: groups.iter().map(|g| g.shops).sum(),
        without_sale: groups.iter().map(|g| g.without_sale).sum(),
        never_sold: groups.iter().map(|g| g.never_sold).sum(),
        groups,
        items,
    })
}

/// The shops without a sale as one sheet, one line per shop.
pub fn dormant_table(report: &DormantShops) -> Table {
    let mut table = Table::new(
        "Toko tanpa penjualan",
        &[
            "merchant_id",
            "name",
            "kind",
            "kecamatan_code",
            "kelurahan_code",
            "kelurahan_name",
            "registered_on",
            "verified_on",
            "last_sale_on",
        ],
    );
    for s in &report.items {
        table.push(vec![
            Value::from(&s.merchant_id),
            Value::from(&s.name),
            Value::from(&s.kind),
            Value::from(&s.kecamatan_code),
            Value::from(&s.kelurahan_code),
            Value::from(&s.kelurahan_name),
            s.registered_on.into(),
            s.verified_on.into(),
            s.last_sale_on.into(),
        ]);
    }
    table
}

// ---------------------------------------------------------------------------------------------
// Turnover and orders per month

/// One WIB month of the programme.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeMonth {
    pub period: Period,
    /// Gross sales of orders completed in the month (the journal).
    pub gross_amount: Rupiah,
    /// Refunds of completed orders made in the month.
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
    pub completed_orders: i64,
    /// Orders paid in the month, whatever became of them later.
    pub paid_orders: i64,
}

/// Totals of the series.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeTotals {
    pub gross_amount: Rupiah,
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
    pub completed_orders: i64,
    pub paid_orders: i64,
}

/// Turnover and orders of every WIB month from `from` to `to`, quiet months included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeSeries {
    pub from: Period,
    pub to: Period,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
    pub months: Vec<ProgrammeMonth>,
    pub total: ProgrammeTotals,
}

/// Checks a range of months: `from` not after `to`. There is no longest range.
pub fn check_range(from: Period, to: Period) -> ApiResult<()> {
    if from > to {
        return Err(ApiError::field(
            "from",
            "invalid_range",
            "from must not be after to",
        ));
    }
    Ok(())
}

pub async fn monthly_series<C: ConnectionTrait>(
    conn: &C,
    scope: &Scope,
    from: Period,
    to: Period,
) -> ApiResult<ProgrammeSeries> {
    check_range(from, to)?;
    let (_, ids) = scope.shops(conn).await?;
    let turnover = read::turnover_by_period(conn, ids.as_deref(), from, to).await?;
    let paid =
        shops::paid_orders_by_period(conn, ids.as_deref(), &from.to_string(), &to.to_string())
            .await?;
    let turnover: HashMap<&str, &read::MonthTurnover> =
        turnover.iter().map(|m| (m.period.as_str(), m)).collect();
    let mut total = ProgrammeTotals::default();
    let months = months_from(from, to)
        .into_iter()
        .map(|period| {
            let key = period.to_string();
            let t = turnover.get(key.as_str());
            let gross = t.map_or(0, |t| t.gross);
            let refunds = t.map_or(0, |t| t.refunds);
            let month = ProgrammeMonth {
                period,
                gross_amount: Rupiah::new(gross),
                refunds_amount: Rupiah::new(refunds),
                net_amount: Rupiah::new(gross.saturating_sub(refunds)),
                completed_orders: t.map_or(0, |t| t.completed_orders),
                paid_orders: paid.get(key.as_str()).copied().unwrap_or(0),
            };
            total.gross_amount = Rupiah::new(total.gross_amount.get().saturating_add(gross));
            total.refunds_amount = Rupiah::new(total.refunds_amount.get().saturating_add(refunds));
            total.completed_orders += month.completed_orders;
            total.paid_orders += month.paid_orders;
            month
        })
        .collect();
    total.net_amount = Rupiah::new(
        total
            .gross_amount
            .get()
            .saturating_sub(total.refunds_amount.get()),
    );
    Ok(ProgrammeSeries {
        from,
        to,
        kecamatan_code: scope.kecamatan_code.clone(),
        months,
        total,
    })
}

/// The series as one sheet, one line per month and a last line `total`.
pub fn series_table(report: &ProgrammeSeries) -> Table {
    let mut table = Table::new(
        "Omzet per bulan",
        &[
            "period",
            "gross_amount",
            "refunds_amount",
            "net_amount",
            "completed_orders",
            "paid_orders",
        ],
    );
    for m in &report.months {
        table.push(vec![
            Value::from(m.period.to_string()),
            m.gross_amount.into(),
            m.refunds_amount.into(),
            m.net_amount.into(),
            Value::Number(m.completed_orders),
            Value::Number(m.paid_orders),
        ]);
    }
    let t = &report.total;
    table.push(vec![
        Value::from("total".to_owned()),
        t.gross_amount.into(),
        t.refunds_amount.into(),
        t.net_amount.into(),
        Value::Number(t.completed_orders),
        Value::Number(t.paid_orders),
    ]);
    table
}

// ---------------------------------------------------------------------------------------------
// Buyers per month

/// Distinct buyers with an order paid in one WIB month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerMonth {
    pub period: Period,
    pub buyers: i64,
    /// Civil servants (ASN).
    pub asn_buyers: i64,
    /// Residents (public buyers).
    pub public_buyers: i64,
}

/// Buyers of every WIB month from `from` to `to`, quiet months included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerSeries {
    pub from: Period,
    pub to: Period,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
    pub months: Vec<BuyerMonth>,
}

pub async fn buyer_series<C: ConnectionTrait>(
    conn: &C,
    scope: &Scope,
    from: Period,
    to: Period,
) -> ApiResult<BuyerSeries> {
    check_range(from, to)?;
    let rows = orders::monthly_buyers(
        conn,
        scope.kecamatan_code.as_deref(),
        &from.to_string(),
        &to.to_string(),
    )
    .await?;
    let by: HashMap<&str, &orders::MonthBuyers> =
        rows.iter().map(|m| (m.period.as_str(), m)).collect();
    let months = months_from(from, to)
        .into_iter()
        .map(|period| {
            let row = by.get(period.to_string().as_str()).copied();
            BuyerMonth {
                period,
                buyers: row.map_or(0, |r| r.buyers),
                asn_buyers: row.map_or(0, |r| r.asn_buyers),
                public_buyers: row.map_or(0, |r| r.public_buyers),
            }
        })
        .collect();
    Ok(BuyerSeries {
        from,
        to,
        kecamatan_code: scope.kecamatan_code.clone(),
        months,
    })
}

/// The buyers as one sheet, one line per month.
pub fn buyers_table(report: &BuyerSeries) -> Table {
    let mut table = Table::new(
        "Pembeli per bulan",
        &["period", "buyers", "asn_buyers", "public_buyers"],
    );
    for m in &report.months {
        table.push(vec![
            Value::from(m.period.to_string()),
            Value::Number(m.buyers),
            Value::Number(m.asn_buyers),
            Value::Number(m.public_buyers),
        ]);
    }
    table
}

// ---------------------------------------------------------------------------------------------
// UMKM class per year (naik kelas)

/// The order of the classes, smallest first.
fn class_rank(class: &str) -> u8 {
    match class {
        "mikro" => 0,
        "kecil" => 1,
        "menengah" => 2,
        _ => 3,
    }
}

/// A shop's class in one WIB year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClassYear {
    pub year: i32,
    /// The year's turnover from the journal (`turnover_years`): the annual sales.
    pub turnover_amount: Rupiah,
    /// `mikro` (≤ Rp2 billion), `kecil` (≤ Rp15 billion), `menengah` (≤ Rp50 billion) or
    /// `besar` (PP 7/2021 art. 35).
    pub class: String,
}

/// A shop's UMKM class for every year from launch to this year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantClasses {
    pub merchant_id: String,
    pub name: String,
    pub kind: String,
    pub kecamatan_code: String,
    pub years: Vec<ClassYear>,
}

pub async fn merchant_classes<C: ConnectionTrait>(
    conn: &C,
    shop: &ProgrammeShop,
    now: DateTime<Utc>,
) -> ApiResult<MerchantClasses> {
    let amounts: HashMap<i32, i64> = read::years_of_merchant(conn, &shop.id)
        .await?
        .into_iter()
        .collect();
    let this_year = Period::of(now).year();
    let years = (launch().year()..=this_year)
        .map(|year| {
            let amount = amounts.get(&year).copied().unwrap_or(0);
            ClassYear {
                year,
                turnover_amount: Rupiah::new(amount),
                class: umkm_class(amount).to_owned(),
            }
        })
        .collect();
    Ok(MerchantClasses {
        merchant_id: shop.id.clone(),
        name: shop.name.clone(),
        kind: shop.kind.clone(),
        kecamatan_code: shop.kecamatan_code.clone(),
        years,
    })
}

/// A shop whose class differs between the two years.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClassChange {
    pub merchant_id: String,
    pub name: String,
    pub kind: String,
    pub kecamatan_code: String,
    pub from_class: String,
    pub from_turnover_amount: Rupiah,
    pub to_class: String,
    pub to_turnover_amount: Rupiah,
    /// `up` or `down`.
    pub direction: String,
}

/// The shops whose UMKM class changed from `from_year` to `to_year`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClassChanges {
    pub from_year: i32,
    pub to_year: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
    pub up: i64,
    pub down: i64,
    pub items: Vec<ClassChange>,
}

pub async fn class_changes<C: ConnectionTrait>(
    conn: &C,
    scope: &Scope,
    from_year: i32,
    to_year: i32,
) -> ApiResult<ClassChanges> {
    if from_year >= to_year {
        return Err(ApiError::field(
            "from_year",
            "invalid_range",
            "from_year must be before to_year",
        ));
    }
    let (list, _) = scope.shops(conn).await?;
    let amounts: HashMap<(String, i32), i64> = read::turnover_of_years(conn, &[from_year, to_year])
        .await?
        .into_iter()
        .map(|(id, year, amount)| ((id, year), amount))
        .collect();
    let amount = |id: &str, year: i32| amounts.get(&(id.to_owned(), year)).copied().unwrap_or(0);
    let mut items = Vec::new();
    for shop in &list {
        let (before, after) = (amount(&shop.id, from_year), amount(&shop.id, to_year));
        let (from_class, to_class) = (umkm_class(before), umkm_class(after));
        if from_class == to_class {
            continue;
        }
        let up = class_rank(to_class) > class_rank(from_class);
        items.push(ClassChange {
            merchant_id: shop.id.clone(),
            name: shop.name.clone(),
            kind: shop.kind.clone(),
            kecamatan_code: shop.kecamatan_code.clone(),
            from_class: from_class.to_owned(),
            from_turnover_amount: Rupiah::new(before),
            to_class: to_class.to_owned(),
            to_turnover_amount: Rupiah::new(after),
            direction: if up { "up" } else { "down" }.to_owned(),
        });
    }
    let up = items.iter().filter(|c| c.direction == "up").count() as i64;
    Ok(ClassChanges {
        from_year,
        to_year,
        kecamatan_code: scope.kecamatan_code.clone(),
        up,
        down: items.len() as i64 - up,
        items,
    })
}

/// The class changes as one sheet.
pub fn class_changes_table(report: &ClassChanges) -> Table {
    let mut table = Table::new(
        "Perubahan kelas",
        &[
            "merchant_id",
            "name",
            "kind",
            "kecamatan_code",
            "from_class",
            "from_turnover_amount",
            "to_class",
            "to_turnover_amount",
            "direction",
        ],
    );
    for c in &report.items {
        table.push(vec![
            Value::from(&c.merchant_id),
            Value::from(&c.name),
            Value::from(&c.kind),
            Value::from(&c.kecamatan_code),
            Value::from(&c.from_class),
            c.from_turnover_amount.into(),
            Value::from(&c.to_class),
            c.to_turnover_amount.into(),
            Value::from(&c.direction),
        ]);
    }
    table
}

// ---------------------------------------------------------------------------------------------
// The year's totals for the accountability report (LKPJ)

/// One line of the LKPJ's sheets by kecamatan and by kind.
#[derive(Default)]
struct Group {
    registered: i64,
    active: i64,
    gross: i64,
    refunds: i64,
    orders: i64,
}

/// Builds the LKPJ workbook's sheets for one WIB year: totals, by kecamatan, by kind, by month
/// and the class changes from the year before.
pub async fn lkpj_tables<C: ConnectionTrait>(
    conn: &C,
    regions: &Regions,
    scope: &Scope,
    year: i32,
) -> ApiResult<Vec<Table>> {
    let january =
        Period::new(year, 1).map_err(|e| ApiError::field("year", e.code(), e.to_string()))?;
    let december =
        Period::new(year, 12).map_err(|e| ApiError::field("year", e.code(), e.to_string()))?;
    let year_end = december.end_utc();
    let (shop_list, ids) = scope.shops(conn).await?;
    let registered: Vec<&ProgrammeShop> = shop_list
        .iter()
        .filter(|s| s.registered_at < year_end)
        .collect();
    let first_paid = shops::first_paid_periods(conn, ids.as_deref()).await?;
    let per_shop: HashMap<String, read::MonthTurnover> =
        read::turnover_by_merchant(conn, january, december)
            .await?
            .into_iter()
            .map(|r| (r.merchant_id.clone(), r))
            .collect();
    let series = monthly_series(conn, scope, january, december).await?;
    let buyers = orders::distinct_buyers(
        conn,
        scope.kecamatan_code.as_deref(),
        &january.to_string(),
        &december.to_string(),
    )
    .await?;
    // A shop is active in the year when the journal has its turnover in it; it never sold by
    // the year's end when it has no order paid in a month up to December.
    let active: HashSet<&str> = registered
        .iter()
        .filter(|s| per_shop.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    let last_month = december.to_string();
    let never_sold = registered
        .iter()
        .filter(|s| {
            first_paid
                .get(&s.id)
                .is_none_or(|first| *first > last_month)
        })
        .count() as i64;

    let mut totals = Table::new("Total", &["measure", "value"]);
    let t = &series.total;
    for (measure, value) in [
        ("shops_registered", Value::Number(registered.len() as i64)),
        ("shops_active", Value::Number(active.len() as i64)),
        ("shops_never_sold", Value::Number(never_sold)),
        ("buyers", Value::Number(buyers.0)),
        ("asn_buyers", Value::Number(buyers.1)),
        ("public_buyers", Value::Number(buyers.2)),
        ("paid_orders", Value::Number(t.paid_orders)),
        ("completed_orders", Value::Number(t.completed_orders)),
        ("gross_amount", t.gross_amount.into()),
        ("refunds_amount", t.refunds_amount.into()),
        ("net_amount", t.net_amount.into()),
    ] {
        totals.push(vec![Value::from(measure.to_owned()), value]);
    }
    let mut by_kecamatan: BTreeMap<String, Group> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Group> = BTreeMap::new();
    for shop in &registered {
        let turnover = per_shop.get(&shop.id);
        for group in [
            by_kecamatan.entry(shop.kecamatan_code.clone()).or_default(),
            by_kind.entry(shop.kind.clone()).or_default(),
        ] {
            group.registered += 1;
            if active.contains(shop.id.as_str()) {
                group.active += 1;
            }
            if let Some(t) = turnover {
                group.gross += t.gross;
                group.refunds += t.refunds;
                group.orders += t.completed_orders;
            }
        }
    }
    let group_columns: &[&'static str] = &[
        "shops_registered",
        "shops_active",
        "completed_orders",
        "gross_amount",
        "refunds_amount",
        "net_amount",
    ];
    let group_values = |g: &Group| {
        vec![
            Value::Number(g.registered),
            Value::Number(g.active),
            Value::Number(g.orders),
            Value::Rupiah(g.gross),
            Value::Rupiah(g.refunds),
            Value::Rupiah(g.gross - g.refunds),
        ]
    };
    let mut kecamatan_columns = vec!["kecamatan_code", "kecamatan_name"];
    kecamatan_columns.extend_from_slice(group_columns);
    let mut kecamatan_sheet = Table::new("Per kecamatan", &kecamatan_columns);
    for (code, g) in &by_kecamatan {
        let mut row = vec![Value::from(code), Value::from(region_name(regions, code))];
        row.extend(group_values(g));
        kecamatan_sheet.push(row);
    }
    let mut kind_columns = vec!["kind"];
    kind_columns.extend_from_slice(group_columns);
    let mut kind_sheet = Table::new("Per jenis", &kind_columns);
    for (kind, g) in &by_kind {
        let mut row = vec![Value::from(kind)];
        row.extend(group_values(g));
        kind_sheet.push(row);
    }
    let mut month_sheet = series_table(&series);
    "Per bulan".clone_into(&mut month_sheet.sheet);
    let mut changes = class_changes_table(&class_changes(conn, scope, year - 1, year).await?);
    "Perubahan kelas".clone_into(&mut changes.sheet);
    Ok(vec![
        totals,
        kecamatan_sheet,
        kind_sheet,
        month_sheet,
        changes,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_calendar_months_back_in_wib() {
        // 2026-03-31 20:00 UTC is 1 April 2026 in WIB.
        let now = "2026-03-31T20:00:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap_or_default();
        assert_eq!(
            dormant_since(now, 3),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
        );
        assert_eq!(class_rank("besar"), 3);
        assert!(class_rank(umkm_class(2_000_000_001)) > class_rank(umkm_class(2_000_000_000)));
    }
}
