//! The remittance advice as a PDF: what a payout pays, for the shop's books. An A4 document in
//! Indonesian with the shop, the account paid (masked: paper travels, and the shop knows its
//! own number), the transfer reference, rail and dates, the bank's record once the statement
//! shows the transfer, and the table of orders, refunds and returned payouts that make up the
//! total.
//!
//! Like the purchase receipt, the document is drawn from the payout's state alone, so the same
//! state gives the same bytes and [`Advice::etag`] answers `If-None-Match` without drawing.

use chrono::{DateTime, Utc};
use peken_document::{Document, PAGE_HEIGHT, PAGE_WIDTH, Weight};
use peken_kernel::period::{parse_date, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::merchant_payouts::{LineKind, MerchantPayoutDetail, PayoutStatus};

/// Changes whenever the layout does, so that an `ETag` of the old layout no longer matches.
const LAYOUT_VERSION: &str = "remittance-1";

/// What the advice shows.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub shop_name: String,
    pub shop_address: String,
    /// The account, all but its last four digits masked.
    pub account_masked: String,
    pub payout: MerchantPayoutDetail,
}

/// Gathers the advice of a payout the caller may see.
pub async fn advice(state: &AppState, payout: MerchantPayoutDetail) -> ApiResult<Advice> {
    let shop = peken_merchant::facts::shop_party(&state.db, &payout.payout.merchant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let region_name = |code: &str| state.regions.get(code).map(|r| r.name.clone());
    let mut address = vec![shop.address.clone()];
    if let Some(kelurahan) = region_name(&shop.kelurahan_code) {
        address.push(format!("Kel. {kelurahan}"));
    }
    if let Some(kecamatan) = region_name(&shop.kecamatan_code) {
        address.push(format!("Kec. {kecamatan}"));
    }
    address.push("Kota Surabaya".to_owned());
    Ok(Advice {
        shop_name: shop.name,
        shop_address: address.join(", "),
        account_masked: peken_audit::mask_account(&payout.payout.account_number),
        payout,
    })
}

impl Advice {
    /// The file name the PDF is offered under.
    pub fn file_name(&self) -> String {
        format!("remitansi-{}.pdf", self.payout.payout.reference)
    }

    /// A strong `ETag`: a digest of everything the document shows and of the layout.
    pub fn etag(&self) -> String {
        let facts = serde_json::to_vec(self).unwrap_or_default();
        let mut digest = Sha256::new();
        digest.update(LAYOUT_VERSION.as_bytes());
        digest.update(&facts);
        let digest = digest.finalize();
        format!("\"{}\"", hex::encode(&digest[..16]))
    }

    /// The A4 PDF.
    pub fn render(&self) -> ApiResult<Vec<u8>> {
        render(self)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("rendering a remittance advice: {e}")))
    }
}

/// Rupiah as Indonesians write them: `Rp 1.234.567`, `-Rp 5.000`.
pub fn rupiah(amount: Rupiah) -> String {
    amount.format_idr().replacen("Rp", "Rp ", 1)
}

fn tanggal(at: DateTime<Utc>) -> String {
    peken_mail::template::date_label(wib_date(at))
}

fn waktu(at: DateTime<Utc>) -> String {
    peken_mail::template::time_label(at)
}

fn rail_text(rail: &str) -> &str {
    match rail {
        "BIFAST" => "BI-FAST",
        other => other,
    }
}

fn status_text(advice: &Advice) -> String {
    let p = &advice.payout.payout;
    match p.status {
        PayoutStatus::InTransit => {
            "Dalam proses transfer (belum tercatat di rekening koran)".into()
        }
        PayoutStatus::Paid => match &p.seen_on_statement {
            Some(seen) => format!(
                "Dibayar (tercatat di rekening koran, tanggal valuta {})",
                parse_date(&seen.value_date).map_or_else(
                    |_| seen.value_date.clone(),
                    peken_mail::template::date_label
                )
            ),
            None => "Dibayar".into(),
        },
        PayoutStatus::Failed => "Gagal: dana dikembalikan ke saldo toko dan dibayar ulang pada \
                                 pembayaran berikutnya"
            .into(),
    }
}

