//! Demo activity: the city's mandate minimums and a few orders in every state, placed through
//! the same services the API uses, so treasury has payables to pay out and the compliance
//! report has spend to show.

use peken_kernel::auth::{Caller, Role};
use peken_kernel::period::Period;
use peken_kernel::{AppState, Rupiah};
use peken_order::actions;
use peken_order::checkout::{Cart, FulfilmentMethod, PaymentMethod};
use peken_order::mandate::{self, MandatePolicy};
use peken_order::payment::{self, Notice};
use peken_order::status::Action;
use sea_orm::{ConnectionTrait, Statement};

/// Minimums per position class since the programme began (October 2021); the camat figure is
/// the city's own example.
const MINIMUMS: [(&str, i64); 6] = [
    ("staf", 500_000),
    ("guru", 500_000),
    ("kepala_seksi", 750_000),
    ("kepala_bidang", 1_000_000),
    ("lurah", 1_500_000),
    ("camat", 2_000_000),
];

#[expect(clippy::needless_pass_by_value, reason = "the shape `map_err` calls")]
fn err(e: peken_kernel::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

pub async fn load(state: &AppState, admin_id: &str) -> anyhow::Result<()> {
    let admin = caller_by(state, "id", admin_id, Role::Admin)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo admin is missing"))?;
    for (class, amount) in MINIMUMS {
        let policy = MandatePolicy {
            position_class: class.to_owned(),
            min_amount: Rupiah::new(amount),
            effective_from: Period::parse("2021-10").map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        mandate::set_policy(state, &policy, &admin)
            .await
            .map_err(err)?;
    }
    // (ASN NIP, how far the order goes)
    let plans = [
        ("198503142010011001", Some(Action::ConfirmReceipt)),
        ("199001012015032002", Some(Action::ConfirmReceipt)),
        ("197512251999031007", Some(Action::Ship)),
        ("198811202012012004", Some(Action::Accept)),
        ("199205052019031005", None),
    ];
    for (i, (nip, until)) in plans.into_iter().enumerate() {
        let Some(buyer) = caller_by(state, "nip", nip, Role::Asn).await? else {
            continue;
        };
        let Some((listing_id, merchant_id)) = listing_near(state, i).await? else {
            continue;
        };
        let cart = Cart {
            lines: [(listing_id, 2_i64 + i as i64)].into_iter().collect(),
            fulfilment: FulfilmentMethod::Pickup,
            address: None,
            address_id: None,
            payment_method: PaymentMethod::Va,
        };
        let placed =
            peken_order::checkout::checkout(state, &buyer, &format!("demo-{i}"), "demo", &cart)
                .await
                .map_err(err)?;
        let body: serde_json::Value = serde_json::from_str(&placed.body)?;
        let Some(until) = until else {
            continue; // left waiting for payment
        };
        let notice = Notice {
            payment_id: body["payment"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            provider_reference: format!("DEMO-VA-{i}"),
            amount: Rupiah::new(body["payment"]["amount"].as_i64().unwrap_or_default()),
            paid_at: state.now(),
        };
        payment::receive(state, &notice).await.map_err(err)?;
        let order_id = body["orders"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let Some(shop) = merchant_owner(state, &merchant_id).await? else {
            continue;
        };
        for step in [Action::Accept, Action::Ship, Action::ConfirmReceipt] {
            let who = if step == Action::ConfirmReceipt {
                &buyer
            } else {
                &shop
            };
            actions::act(state, who, &order_id, step, None, None)
                .await
                .map_err(err)?;
            if step == until {
                break;
            }
        }
    }
    Ok(())
}

async fn caller_by(
    state: &AppState,
    column: &str,
    value: &str,
    role: Role,
) -> anyhow::Result<Option<Caller>> {
    let backend = state.db.get_database_backend();
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT id, merchant_id, opd_id FROM users WHERE {column} = $1"),
            [value.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(Caller {
            user_id: r.try_get("", "id")?,
            role,
            session_id: "demo-seed".to_owned(),
            merchant_id: r.try_get("", "merchant_id")?,
            opd_id: r.try_get("", "opd_id")?,
            request_id: None,
            client_request_id: None,
        }),
        None => None,
    })
}

async fn merchant_owner(state: &AppState, merchant_id: &str) -> anyhow::Result<Option<Caller>> {
    let backend = state.db.get_database_backend();
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT owner_user_id FROM merchants WHERE id = $1",
            [merchant_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner: String = row.try_get("", "owner_user_id")?;
    caller_by(state, "id", &owner, Role::Merchant).await
}

/// The `nth` sellable, well-stocked listing of an active shop in Rungkut (the demo ASN's area).
async fn listing_near(state: &AppState, nth: usize) -> anyhow::Result<Option<(String, String)>> {
    let backend = state.db.get_database_backend();
    let rows = state
        .db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT l.id, l.merchant_id FROM listings l JOIN merchants m ON m.id = l.merchant_id \
             JOIN commodities c ON c.id = l.commodity_id \
             WHERE m.status = 'active' AND l.active = $1 AND l.taken_down_at IS NULL \
             AND l.stock >= 20 AND l.kecamatan_code = '35.78.03' \
             AND c.max_qty_per_buyer_per_day IS NULL AND (c.het_price IS NULL OR l.price <= c.het_price) \
             ORDER BY l.id",
            [true.into()],
        ))
        .await?;
    Ok(match rows.get(nth % rows.len().max(1)) {
        Some(r) => Some((r.try_get("", "id")?, r.try_get("", "merchant_id")?)),
        None => None,
    })
}
