//! Withholding slips (bukti potong): one A4 PDF per withholding for the OPD's treasurer and the
//! shop, and a table of an OPD's slips over a WIB month for the tax office's bulk upload (CSV
//! through the kernel's export writer, XLSX, or JSON).

use peken_document::{Document, PAGE_WIDTH, Weight};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::{Period, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ConnectionTrait, EntityTrait};

use super::withholding::{self, WithholdingKind, WithholdingView};
use crate::receipt::{rupiah, tanggal};
use crate::store::order;

const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - 50.0;

/// The withholding of an order, for the shop that sold it, the OPD that bought it, and admins;
/// 404 for anyone else or when nothing was withheld.
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<WithholdingView> {
    let w = withholding::of_order(&state.db, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("withholding"))?;
    let allowed = match caller.role {
        Role::Merchant => caller.is_merchant_of(&w.merchant_id),
        Role::OpdAdmin | Role::OpdStaff => caller.opd_id.as_deref() == Some(w.opd_id.as_str()),
        Role::Admin => true,
        _ => false,
    };
    if !allowed {
        return Err(ApiError::not_found("withholding"));
    }
    Ok(w)
}

fn kind_text(kind: WithholdingKind) -> &'static str {
    match kind {
        WithholdingKind::Pph22 => "PPh Pasal 22",
        WithholdingKind::PphFinal => "PPh Final PP 55/2022",
    }
}

fn rate_text(bps: u32) -> String {
    let whole = bps / 100;
    let frac = bps % 100;
    if frac == 0 {
        format!("{whole}%")
    } else {
        format!("{whole},{}%", format!("{frac:02}").trim_end_matches('0'))
    }
}

/// The slip of an order's withholding as PDF. Read on the primary: the treasurer fetches it
/// right after the bill that made it, and [`visible`] decides who may see it.
pub async fn pdf(state: &AppState, caller: &Caller, order_id: &str) -> ApiResult<Vec<u8>> {
    let w = visible(state, caller, order_id).await?;
    let shop = peken_merchant::facts::shop_party(&state.db, &w.merchant_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("withholding without its shop")))?;
    let opd_name = peken_identity::opd_staff::opd_name(&state.db, &w.opd_id).await?;
    let record = super::record_of(&state.db, order_id).await?;
    let found = order::Entity::find_by_id(order_id.to_owned())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    render(&w, &shop, &opd_name, record.as_ref(), &found).map_err(ApiError::internal)
}

fn render(
    w: &WithholdingView,
    shop: &peken_merchant::facts::ShopParty,
    opd_name: &str,
    record: Option<&super::PurchaseRecord>,
    found: &order::Model,
) -> Result<Vec<u8>, peken_document::DocumentError> {
    let title = "BUKTI PEMOTONGAN PAJAK PENGHASILAN";
    let mut doc = Document::new(&format!("{title} {}", w.slip_number))?;
    let mut y = doc.letterhead(title, &format!("Nomor: {}", w.slip_number), LEFT, RIGHT);
    let label_x = LEFT;
    let value_x = LEFT + 170.0;
    let mut field = |doc: &mut Document, label: &str, value: &str| {
        doc.text(label_x, y, 10.0, Weight::Regular, label);
        doc.text(value_x - 8.0, y, 10.0, Weight::Regular, ":");
        for line in doc.wrap(value, 10.0, Weight::Regular, RIGHT - value_x) {
            doc.text(value_x, y, 10.0, Weight::Regular, &line);
            y += 14.0;
        }
    };
    field(&mut doc, "Jenis pajak", kind_text(w.kind));
    field(&mut doc, "Pemotong (OPD)", opd_name);
    if let Some(r) = record {
        field(&mut doc, "Sub-kegiatan", &r.budget.sub_kegiatan);
        field(&mut doc, "Kode rekening", &r.budget.account_code);
    }
    field(&mut doc, "Yang dipotong", &shop.name);
    field(&mut doc, "NIB", &shop.nib);
    field(&mut doc, "Pesanan", &found.id);
    field(
        &mut doc,
        "Dasar pengenaan pajak",
        &rupiah(w.base_amount.get()),
    );
    field(&mut doc, "Tarif", &rate_text(w.rate_bps));
    field(&mut doc, "PPh dipotong", &rupiah(w.amount.get()));
    if let Some(number) = &w.certificate_number {
        field(&mut doc, "Surat keterangan PP 55/2022", number);
    }
    field(&mut doc, "Tanggal pemotongan", &tanggal(w.created_at));
    doc.finish()
}

/// An OPD's slips made in a WIB month, read from `conn` (the route passes the read replica's
/// connection: the table is a month's report, and a slip is made by a bill whose answer already
/// names it). The OPD is the caller's own, from the token.
pub async fn of_month<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    period: Period,
) -> ApiResult<Vec<WithholdingView>> {
    let opd_id = peken_identity::opd_staff::caller_opd(caller)?;
    let (from, to) = (period.start_utc(), period.end_utc());
    withholding::of_opd_between(conn, opd_id, from, to).await
}

/// The tax office's bulk-upload table: one row per slip.
pub fn table(rows: &[WithholdingView]) -> Table {
    let mut table = Table::new(
        "Bukti potong",
        &[
            "slip_number",
            "date",
            "kind",
            "rate_bps",
            "base_amount",
            "amount",
            "merchant_id",
            "order_id",
            "certificate_number",
        ],
    );
    for w in rows {
        table.push(vec![
            (&w.slip_number).into(),
            Value::Date(wib_date(w.created_at)),
            w.kind.as_str().into(),
            i64::from(w.rate_bps).into(),
            w.base_amount.into(),
            w.amount.into(),
            (&w.merchant_id).into(),
            (&w.order_id).into(),
            w.certificate_number.as_ref().into(),
        ]);
    }
    table
}
