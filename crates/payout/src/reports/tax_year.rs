//! A merchant's tax-year statement: the monthly turnover of one WIB calendar year, its running
//! total, the month it reached Rp500 million (the PP 55/2022 exemption for individuals), the
//! final-tax basis and the final tax at 0.5% per month, the Rp4.8 billion ceiling, and the UMKM
//! class by annual sales (PP 7/2021). Built on the turnover report, so both say the same.

use chrono::{DateTime, Utc};
use peken_document::{Document, PAGE_WIDTH, Weight};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::turnover::{UmkmClass, merchant_turnover};

/// The final tax of PP 55/2022: 0.5% of the month's gross turnover.
pub const FINAL_TAX_BPS: u32 = 50;
/// What an individual's tax year leaves untaxed (PP 55/2022).
pub const INDIVIDUAL_EXEMPTION: i64 = 500_000_000;
/// The turnover up to which the final tax may be used (PP 55/2022).
pub const CEILING: i64 = 4_800_000_000;

/// Whether a merchant of this kind is an individual taxpayer (*orang pribadi*), who has the
/// Rp500 million exemption, or a body (*badan*), which has none. A toko kelontong and a UMKM
/// are registered by their owner's NIK and taxed as the owner; a cooperative is a body, and a
/// Rumah Padat Karya is run by a group, not a person, so it is treated as one too (the choice
/// that never understates the tax).
pub fn is_individual(kind: &str) -> bool {
    matches!(kind, "toko_kelontong" | "umkm")
}

/// One month of the statement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxMonth {
    pub period: Period,
    /// Sales of orders completed in the month.
    pub gross_amount: Rupiah,
    /// Refunds of completed orders made in the month.
    pub refunds_amount: Rupiah,
    /// The month's turnover: gross less refunds (the turnover report's net).
    pub turnover_amount: Rupiah,
    /// The year's turnover from January to the end of this month.
    pub running_total_amount: Rupiah,
    /// The part of the month's turnover the final tax applies to: for an individual only what
    /// takes the running total past Rp500 million; for a body all of it. Never negative: a
    /// month whose refunds exceed its sales is taxed nothing, and the running total must climb
    /// back before a later month is taxed again.
    pub taxable_amount: Rupiah,
    /// 0.5% of the taxable amount, rounded half up to whole rupiah.
    pub tax_amount: Rupiah,
}

/// The year's totals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TaxTotals {
    pub gross_amount: Rupiah,
    pub refunds_amount: Rupiah,
    pub turnover_amount: Rupiah,
    pub taxable_amount: Rupiah,
    pub tax_amount: Rupiah,
}

/// A merchant's tax-year statement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxYearStatement {
    pub merchant_id: String,
    pub year: i32,
    pub shop_name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    /// `orang_pribadi` (toko kelontong, UMKM) or `badan` (cooperative, Rumah Padat Karya).
    pub taxpayer: String,
    pub nib: Option<String>,
    /// The shop's NPWP when it is recorded and is not the owner's NIK.
    pub npwp: Option<String>,
    /// Rp500 million for an individual, 0 for a body.
    pub exemption_amount: Rupiah,
    /// The final tax rate in basis points (50 = 0.5%).
    pub rate_bps: u32,
    /// January to December; months without sales included.
    pub months: Vec<TaxMonth>,
    pub total: TaxTotals,
    /// The first month whose running total reached Rp500 million; `null` if none did.
    pub exemption_crossed_in: Option<Period>,
    /// Rp4.8 billion: above it in a year, the final tax still applies to the rest of that year
    /// but not to the next.
    pub ceiling_amount: Rupiah,
    /// The first month whose running total went above Rp4.8 billion; `null` if none did.
    pub ceiling_exceeded_in: Option<Period>,
    /// The class by the year's turnover (PP 7/2021 art. 35).
    pub umkm_class: UmkmClass,
    pub generated_at: DateTime<Utc>,
}

