//! The purchase receipt: the BAST (*Berita Acara Serah Terima*, handover record) a buyer keeps
//! to show what was bought, paid and received, as an A4 PDF in Indonesian with a QR code of its
//! verification address; and the public verification of that code.
//!
//! A receipt is made from the order's state alone (its lines, amounts, times and status, the
//! parties as they are named now), so the same state gives the same bytes and [`Receipt::etag`]
//! can answer `If-None-Match` without drawing anything. The document number is derived from the
//! order (`PKN-{paid date, WIB}-{10 characters of the order id's digest}`); the verification code
//! is an HMAC of the order id and the number under `PEKEN_DOCUMENT_SECRET`, 80 bits in Crockford
//! base32, so it can be typed from paper.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use peken_document::{Document, PAGE_WIDTH, Weight};
use peken_kernel::auth::Caller;
use peken_kernel::period::{WIB, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::actions::visible_order;
use crate::status::OrderStatus;
use crate::store::{order, order_event};

/// Changes whenever the layout does, so that an `ETag` of the old layout no longer matches.
const LAYOUT_VERSION: &str = "bast-1";

/// Crockford's base32 alphabet: no I, L, O or U, so a code read from paper is not misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What a receipt shows, gathered from the order and its parties.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub order_id: String,
    pub number: String,
    pub status: OrderStatus,
    pub buyer: BuyerFacts,
    pub shop: ShopFacts,
    pub lines: Vec<Line>,
    pub subtotal: i64,
    pub total: i64,
    /// What the units the shop could not supply cost, refunded at acceptance (0 if none).
    pub short_amount: i64,
    pub fulfilment: String,
    pub paid_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    /// `buyer`, `system` (the confirmation window passed) or `admin` (a dispute resolved).
    pub received_by: Option<String>,
    pub verify_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuyerFacts {
    pub name: String,
    pub nip: Option<String>,
    pub asn_kind: Option<String>,
    pub opd: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShopFacts {
    pub name: String,
    pub owner: Option<String>,
    pub address: String,
    pub nib: String,
    pub npwp: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub name: String,
    pub quantity: i64,
    /// Units of `quantity` the shop could not supply (refunded).
    pub short_quantity: i64,
    pub unit: String,
    pub price: i64,
    pub line_total: i64,
}

/// The document number of an order paid at `paid_at`.
pub fn document_number(order_id: &str, paid_at: DateTime<Utc>) -> String {
    let date = paid_at.with_timezone(&WIB).date_naive();
    let digest = Sha256::digest(order_id.as_bytes());
    format!(
        "PKN-{}-{}",
        date.format("%Y%m%d"),
        crockford(&digest[..7])[..10].to_owned()
    )
}

/// The verification code of a receipt: HMAC-SHA-256 of the order id and number, 80 bits.
pub fn verification_code(state: &AppState, order_id: &str, number: &str) -> String {
    code_with(state.document_secret.expose().as_bytes(), order_id, number)
}

fn code_with(key: &[u8], order_id: &str, number: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"peken:bast:v1:");
    mac.update(order_id.as_bytes());
    mac.update(b":");
    mac.update(number.as_bytes());
    let tag = mac.finalize().into_bytes();
    crockford(&tag[..10])
}

/// Big-endian base32 in Crockford's alphabet (5 bits a character, the last padded).
fn crockford(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(CROCKFORD[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            CROCKFORD[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// The address the receipt's QR code holds.
pub fn verify_url(state: &AppState, order_id: &str, code: &str) -> String {
    format!(
        "{}/api/v1/verify/orders/{order_id}?code={code}",
        state.settings.public_url
    )
}

/// Statuses whose goods never changed hands or whose money went back: no receipt is issued.
fn voided(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Refunded
    )
}

/// The receipt of an order the caller may see (its buyer, its shop, admin, treasury). An order
/// not paid yet is 409 `order_not_paid`; one cancelled, rejected or refunded is 409
/// `order_voided`.
pub async fn for_caller(state: &AppState, caller: &Caller, order_id: &str) -> ApiResult<Receipt> {
    let found = visible_order(&state.db, caller, order_id).await?;
    let status = OrderStatus::parse(&found.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown status {}", found.status)))?;
    let Some(paid_at) = found.paid_at else {
        return Err(ApiError::conflict(
            "order_not_paid",
            "a receipt is issued once the order is paid",
        )
        .with_context(serde_json::json!({"status": status.as_str()})));
    };
    if voided(status) {
        return Err(ApiError::conflict(
            "order_voided",
            "the order was cancelled, rejected or refunded: it has no receipt",
        )
        .with_context(serde_json::json!({"status": status.as_str()})));
    }
    gather(state, &state.db, found, status, paid_at).await
}

async fn gather<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    found: order::Model,
    status: OrderStatus,
    paid_at: DateTime<Utc>,
) -> ApiResult<Receipt> {
    let items = crate::lifecycle::items_of(conn, &found.id).await?;
    let buyer = peken_identity::people::document_party(conn, &found.buyer_id, paid_at)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order without its buyer")))?;
    let shop = peken_merchant::facts::shop_party(conn, &found.merchant_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order without its shop")))?;
    let owner = peken_identity::people::find(conn, &shop.owner_user_id)
        .await?
        .map(|p| p.name);
    let received_at = (status == OrderStatus::Completed)
        .then_some(found.completed_at)
        .flatten();
    let received_by = if received_at.is_some() {
        order_event::Entity::find()
            .filter(order_event::Column::OrderId.eq(found.id.clone()))
            .filter(order_event::Column::ToStatus.eq(OrderStatus::Completed.as_str()))
            .order_by_desc(order_event::Column::CreatedAt)
            .one(conn)
            .await?
            .map(|e| e.actor_role)
    } else {
        None
    };
    let region_name = |code: &str| state.regions.get(code).map(|r| r.name.clone());
    let mut address = vec![shop.address.clone()];
    if let Some(kelurahan) = region_name(&shop.kelurahan_code) {
        address.push(format!("Kel. {kelurahan}"));
    }
    if let Some(kecamatan) = region_name(&shop.kecamatan_code) {
        address.push(format!("Kec. {kecamatan}"));
    }
    address.push("Kota Surabaya".to_owned());
    let address = address.join(", ");
    let number = document_number(&found.id, paid_at);
    let code = verification_code(state, &found.id, &number);
    let lines: Vec<Line> = items
        .into_iter()
        .map(|i| Line {
            name: i.name,
            quantity: i.quantity,
            short_quantity: i.short_quantity,
            unit: i.unit,
            price: i.price,
            line_total: i.line_total,
        })
        .collect();
    Ok(Receipt {
        verify_url: verify_url(state, &found.id, &code),
        order_id: found.id,
        number,
        status,
        buyer: BuyerFacts {
            name: buyer.name,
            nip: buyer.nip,
            asn_kind: buyer.asn_kind,
            opd: buyer.opd_name,
        },
        shop: ShopFacts {
            name: shop.name,
            owner,
            address,
            nib: shop.nib,
            npwp: shop.npwp,
        },
        subtotal: lines.iter().map(|l| l.line_total).sum(),
        lines,
        total: found.total_amount,
        short_amount: found.short_amount,
        fulfilment: found.fulfilment_method,
        paid_at,
        received_at,
        received_by,
    })
}

impl Receipt {
    /// The file name the PDF is offered under.
    pub fn file_name(&self) -> String {
        format!("BAST-{}.pdf", self.number)
    }

    /// A strong `ETag` of the document: a digest of everything it shows and of the layout.
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
        render(self).map_err(|e| ApiError::internal(anyhow::anyhow!("rendering a receipt: {e}")))
    }
}

/// What anyone holding a receipt may check against it: enough to compare, nothing more.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerifiedReceipt {
    /// Always true: a code that does not match is a 404.
    pub genuine: bool,
    pub order_id: String,
    pub document_number: String,
    pub shop_name: String,
    /// The buyer's name with all but each word's first letter masked (`B*** S******`).
    pub buyer_name: String,
    pub total_amount: Rupiah,
    pub status: OrderStatus,
    pub paid_at: DateTime<Utc>,
    /// When the buyer received the goods (or the order completed without a dispute).
    pub received_at: Option<DateTime<Utc>>,
}

/// Checks a receipt's code. An unknown order, an order never paid and a wrong code all answer
/// the same 404, after the same work, so the answer tells nothing but "genuine" or not.
pub async fn verify(state: &AppState, order_id: &str, code: &str) -> ApiResult<VerifiedReceipt> {
    use subtle::ConstantTimeEq;
    let found = order::Entity::find_by_id(order_id.to_owned())
        .one(&state.db)
        .await?;
    let paid = found.as_ref().and_then(|o| o.paid_at.map(|at| (o, at)));
    // An order that cannot have a receipt still costs one HMAC, as a real one does.
    let number = paid.map_or_else(
        || document_number(order_id, DateTime::<Utc>::UNIX_EPOCH),
        |(o, at)| document_number(&o.id, at),
    );
    let expected = verification_code(state, order_id, &number);
    let given = code.trim().to_ascii_uppercase();
    let matches = bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
    let not_found = || ApiError::not_found("receipt");
    let Some((found, paid_at)) = paid.filter(|_| matches) else {
        return Err(not_found());
    };
    let status = OrderStatus::parse(&found.status).ok_or_else(not_found)?;
    let shop = peken_merchant::facts::shop_party(&state.db, &found.merchant_id)
        .await?
        .ok_or_else(not_found)?;
    let buyer = peken_identity::people::find(&state.db, &found.buyer_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(VerifiedReceipt {
        genuine: true,
        order_id: found.id.clone(),
        document_number: number,
        shop_name: shop.name,
        buyer_name: mask_name(&buyer.name),
        total_amount: Rupiah::new(found.total_amount),
        status,
        paid_at,
        received_at: (status == OrderStatus::Completed)
            .then_some(found.completed_at)
            .flatten(),
    })
}

/// Each word's first letter, the rest as `*`.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            first + &"*".repeat(chars.count())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rupiah as Indonesians write them: `Rp 1.234.567`.
pub fn rupiah(amount: i64) -> String {
    Rupiah::new(amount).format_idr().replacen("Rp", "Rp ", 1)
}

/// A date in WIB as Indonesians write it: `5 Desember 2026`.
pub fn tanggal(at: DateTime<Utc>) -> String {
    peken_mail::template::date_label(wib_date(at))
}

/// A moment in WIB: `5 Desember 2026 pukul 14.03 WIB`.
pub fn waktu(at: DateTime<Utc>) -> String {
    peken_mail::template::time_label(at)
}

fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingApproval => "Menunggu persetujuan PPK",
        OrderStatus::AwaitingPayment => "Menunggu pembayaran",
        OrderStatus::Paid => "Dibayar, menunggu diproses toko",
        OrderStatus::Accepted => "Diproses toko",
        OrderStatus::Shipped => "Dikirim / siap diambil",
        OrderStatus::Completed => "Selesai (barang diterima)",
        OrderStatus::Cancelled => "Dibatalkan",
        OrderStatus::Rejected => "Ditolak toko",
        OrderStatus::Disputed => "Dalam sengketa",
        OrderStatus::Refunded => "Dana dikembalikan",
    }
}

const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - 50.0;
/// Lines of the table stop here; what follows the table needs the rest of the page.
const TABLE_BOTTOM: f32 = 770.0;
/// Room the totals, dates, signatures and QR code need below the table.
const FOOTER_HEIGHT: f32 = 330.0;

/// Column edges of the lines table.
const COL_NO: f32 = LEFT;
const COL_NAME: f32 = LEFT + 22.0;
const COL_NAME_WIDTH: f32 = 190.0;
const COL_QTY_RIGHT: f32 = 310.0;
const COL_UNIT: f32 = 318.0;
const COL_PRICE_RIGHT: f32 = 450.0;
const COL_TOTAL_RIGHT: f32 = RIGHT;

fn render(r: &Receipt) -> Result<Vec<u8>, peken_document::DocumentError> {
    let title = "BERITA ACARA SERAH TERIMA BARANG";
    let mut doc = Document::new(&format!("{title} {}", r.number))?;
    let mut y = doc.letterhead(title, &format!("Nomor: {}", r.number), LEFT, RIGHT);

    let dated = r.received_at.unwrap_or(r.paid_at);
    let intro = format!(
        "Pada tanggal {}, untuk pesanan {}, yang bertanda tangan di bawah ini:",
        tanggal(dated),
        r.order_id
    );
    for line in doc.wrap(&intro, 10.0, Weight::Regular, RIGHT - LEFT) {
        doc.text(LEFT, y, 10.0, Weight::Regular, &line);
        y += 13.0;
    }
    y += 7.0;

    // The parties.
    let label_x = LEFT + 12.0;
    let value_x = LEFT + 125.0;
    let value_width = RIGHT - value_x;
    let field = |doc: &mut Document, y: &mut f32, label: &str, value: &str| {
        doc.text(label_x, *y, 9.5, Weight::Regular, label);
        for line in doc.wrap(value, 9.5, Weight::Regular, value_width) {
            doc.text(value_x - 8.0, *y, 9.5, Weight::Regular, ":");
            doc.text(value_x, *y, 9.5, Weight::Regular, &line);
            *y += 13.0;
        }
    };
    doc.text(
        LEFT,
        y,
        10.0,
        Weight::Bold,
        "PIHAK PERTAMA (penjual, yang menyerahkan)",
    );
    y += 15.0;
    field(&mut doc, &mut y, "Nama toko", &r.shop.name);
    if let Some(owner) = &r.shop.owner {
        field(&mut doc, &mut y, "Pemilik", owner);
    }
    field(&mut doc, &mut y, "Alamat", &r.shop.address);
    field(&mut doc, &mut y, "NIB", &r.shop.nib);
    if let Some(npwp) = &r.shop.npwp {
        field(&mut doc, &mut y, "NPWP", npwp);
    }
    y += 6.0;
    doc.text(
        LEFT,
        y,
        10.0,
        Weight::Bold,
        "PIHAK KEDUA (pembeli, yang menerima)",
    );
    y += 15.0;
    field(&mut doc, &mut y, "Nama", &r.buyer.name);
    if let Some(nip) = &r.buyer.nip {
        let label = if r.buyer.asn_kind.as_deref() == Some("pppk") {
            "NI PPPK"
        } else {
            "NIP"
        };
        field(&mut doc, &mut y, label, nip);
    }
    if let Some(opd) = &r.buyer.opd {
        field(&mut doc, &mut y, "Perangkat Daerah", opd);
    }
    if r.buyer.nip.is_none() {
        field(&mut doc, &mut y, "Keterangan", "Pembeli umum (warga)");
    }
    y += 8.0;

    let intro = if r.received_at.is_some() {
        "PIHAK PERTAMA telah menyerahkan dan PIHAK KEDUA telah menerima barang berikut:"
    } else {
        "Barang berikut telah dibayar; penerimaannya belum dikonfirmasi oleh PIHAK KEDUA:"
    };
    doc.text(LEFT, y, 10.0, Weight::Regular, intro);
    y += 18.0;

    let header = |doc: &mut Document, y: &mut f32| {
        doc.line(LEFT, *y - 11.0, RIGHT, *y - 11.0, 0.5);
        doc.text(COL_NO, *y, 9.0, Weight::Bold, "No");
        doc.text(COL_NAME, *y, 9.0, Weight::Bold, "Nama barang");
        doc.text_right(COL_QTY_RIGHT, *y, 9.0, Weight::Bold, "Jumlah");
        doc.text(COL_UNIT, *y, 9.0, Weight::Bold, "Satuan");
        doc.text_right(COL_PRICE_RIGHT, *y, 9.0, Weight::Bold, "Harga satuan");
        doc.text_right(COL_TOTAL_RIGHT, *y, 9.0, Weight::Bold, "Jumlah harga");
        *y += 5.0;
        doc.line(LEFT, *y, RIGHT, *y, 0.5);
        *y += 13.0;
    };
    header(&mut doc, &mut y);
    for (index, line) in r.lines.iter().enumerate() {
        let name = if line.short_quantity > 0 {
            format!(
                "{} (kurang {} {}, dikembalikan)",
                line.name, line.short_quantity, line.unit
            )
        } else {
            line.name.clone()
        };
        let name_lines = doc.wrap(&name, 9.0, Weight::Regular, COL_NAME_WIDTH);
        let height = 12.0 * name_lines.len() as f32;
        if y + height > TABLE_BOTTOM {
            doc.new_page();
            y = 60.0;
            doc.text(
                LEFT,
                y,
                9.0,
                Weight::Regular,
                &format!("{title} — Nomor: {} (lanjutan)", r.number),
            );
            y += 25.0;
            header(&mut doc, &mut y);
        }
        doc.text(COL_NO, y, 9.0, Weight::Regular, &format!("{}.", index + 1));
        doc.text_right(
            COL_QTY_RIGHT,
            y,
            9.0,
            Weight::Regular,
            &line.quantity.to_string(),
        );
        doc.text(COL_UNIT, y, 9.0, Weight::Regular, &line.unit);
        doc.text_right(
            COL_PRICE_RIGHT,
            y,
            9.0,
            Weight::Regular,
            &rupiah(line.price),
        );
        doc.text_right(
            COL_TOTAL_RIGHT,
            y,
            9.0,
            Weight::Regular,
            &rupiah(line.line_total),
        );
        for name_line in &name_lines {
            doc.text(COL_NAME, y, 9.0, Weight::Regular, name_line);
            y += 12.0;
        }
        y += 2.0;
    }
    y -= 8.0;
    doc.line(LEFT, y, RIGHT, y, 0.5);
    y += 14.0;

    // A refund of short units takes two more lines of totals.
    let refund_lines = if r.short_amount > 0 { 28.0 } else { 0.0 };
    if y + FOOTER_HEIGHT + refund_lines > 842.0 {
        doc.new_page();
        y = 60.0;
        doc.text(
            LEFT,
            y,
            9.0,
            Weight::Regular,
            &format!("{title} — Nomor: {} (lanjutan)", r.number),
        );
        y += 25.0;
    }
    let total_label = COL_PRICE_RIGHT;
    doc.text_right(total_label, y, 9.5, Weight::Regular, "Subtotal");
    doc.text_right(
        COL_TOTAL_RIGHT,
        y,
        9.5,
        Weight::Regular,
        &rupiah(r.subtotal),
    );
    y += 14.0;
    if r.total != r.subtotal {
        doc.text_right(total_label, y, 9.5, Weight::Regular, "Penyesuaian");
        doc.text_right(
            COL_TOTAL_RIGHT,
            y,
            9.5,
            Weight::Regular,
            &rupiah(r.total - r.subtotal),
        );
        y += 14.0;
    }
    doc.text_right(total_label, y, 10.0, Weight::Bold, "Total dibayar");
    doc.text_right(COL_TOTAL_RIGHT, y, 10.0, Weight::Bold, &rupiah(r.total));
    if r.short_amount > 0 {
        y += 14.0;
        doc.text_right(
            total_label,
            y,
            9.5,
            Weight::Regular,
            "Dikembalikan (barang kurang)",
        );
        doc.text_right(
            COL_TOTAL_RIGHT,
            y,
            9.5,
            Weight::Regular,
            &format!("-{}", rupiah(r.short_amount)),
        );
        y += 14.0;
        doc.text_right(
            total_label,
            y,
            10.0,
            Weight::Bold,
            "Nilai barang diserahkan",
        );
        doc.text_right(
            COL_TOTAL_RIGHT,
            y,
            10.0,
            Weight::Bold,
            &rupiah(r.total - r.short_amount),
        );
    }
    y += 22.0;

    let fulfilment = if r.fulfilment == "delivery" {
        "diantar ke pembeli"
    } else {
        "diambil di toko"
    };
    let received = match (r.received_at, r.received_by.as_deref()) {
        (Some(at), Some("system")) => format!(
            "{} (otomatis: batas waktu konfirmasi lewat tanpa sengketa)",
            waktu(at)
        ),
        (Some(at), Some("admin")) => format!("{} (sengketa diputus admin)", waktu(at)),
        (Some(at), _) => format!("{} (dikonfirmasi pembeli)", waktu(at)),
        (None, _) => "belum dikonfirmasi".to_owned(),
    };
    for (label, value) in [
        ("Status pesanan", status_text(r.status).to_owned()),
        ("Penyerahan", fulfilment.to_owned()),
        ("Dibayar", waktu(r.paid_at)),
        ("Diterima", received),
    ] {
        doc.text(LEFT, y, 9.5, Weight::Regular, label);
        doc.text(LEFT + 90.0, y, 9.5, Weight::Regular, &format!(": {value}"));
        y += 13.0;
    }
    y += 14.0;

    // Signatures.
    let first = LEFT + 70.0;
    let second = RIGHT - 110.0;
    doc.text_centred(first, y, 10.0, Weight::Bold, "PIHAK PERTAMA");
    doc.text_centred(second, y, 10.0, Weight::Bold, "PIHAK KEDUA");
    y += 50.0;
    let seller = r.shop.owner.clone().unwrap_or_else(|| r.shop.name.clone());
    doc.text_centred(first, y, 9.5, Weight::Regular, &format!("( {seller} )"));
    doc.text_centred(
        second,
        y,
        9.5,
        Weight::Regular,
        &format!("( {} )", r.buyer.name),
    );
    y += 12.0;
    doc.text_centred(first, y, 8.5, Weight::Regular, &r.shop.name);
    if let Some(nip) = &r.buyer.nip {
        doc.text_centred(second, y, 8.5, Weight::Regular, &format!("NIP {nip}"));
    }
    y += 24.0;

    // The QR code of the verification address, with the address beside it.
    let qr_size = 96.0;
    doc.qr(LEFT - 6.0, y, qr_size, &r.verify_url)?;
    let text_x = LEFT + qr_size + 4.0;
    let mut ty = y + 22.0;
    doc.text(
        text_x,
        ty,
        9.0,
        Weight::Bold,
        "Periksa keaslian dokumen ini dengan memindai kode QR atau membuka:",
    );
    ty += 14.0;
    let (path, query) = r
        .verify_url
        .split_once('?')
        .map_or((r.verify_url.as_str(), ""), |(p, q)| (p, q));
    doc.text(text_x, ty, 7.5, Weight::Regular, path);
    ty += 10.0;
    if !query.is_empty() {
        doc.text(text_x, ty, 7.5, Weight::Regular, &format!("?{query}"));
        ty += 14.0;
    }
    doc.text(
        text_x,
        ty,
        8.5,
        Weight::Regular,
        "Dokumen ini dibuat secara elektronik oleh sistem Peken dan sah tanpa tanda tangan basah.",
    );
    let pages = doc.page_count();
    for page in 0..pages {
        doc.set_page(page);
        doc.text_right(
            RIGHT,
            815.0,
            8.0,
            Weight::Regular,
            &format!("{} · Halaman {} dari {pages}", r.number, page + 1),
        );
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_stable_and_keyed() {
        let number = document_number("0193a1b2-0000-7000-8000-000000000001", DateTime::UNIX_EPOCH);
        assert!(number.starts_with("PKN-19700101-"), "{number}");
        assert_eq!(number.len(), "PKN-19700101-".len() + 10);
        let a = code_with(b"key one", "order", &number);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| CROCKFORD.contains(&b)), "{a}");
        assert_eq!(a, code_with(b"key one", "order", &number));
        assert_ne!(a, code_with(b"key two", "order", &number));
        assert_ne!(a, code_with(b"key one", "other", &number));
    }

    #[test]
    fn crockford_encodes_five_bits_a_character() {
        assert_eq!(crockford(&[0]), "00");
        assert_eq!(crockford(&[0xff, 0xff, 0xff, 0xff, 0xff]), "ZZZZZZZZ");
        assert_eq!(crockford(b"f"), "CR");
    }

    #[test]
    fn names_money_and_dates_are_written_the_indonesian_way() {
        assert_eq!(mask_name("Budi  Santoso"), "B*** S******");
        assert_eq!(mask_name("Ñoman"), "Ñ****");
        assert_eq!(rupiah(1_234_567), "Rp 1.234.567");
        assert_eq!(rupiah(500), "Rp 500");
        // 31 October 23:30 WIB is 16:30 UTC.
        let at = DateTime::parse_from_rfc3339("2026-10-31T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(waktu(at), "31 Oktober 2026 pukul 23.30 WIB");
        assert_eq!(document_number("x", at)[..13].to_owned(), "PKN-20261031-");
    }
}
