//! The programme's reports (shops without a sale, turnover and orders since launch, buyers per
//! month, UMKM classes and their changes, the LKPJ workbook) and the camat who reads one
//! kecamatan of them. Shops, paid orders and turnover are written straight into their tables
//! and the ledger, at the instants a test needs, so figures can be worked out here.

mod camat;
mod naik_kelas;
mod opd_spend;
mod reports;

use chrono::{DateTime, Utc};
use peken_kernel::Rupiah;
use peken_kernel::period::Period;
use peken_order::programme::BuyerPaid;
use peken_tests::TestApp;
use sea_orm::{ConnectionTrait, Statement};

use crate::fixtures::payouts::merchant;
use crate::fixtures::unique;

/// A shop of `kind` in `kelurahan`, with its status and registration time.
pub async fn programme_shop(
    app: &TestApp,
    kind: &str,
    kelurahan: &str,
    status: &str,
    registered: DateTime<Utc>,
) -> String {
    let (id, _) = merchant(app, kind, kelurahan, None).await;
    let db = &app.state.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE merchants SET status = $1, created_at = $2, verified_at = $3 WHERE id = $4",
        [
            status.into(),
            registered.into(),
            Some(registered + chrono::Duration::days(1)).into(),
            id.clone().into(),
        ],
    ))
    .await
    .unwrap();
    id
}

/// An order of `buyer` (`asn` or `public`) at `shop` recorded paid at `paid_at` for the WIB
/// month `period`, with what its payment keeps beside it; `None` for an order never paid.
pub async fn paid(
    app: &TestApp,
    shop: &str,
    buyer: &str,
    role: &str,
    paid: Option<(DateTime<Utc>, &str)>,
) {
    let db = &app.state.db;
    let id = uuid::Uuid::now_v7().to_string();
    let at = paid.map_or_else(|| app.clock_now(), |(at, _)| at);
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO orders (id, checkout_id, payment_id, buyer_id, buyer_role, merchant_id, \
         status, total_amount, fulfilment_method, paid_at, paid_period, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [
            id.clone().into(),
            format!("co-{}", unique()).into(),
            format!("pay-{}", unique()).into(),
            buyer.into(),
            role.into(),
            shop.into(),
            if paid.is_some() {
                "paid"
            } else {
                "awaiting_payment"
            }
            .into(),
            10_000_i64.into(),
            "pickup".into(),
            paid.map(|(at, _)| at).into(),
            paid.map(|(_, p)| p.to_owned()).into(),
            at.into(),
            at.into(),
        ],
    ))
    .await
    .unwrap();
    // What the payment keeps beside the order: the shop's month and the month's buyers.
    if let Some((_, period)) = paid {
        peken_merchant::service::add_turnovers(
            db,
            Period::parse(period).unwrap(),
            &[(shop, Rupiah::new(10_000), 1)],
        )
        .await
        .unwrap();
        peken_order::programme::record_buyers(
            db,
            &[BuyerPaid {
                period: period.to_owned(),
                buyer_id: buyer,
                merchant_id: shop,
                role,
            }],
        )
        .await
        .unwrap();
    }
}

/// `YYYY-MM` months from `from` to `to`, inclusive, counted here apart from the server.
pub fn month_count(from: (i32, u32), to: (i32, u32)) -> usize {
    ((to.0 - from.0) * 12 + to.1 as i32 - from.1 as i32 + 1) as usize
}

trait ClockNow {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> DateTime<Utc> {
        use peken_kernel::clock::Clock;
        self.clock.now()
    }
}