/// The statement of one merchant and WIB year; `None` for an unknown merchant.
pub async fn tax_year<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    year: i32,
    now: DateTime<Utc>,
) -> ApiResult<Option<TaxYearStatement>> {
    let from =
        Period::new(year, 1).map_err(|e| ApiError::field("year", e.code(), e.to_string()))?;
    let to = Period::new(year, 12).map_err(|e| ApiError::field("year", e.code(), e.to_string()))?;
    let Some(shop) = peken_merchant::facts::shop_party(conn, merchant_id).await? else {
        return Ok(None);
    };
    let turnover = merchant_turnover(conn, merchant_id, from, to).await?;
    let individual = is_individual(&shop.kind);
    let exemption = if individual { INDIVIDUAL_EXEMPTION } else { 0 };
    let overflow = || ApiError::internal(anyhow::anyhow!("tax-year amounts overflow"));

    let mut months = Vec::with_capacity(turnover.months.len());
    let mut total = TaxTotals::default();
    let mut running = Rupiah::ZERO;
    // The running total's excess over the exemption already taxed in earlier months.
    let mut taxed_excess = Rupiah::ZERO;
    let mut exemption_crossed_in = None;
    let mut ceiling_exceeded_in = None;
    for m in &turnover.months {
        let before = running;
        running = running.checked_add(m.net_amount).ok_or_else(overflow)?;
        if individual && before.get() < exemption && running.get() >= exemption {
            exemption_crossed_in.get_or_insert(m.period);
        }
        if before.get() <= CEILING && running.get() > CEILING {
            ceiling_exceeded_in.get_or_insert(m.period);
        }
        let excess = Rupiah::new(running.get().saturating_sub(exemption).max(0));
        let taxable = Rupiah::new(excess.get().saturating_sub(taxed_excess.get()).max(0));
        taxed_excess = taxed_excess.checked_add(taxable).ok_or_else(overflow)?;
        let tax = taxable.apply_rate_bps(FINAL_TAX_BPS).ok_or_else(overflow)?;
        total.gross_amount = total
            .gross_amount
            .checked_add(m.gross_amount)
            .ok_or_else(overflow)?;
        total.refunds_amount = total
            .refunds_amount
            .checked_add(m.refunds_amount)
            .ok_or_else(overflow)?;
        total.turnover_amount = running;
        total.taxable_amount = total
            .taxable_amount
            .checked_add(taxable)
            .ok_or_else(overflow)?;
        total.tax_amount = total.tax_amount.checked_add(tax).ok_or_else(overflow)?;
        months.push(TaxMonth {
            period: m.period,
            gross_amount: m.gross_amount,
            refunds_amount: m.refunds_amount,
            turnover_amount: m.net_amount,
            running_total_amount: running,
            taxable_amount: taxable,
            tax_amount: tax,
        });
    }
    Ok(Some(TaxYearStatement {
        merchant_id: merchant_id.to_owned(),
        year,
        shop_name: shop.name,
        kind: shop.kind,
        taxpayer: if individual { "orang_pribadi" } else { "badan" }.to_owned(),
        nib: Some(shop.nib).filter(|n| !n.trim().is_empty()),
        npwp: shop.npwp,
        exemption_amount: Rupiah::new(exemption),
        rate_bps: FINAL_TAX_BPS,
        months,
        total,
        exemption_crossed_in,
        ceiling_amount: Rupiah::new(CEILING),
        ceiling_exceeded_in,
        umkm_class: turnover.umkm_class,
        generated_at: now,
    }))
}

/// The months and a last row `total` as one sheet.
pub fn table(s: &TaxYearStatement) -> Table {
    let mut table = Table::new(
        format!("Pajak {}", s.year),
        &[
            "period",
            "gross_amount",
            "refunds_amount",
            "turnover_amount",
            "running_total_amount",
            "taxable_amount",
            "tax_amount",
        ],
    );
    for m in &s.months {
        table.push(vec![
            Value::from(m.period.to_string()),
            m.gross_amount.into(),
            m.refunds_amount.into(),
            m.turnover_amount.into(),
            m.running_total_amount.into(),
            m.taxable_amount.into(),
            m.tax_amount.into(),
        ]);
    }
    let t = &s.total;
    table.push(vec![
        Value::from("total"),
        t.gross_amount.into(),
        t.refunds_amount.into(),
        t.turnover_amount.into(),
        t.turnover_amount.into(),
        t.taxable_amount.into(),
        t.tax_amount.into(),
    ]);
    table
}