fn line_text(kind: LineKind, order: Option<&str>, payout: Option<&str>) -> String {
    let order = order.unwrap_or("-");
    match kind {
        LineKind::Order => format!("Pesanan {order}"),
        LineKind::Refund => format!("Pengembalian dana pesanan {order}"),
        LineKind::ReturnedPayout => {
            format!(
                "Pembayaran {} yang gagal, dibayar ulang",
                payout.unwrap_or("-")
            )
        }
        LineKind::Adjustment => format!("Koreksi pembukuan {order}"),
    }
}

const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - 50.0;
const TABLE_BOTTOM: f32 = 760.0;
/// Room the totals and the closing note need below the table.
const FOOTER_HEIGHT: f32 = 150.0;
const COL_NO: f32 = LEFT;
const COL_DATE: f32 = LEFT + 24.0;
const COL_TEXT: f32 = LEFT + 130.0;
const COL_TEXT_WIDTH: f32 = 250.0;
const COL_AMOUNT_RIGHT: f32 = RIGHT;

fn render(a: &Advice) -> Result<Vec<u8>, peken_document::DocumentError> {
    let p = &a.payout.payout;
    let title = "PEMBERITAHUAN PEMBAYARAN (REMITANSI)";
    let mut doc = Document::new(&format!("{title} {}", p.reference))?;
    let mut y = doc.letterhead(
        title,
        &format!("Referensi transfer: {}", p.reference),
        LEFT,
        RIGHT,
    );

    let label_x = LEFT;
    let value_x = LEFT + 130.0;
    let value_width = RIGHT - value_x;
    let field = |doc: &mut Document, y: &mut f32, label: &str, value: &str| {
        doc.text(label_x, *y, 9.5, Weight::Regular, label);
        for line in doc.wrap(value, 9.5, Weight::Regular, value_width) {
            doc.text(value_x - 8.0, *y, 9.5, Weight::Regular, ":");
            doc.text(value_x, *y, 9.5, Weight::Regular, &line);
            *y += 13.0;
        }
    };
    field(&mut doc, &mut y, "Kepada", &a.shop_name);
    field(&mut doc, &mut y, "Alamat", &a.shop_address);
    field(
        &mut doc,
        &mut y,
        "Rekening tujuan",
        &format!(
            "Bank {} · {} · a.n. {}",
            p.bank_code, a.account_masked, p.account_name
        ),
    );
    field(&mut doc, &mut y, "Jalur transfer", rail_text(&p.rail));
    field(&mut doc, &mut y, "Jumlah", &rupiah(p.amount));
    field(&mut doc, &mut y, "Data sampai", &waktu(p.cutoff));
    field(&mut doc, &mut y, "Disetujui", &waktu(p.approved_at));
    if let Some(paid) = p.paid_at {
        field(&mut doc, &mut y, "Tercatat dibayar", &waktu(paid));
    }
    if let Some(failed) = p.failed_at {
        field(&mut doc, &mut y, "Gagal", &waktu(failed));
    }
    field(&mut doc, &mut y, "Status", &status_text(a));
    if let Some(seen) = &p.seen_on_statement {
        if let Some(reference) = &seen.bank_reference {
            field(&mut doc, &mut y, "Referensi bank", reference);
        }
        field(&mut doc, &mut y, "Keterangan bank", &seen.narrative);
    }
    y += 10.0;
    doc.text(
        LEFT,
        y,
        10.0,
        Weight::Regular,
        "Pembayaran ini melunasi pesanan dan pengembalian dana berikut:",
    );
    y += 18.0;

    let header = |doc: &mut Document, y: &mut f32| {
        doc.line(LEFT, *y - 11.0, RIGHT, *y - 11.0, 0.5);
        doc.text(COL_NO, *y, 9.0, Weight::Bold, "No");
        doc.text(COL_DATE, *y, 9.0, Weight::Bold, "Tanggal");
        doc.text(COL_TEXT, *y, 9.0, Weight::Bold, "Keterangan");
        doc.text_right(COL_AMOUNT_RIGHT, *y, 9.0, Weight::Bold, "Jumlah");
        *y += 5.0;
        doc.line(LEFT, *y, RIGHT, *y, 0.5);
        *y += 13.0;
    };
    header(&mut doc, &mut y);
    for (index, line) in a.payout.lines.iter().enumerate() {
        let text = line_text(
            line.kind,
            line.order_id.as_deref(),
            line.payout_reference.as_deref(),
        );
        let text_lines = doc.wrap(&text, 9.0, Weight::Regular, COL_TEXT_WIDTH);
        let height = 12.0 * text_lines.len() as f32;
        if y + height > TABLE_BOTTOM {
            doc.new_page();
            y = 60.0;
            doc.text(
                LEFT,
                y,
                9.0,
                Weight::Regular,
                &format!("{title} — {} (lanjutan)", p.reference),
            );
            y += 25.0;
            header(&mut doc, &mut y);
        }
        doc.text(COL_NO, y, 9.0, Weight::Regular, &format!("{}.", index + 1));
        doc.text(
            COL_DATE,
            y,
            9.0,
            Weight::Regular,
            &tanggal(line.occurred_at),
        );
        doc.text_right(
            COL_AMOUNT_RIGHT,
            y,
            9.0,
            Weight::Regular,
            &rupiah(line.amount),
        );
        for text_line in &text_lines {
            doc.text(COL_TEXT, y, 9.0, Weight::Regular, text_line);
            y += 12.0;
        }
        y += 2.0;
    }
    y -= 8.0;
    doc.line(LEFT, y, RIGHT, y, 0.5);
    y += 14.0;

    if y + FOOTER_HEIGHT > PAGE_HEIGHT {
        doc.new_page();
        y = 60.0;
        doc.text(
            LEFT,
            y,
            9.0,
            Weight::Regular,
            &format!("{title} — {} (lanjutan)", p.reference),
        );
        y += 25.0;
    }
    let label_right = COL_AMOUNT_RIGHT - 120.0;
    let total_row = |doc: &mut Document, y: &mut f32, label: &str, amount: Rupiah| {
        doc.text_right(label_right, *y, 9.5, Weight::Regular, label);
        doc.text_right(COL_AMOUNT_RIGHT, *y, 9.5, Weight::Regular, &rupiah(amount));
        *y += 14.0;
    };
    total_row(&mut doc, &mut y, "Pesanan", a.payout.orders_amount);
    if a.payout.refunds_amount.get() != 0 {
        total_row(
            &mut doc,
            &mut y,
            "Pengembalian dana",
            a.payout.refunds_amount,
        );
    }
    if a.payout.other_amount.get() != 0 {
        total_row(&mut doc, &mut y, "Lain-lain", a.payout.other_amount);
    }
    doc.text_right(label_right, y, 10.0, Weight::Bold, "Total dibayarkan");
    doc.text_right(COL_AMOUNT_RIGHT, y, 10.0, Weight::Bold, &rupiah(p.amount));
    y += 26.0;
    for line in doc.wrap(
        "Jumlah per pesanan adalah yang menjadi hak toko (setelah potongan biaya layanan dan \
         pajak bila berlaku). Dokumen ini dibuat secara elektronik oleh sistem Peken dan sah \
         tanpa tanda tangan.",
        8.5,
        Weight::Regular,
        RIGHT - LEFT,
    ) {
        doc.text(LEFT, y, 8.5, Weight::Regular, &line);
        y += 11.0;
    }
    let pages = doc.page_count();
    for page in 0..pages {
        doc.set_page(page);
        doc.text_right(
            RIGHT,
            815.0,
            8.0,
            Weight::Regular,
            &format!("{} · Halaman {} dari {pages}", p.reference, page + 1),
        );
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_the_indonesian_way_refunds_negative() {
        assert_eq!(rupiah(Rupiah::new(1_234_567)), "Rp 1.234.567");
        assert_eq!(rupiah(Rupiah::new(-5_000)), "-Rp 5.000");
        assert_eq!(
            line_text(LineKind::Refund, Some("o1"), None),
            "Pengembalian dana pesanan o1"
        );
        assert_eq!(rail_text("BIFAST"), "BI-FAST");
    }
}
