//! What a mail says on a phone: the short Indonesian title and body of the inbox entry and the
//! push message that go with it, and what the app opens when it is tapped.

use serde_json::{Map, Value};

use crate::template::{Template, date_label, period_label};

/// The in-app side of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The mail template's name, e.g. `order_paid`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    /// What the app opens: string values only, e.g. `{"order_id": "…"}`.
    pub target: Map<String, Value>,
}

/// Longest body, in characters: a reason typed by a merchant can be long; a phone shows two
/// lines.
pub const MAX_BODY: usize = 200;

fn target(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

/// Cuts `text` to [`MAX_BODY`] characters, ending a cut one with `…`, and folds line breaks.
fn short(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX_BODY {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_BODY - 1).collect();
    cut.push('…');
    cut
}

impl Template {
    /// The inbox entry and push message of this mail, or `None` for mail that stays mail: codes
    /// (password reset, activation, registration) belong in the mailbox they were sent to, and
    /// the registration and reclaim notices go to people who have no account in use.
    pub fn notice(&self) -> Option<Notice> {
        let name = self.render_name();
        let (title, body, target) = match self {
            Template::OrderPaid {
                order_id,
                merchant_name,
                total,
                ..
            } => (
                "Pembayaran diterima".to_owned(),
                format!(
                    "Pesanan {order_id} di {merchant_name} sudah dibayar: {}.",
                    total.format_idr()
                ),
                target(&[("order_id", order_id)]),
            ),
            Template::OrderAccepted {
                order_id,
                merchant_name,
                short,
                refund,
                ..
            } if !short.is_empty() => (
                "Pesanan diterima sebagian".to_owned(),
                format!(
                    "{merchant_name} menerima pesanan {order_id} tanpa {}. {} dikembalikan ke Anda.",
                    short
                        .iter()
                        .map(|i| format!("{} {} {}", i.quantity, i.unit, i.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    refund.format_idr()
                ),
                target(&[("order_id", order_id)]),
            ),
            Template::OrderAccepted {
                order_id,
                merchant_name,
                ..
            } => (
                "Pesanan diterima toko".to_owned(),
                format!("{merchant_name} menerima pesanan {order_id} dan sedang menyiapkannya."),
                target(&[("order_id", order_id)]),
            ),
            Template::OrderRejected {
                order_id,
                merchant_name,
                refund,
                ..
            } => (
                "Pesanan ditolak".to_owned(),
                format!(
                    "{merchant_name} menolak pesanan {order_id}. {} dikembalikan ke Anda.",
                    refund.format_idr()
                ),
                target(&[("order_id", order_id)]),
            ),
            Template::OrderShipped {
                order_id,
                merchant_name,
                method,
                ..
            } => {
                if method == "pickup" {
                    (
                        "Pesanan siap diambil".to_owned(),
                        format!("Pesanan {order_id} siap diambil di {merchant_name}."),
                        target(&[("order_id", order_id)]),
                    )
                } else {
                    (
                        "Pesanan dikirim".to_owned(),
                        format!("Pesanan {order_id} dari {merchant_name} sedang dikirim."),
                        target(&[("order_id", order_id)]),
                    )
                }
            }
            Template::OrderCompleted {
                order_id,
                merchant_name,
                ..
            } => (
                "Pesanan selesai".to_owned(),
                format!("Pesanan {order_id} dari {merchant_name} selesai. Terima kasih!"),
                target(&[("order_id", order_id)]),
            ),
            Template::OrderRefunded {
                order_id, amount, ..
            } => (
                "Dana dikembalikan".to_owned(),
                format!(
                    "{} untuk pesanan {order_id} dikembalikan ke Anda.",
                    amount.format_idr()
                ),
                target(&[("order_id", order_id)]),
            ),
            Template::MerchantNewOrder {
                order_id, total, ..
            } => (
                "Pesanan baru".to_owned(),
                format!(
                    "Pesanan {order_id} senilai {} menunggu diterima atau ditolak.",
                    total.format_idr()
                ),
                target(&[("order_id", order_id)]),
            ),
            Template::MerchantVerification {
                merchant_name,
                approved,
                reason,
            } => {
                if *approved {
                    (
                        "Toko disetujui".to_owned(),
                        format!("{merchant_name} sudah aktif dan bisa berjualan."),
                        target(&[]),
                    )
                } else {
                    (
                        "Verifikasi toko ditolak".to_owned(),
                        format!(
                            "{merchant_name} belum disetujui. Alasan: {}",
                            reason.as_deref().unwrap_or("tidak disebutkan")
                        ),
                        target(&[]),
                    )
                }
            }
            Template::BankAccountChanged {
                merchant_name,
                bank_code,
                account_masked,
                ..
            } => (
                "Rekening pencairan diubah".to_owned(),
                format!(
                    "Rekening {bank_code} {account_masked} kini menerima pencairan {merchant_name}. \
                     Bukan Anda? Hubungi Dinas Koperasi."
                ),
                target(&[]),
            ),
            Template::RemittanceAdvice {
                merchant_name,
                batch_id,
                reference,
                total,
                ..
            } => (
                "Dana dicairkan".to_owned(),
                format!(
                    "{} untuk {merchant_name} ditransfer, referensi {reference}.",
                    total.format_idr()
                ),
                target(&[("batch_id", batch_id), ("reference", reference)]),
            ),
            Template::MandateReminder {
                period,
                remaining,
                deadline,
                ..
            } => (
                "Pengingat belanja wajib".to_owned(),
                format!(
                    "Sisa belanja {} untuk {} sebelum {}.",
                    remaining.format_idr(),
                    period_label(period),
                    date_label(*deadline)
                ),
                target(&[("period", period)]),
            ),
            Template::PayoutFailed {
                merchant_name,
                reference,
                amount,
                reason,
            } => (
                "Pencairan gagal".to_owned(),
                format!(
                    "Pencairan {} ke {merchant_name} ({reference}) dikembalikan bank: {reason}",
                    amount.format_idr()
                ),
                target(&[("reference", reference)]),
            ),
            Template::EmailChanged { new_email, .. } => (
                "Email akun diganti".to_owned(),
                format!(
                    "Email akun Peken Anda kini {new_email}. Bukan Anda? Hubungi Dinas Koperasi."
                ),
                target(&[]),
            ),
            Template::LowStock {
                merchant_id,
                merchant_name,
                lines,
                ..
            } => {
                let names = lines
                    .iter()
                    .map(|l| format!("{} (sisa {})", l.product_name, l.stock))
                    .collect::<Vec<_>>()
                    .join(", ");
                // One listing opens the listing; several open the shop's listings.
                let target = match lines.as_slice() {
                    [one] => target(&[
                        ("merchant_id", merchant_id),
                        ("listing_id", &one.listing_id),
                    ]),
                    _ => target(&[("merchant_id", merchant_id)]),
                };
                (
                    "Stok menipis".to_owned(),
                    format!("Stok di {merchant_name} menipis: {names}."),
                    target,
                )
            }
            Template::HetLowered {
                commodity_id,
                commodity_name,
                het,
                listings,
                ..
            } => {
                let prices = listings
                    .iter()
                    .map(|l| l.price.format_idr())
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut pairs = vec![("commodity_id", commodity_id.as_str())];
                if let [one] = listings.as_slice() {
                    pairs.push(("listing_id", one.listing_id.as_str()));
                }
                (
                    "HET diturunkan".to_owned(),
                    format!(
                        "HET {commodity_name} kini {}. Harga Anda {prices} di atasnya: \
                         sesuaikan agar dijual lagi.",
                        het.format_idr()
                    ),
                    target(&pairs),
                )
            }
            Template::ListingTakenDown {
                listing_id,
                product_name,
                reason,
                ..
            } => (
                "Barang diturunkan".to_owned(),
                format!("{product_name} diturunkan dari Peken. Alasan: {reason}"),
                target(&[("listing_id", listing_id)]),
            ),
            Template::ListingRestored {
                listing_id,
                product_name,
                reason,
                ..
            } => (
                "Barang dijual kembali".to_owned(),
                format!(
                    "Penurunan {product_name} dicabut (alasan penurunan: {}).",
                    reason.as_deref().unwrap_or("tidak disebutkan")
                ),
                target(&[("listing_id", listing_id)]),
            ),
            Template::ProductModerated {
                product_id,
                product_name,
                change,
                approved,
                reason,
                ..
            } => {
                let what = if *change {
                    "Perubahan produk"
                } else {
                    "Produk"
                };
                if *approved {
                    (
                        format!("{what} disetujui"),
                        format!("{what} {product_name} disetujui dan kini dijual seperti itu."),
                        target(&[("product_id", product_id)]),
                    )
                } else {
                    (
                        format!("{what} ditolak"),
                        format!(
                            "{what} {product_name} ditolak. Alasan: {}",
                            reason.as_deref().unwrap_or("tidak disebutkan")
                        ),
                        target(&[("product_id", product_id)]),
                    )
                }
            }
            Template::PasswordReset { .. }
            | Template::EmailChange { .. }
            | Template::RegistrationConfirm { .. }
            | Template::RegistrationEmailTaken { .. }
            | Template::RegistrationNikTaken { .. }
            | Template::NikReclaimed { .. }
            | Template::AccountActivation { .. } => return None,
        };
        Some(Notice {
            kind: name,
            title,
            body: short(&body),
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use peken_kernel::Rupiah;

    use super::*;

    #[test]
    fn an_order_notice_is_short_indonesian_and_opens_the_order() {
        let n = Template::OrderShipped {
            order_id: "o1".into(),
            buyer_name: "Ani".into(),
            merchant_name: "Toko Sri".into(),
            method: "pickup".into(),
        }
        .notice()
        .expect("a notice");
        assert_eq!(n.kind, "order_ready_for_pickup");
        assert_eq!(n.title, "Pesanan siap diambil");
        assert_eq!(n.body, "Pesanan o1 siap diambil di Toko Sri.");
        assert_eq!(n.target.get("order_id"), Some(&Value::from("o1")));
    }

    #[test]
    fn a_long_reason_is_cut_and_line_breaks_fold() {
        let n = Template::OrderRejected {
            order_id: "o1".into(),
            buyer_name: "Ani".into(),
            merchant_name: "Toko\nSri".into(),
            reason: "x".repeat(5000),
            refund: Rupiah::new(1000),
        }
        .notice()
        .expect("a notice");
        assert!(n.body.starts_with("Toko Sri menolak"), "{}", n.body);
        let n = Template::PayoutFailed {
            merchant_name: "Toko".into(),
            reference: "PKN-1".into(),
            amount: Rupiah::new(1000),
            reason: "y".repeat(5000),
        }
        .notice()
        .expect("a notice");
        assert_eq!(n.body.chars().count(), MAX_BODY);
        assert!(n.body.ends_with('…'));
    }

    #[test]
    fn codes_stay_in_the_mailbox() {
        let t = Template::PasswordReset {
            name: "Ani".into(),
            code: "secret".into(),
            expires_at: chrono::DateTime::from_timestamp(0, 0).expect("valid"),
        };
        assert_eq!(t.notice(), None);
    }
}