/// Whole rupiah with Indonesian thousands separators, without the `Rp` (the table says so).
fn amount(r: Rupiah) -> String {
    r.format_idr().replacen("Rp", "", 1).trim().to_owned()
}

fn month_name(p: Period) -> String {
    let label = peken_mail::template::period_label(&p.to_string());
    label.split(' ').next().unwrap_or_default().to_owned()
}

const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - 50.0;

/// The statement as one A4 page in Indonesian.
pub fn render(s: &TaxYearStatement) -> ApiResult<Vec<u8>> {
    draw(s).map_err(ApiError::internal)
}

fn draw(s: &TaxYearStatement) -> Result<Vec<u8>, peken_document::DocumentError> {
    let title = format!("REKAP PEREDARAN BRUTO DAN PPh FINAL TAHUN {}", s.year);
    let mut doc = Document::new(&format!("{title} — {}", s.shop_name))?;
    let centre = PAGE_WIDTH / 2.0;
    let mut y = 60.0;
    doc.text_centred(centre, y, 13.0, Weight::Bold, &title);
    y += 16.0;
    doc.text_centred(
        centre,
        y,
        9.0,
        Weight::Regular,
        "PP 55/2022 (PPh final 0,5%) dan PP 7/2021 (kelas usaha) — Peken, Pemerintah Kota Surabaya",
    );
    y += 10.0;
    doc.line(LEFT, y, RIGHT, y, 0.8);
    y += 20.0;

    let value_x = LEFT + 130.0;
    let field = |doc: &mut Document, y: &mut f32, label: &str, value: &str| {
        doc.text(LEFT, *y, 9.5, Weight::Regular, label);
        doc.text(value_x - 8.0, *y, 9.5, Weight::Regular, ":");
        for line in doc.wrap(value, 9.5, Weight::Regular, RIGHT - value_x) {
            doc.text(value_x, *y, 9.5, Weight::Regular, &line);
            *y += 13.0;
        }
    };
    field(&mut doc, &mut y, "Nama toko", &s.shop_name);
    if let Some(nib) = &s.nib {
        field(&mut doc, &mut y, "NIB", nib);
    }
    if let Some(npwp) = &s.npwp {
        field(&mut doc, &mut y, "NPWP", npwp);
    }
    let taxpayer = if s.taxpayer == "orang_pribadi" {
        "Orang pribadi (bebas pajak atas peredaran bruto s.d. Rp 500.000.000 setahun)"
    } else {
        "Badan (tanpa batas peredaran bruto tidak kena pajak)"
    };
    field(&mut doc, &mut y, "Wajib pajak", taxpayer);
    field(&mut doc, &mut y, "Tahun pajak", &s.year.to_string());
    y += 8.0;

    // The months: right edges of the amount columns.
    let cols = [170.0, 240.0, 318.0, 400.0, 475.0, RIGHT];
    let heads = [
        "Bruto",
        "Retur",
        "Peredaran",
        "Kumulatif",
        "Dasar PPh",
        "PPh final",
    ];
    doc.text(LEFT, y, 8.5, Weight::Regular, "(dalam rupiah)");
    y += 14.0;
    doc.line(LEFT, y - 11.0, RIGHT, y - 11.0, 0.5);
    doc.text(LEFT, y, 8.5, Weight::Bold, "Bulan");
    for (right, head) in cols.iter().zip(heads) {
        doc.text_right(*right, y, 8.5, Weight::Bold, head);
    }
    y += 5.0;
    doc.line(LEFT, y, RIGHT, y, 0.5);
    y += 13.0;
    for m in &s.months {
        doc.text(LEFT, y, 8.5, Weight::Regular, &month_name(m.period));
        let values = [
            m.gross_amount,
            m.refunds_amount,
            m.turnover_amount,
            m.running_total_amount,
            m.taxable_amount,
            m.tax_amount,
        ];
        for (right, value) in cols.iter().zip(values) {
            doc.text_right(*right, y, 8.5, Weight::Regular, &amount(value));
        }
        y += 14.0;
    }
    y -= 8.0;
    doc.line(LEFT, y, RIGHT, y, 0.5);
    y += 14.0;
    let t = &s.total;
    doc.text(LEFT, y, 8.5, Weight::Bold, "Jumlah");
    let totals = [
        t.gross_amount,
        t.refunds_amount,
        t.turnover_amount,
        t.turnover_amount,
        t.taxable_amount,
        t.tax_amount,
    ];
    for (right, value) in cols.iter().zip(totals) {
        doc.text_right(*right, y, 8.5, Weight::Bold, &amount(value));
    }
    y += 26.0;

    let rp = |r: Rupiah| r.format_idr().replacen("Rp", "Rp ", 1);
    let crossed = match (s.taxpayer.as_str(), s.exemption_crossed_in) {
        ("orang_pribadi", Some(p)) => format!(
            "Peredaran bruto kumulatif mencapai Rp 500.000.000 pada {}; PPh final dikenakan atas bagian di atasnya.",
            peken_mail::template::period_label(&p.to_string())
        ),
        ("orang_pribadi", None) => {
            "Peredaran bruto kumulatif belum mencapai Rp 500.000.000: tidak ada PPh final terutang."
                .to_owned()
        }
        _ => {
            "Badan: PPh final 0,5% dikenakan atas seluruh peredaran bruto setiap bulan.".to_owned()
        }
    };
    let ceiling = match s.ceiling_exceeded_in {
        Some(p) => format!(
            "Batas Rp 4.800.000.000 terlampaui pada {}: PPh final tetap berlaku sampai akhir tahun ini, tidak untuk tahun berikutnya.",
            peken_mail::template::period_label(&p.to_string())
        ),
        None => "Batas peredaran bruto Rp 4.800.000.000 (PP 55/2022) tidak terlampaui.".to_owned(),
    };
    let class = format!(
        "Kelas usaha menurut hasil penjualan tahunan (PP 7/2021): {} (penjualan {}).",
        s.umkm_class.class,
        rp(s.umkm_class.annual_sales_amount)
    );
    let summary = format!(
        "Jumlah peredaran bruto {}; dasar pengenaan {}; PPh final terutang {}.",
        rp(t.turnover_amount),
        rp(t.taxable_amount),
        rp(t.tax_amount)
    );
    for paragraph in [summary, crossed, ceiling, class] {
        for line in doc.wrap(&paragraph, 9.5, Weight::Regular, RIGHT - LEFT) {
            doc.text(LEFT, y, 9.5, Weight::Regular, &line);
            y += 13.0;
        }
        y += 4.0;
    }
    y += 10.0;
    let note = "Peredaran bruto di sini adalah nilai pesanan yang selesai (diterima pembeli) di \
                Peken, dikurangi pengembalian dana, per bulan WIB; penjualan di luar Peken tidak \
                termasuk. Dokumen ini bukan bukti potong atau bukti setor pajak.";
    for line in doc.wrap(note, 8.0, Weight::Regular, RIGHT - LEFT) {
        doc.text(LEFT, y, 8.0, Weight::Regular, &line);
        y += 11.0;
    }
    y += 8.0;
    doc.text(
        LEFT,
        y,
        8.0,
        Weight::Regular,
        &format!(
            "Dibuat {}",
            peken_mail::template::time_label(s.generated_at)
        ),
    );
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn individuals_are_shops_and_umkm() {
        assert!(is_individual("toko_kelontong"));
        assert!(is_individual("umkm"));
        assert!(!is_individual("koperasi"));
        assert!(!is_individual("padat_karya"));
    }
}
