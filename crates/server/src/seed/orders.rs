//! Demo activity: the city's mandate minimums, an address for every demo buyer and their
//! orders in every state, placed through the same services the API uses, so treasury has
//! payables to pay out, the compliance report has spend to show, and each buyer has an order
//! to track and reorder and messages in their inbox.

use peken_identity::addresses::{self, NewAddress};
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
    // (how the buyer is found, who they are, how far their order goes): every demo buyer has
    // an address and at least one order to look at and reorder.
    let plans = [
        (
            "nip",
            "198503142010011001",
            Role::Asn,
            Some(Action::ConfirmReceipt),
        ),
        (
            "nip",
            "199001012015032002",
            Role::Asn,
            Some(Action::ConfirmReceipt),
        ),
        ("nip", "197512251999031007", Role::Asn, Some(Action::Ship)),
        ("nip", "198811202012012004", Role::Asn, Some(Action::Accept)),
        ("nip", "199205052019031005", Role::Asn, None),
        (
            "nip",
            "197806152003121003",
            Role::Asn,
            Some(Action::ConfirmReceipt),
        ),
        (
            "nip",
            "198002282006042006",
            Role::Asn,
            Some(Action::ConfirmReceipt),
        ),
        (
            "email",
            "warga@peken.local",
            Role::Public,
            Some(Action::ConfirmReceipt),
        ),
    ];
    for (i, (column, key, role, until)) in plans.into_iter().enumerate() {
        let Some(buyer) = caller_by(state, column, key, role).await? else {
            continue;
        };
        let Some((listing_id, merchant_id)) = listing_near(state, i).await? else {
            continue;
        };
        let address_id = address_book(state, &buyer.user_id, i).await?;
        // Every other order is delivered to the buyer's address, the rest picked up.
        let (fulfilment, address_id) = if i % 2 == 0 {
            (FulfilmentMethod::Delivery, Some(address_id))
        } else {
            (FulfilmentMethod::Pickup, None)
        };
        let cart = Cart {
            lines: [(listing_id, 2_i64 + i as i64)].into_iter().collect(),
            fulfilment,
            address: None,
            address_id,
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

/// The buyer's default address, made the first time: at home (their domicile kelurahan, or
/// Rungkut).
async fn address_book(state: &AppState, user_id: &str, nth: usize) -> anyhow::Result<String> {
    if let Some(id) = addresses::default_of(&state.db, user_id)
        .await
        .map_err(err)?
    {
        return Ok(id);
    }
    let person = peken_identity::people::find(&state.db, user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo buyer {user_id} is missing"))?;
    let kelurahan = person
        .domicile_kelurahan_code
        .clone()
        .unwrap_or_else(|| "35.78.03.1002".to_owned());
    let created = addresses::create(
        state,
        user_id,
        NewAddress {
            label: "Rumah".to_owned(),
            recipient: person.name,
            phone: format!("+6281230000{nth:03}"),
            kelurahan_code: kelurahan,
            street: format!(
                "Jl. Melati {} No. {}, RT 0{}/RW 02",
                nth + 1,
                10 + nth,
                1 + nth % 5
            ),
            notes: Some("rumah pagar hijau".to_owned()),
            location: None,
            is_default: true,
        },
    )
    .await
    .map_err(err)?;
    Ok(created.id)
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
