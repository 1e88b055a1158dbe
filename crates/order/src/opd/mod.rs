//! OPD purchasing: a city office buys from the shops with the regional budget.
//!
//! An OPD staff member with the `buyer` duty places a cart with a budget line (sub-kegiatan,
//! account code, purpose): one order per shop, stock reserved, no bill yet. Orders whose total
//! is above the OPD's approval threshold wait in `awaiting_approval` for a PPK, who approves
//! (→ `awaiting_payment`) or rejects with a reason (→ `cancelled`, stock released); orders at
//! or below it go straight to `awaiting_payment`. An order not approved and billed within
//! `Policies::opd_approval_working_days` working days expires and its stock returns
//! ([`expire_due`]). The treasurer bills approved orders ([`billing`]): one VA bill in the
//! `payments` table for the orders' totals less the tax withheld, so callbacks, statement
//! credits, the ledger and payouts are the buyers' flow. The shop accepts and ships as usual;
//! the receiver signs the BAST ([`bast`]), which completes the order. OPD orders never
//! complete by themselves: a government receipt needs its BAST.
//!
//! Separation of duties is checked per order at the moment of the step: the PPK who approves
//! or rejects may not be the order's orderer (403 `orderer_cannot_approve`), and the receiver
//! who signs the BAST may not be the treasurer who billed it (403 `payer_cannot_receive`).
//! Every step checks the caller's duty now (403 `duty_required`). Another OPD's order is 404.

pub mod bast;
pub mod billing;
pub mod slips;
pub mod spend;
pub mod withholding;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use peken_identity::opd_staff::{self, Duty};
use peken_kernel::auth::Caller;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::wib_date;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ConnectionTrait, EntityTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checkout::{Cart, CheckoutOrder, CheckoutOutcome};
use crate::lifecycle::{release_stock, transition};
use crate::status::{Action, OrderStatus};
use crate::store::order;
use crate::views::{OpdMark, OrderFilter, OrderView};

/// The budget line an OPD order is charged to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BudgetLine {
    /// Sub-kegiatan code, six dot-separated groups of 1, 2, 2, 1, 2 and 4 digits
    /// (`^\d\.\d{2}\.\d{2}\.\d\.\d{2}\.\d{4}$`, e.g. `1.02.02.2.01.0001`: urusan, bidang,
    /// program, kegiatan, sub-kegiatan).
    pub sub_kegiatan: String,
    /// Expenditure account code (kode rekening belanja), six groups of 1, 1, 2, 2, 2 and 4
    /// digits starting with 5 (`^5\.\d\.\d{2}\.\d{2}\.\d{2}\.\d{4}$`, e.g. `5.1.02.01.01.0024`:
    /// akun, kelompok, jenis, objek, rincian objek, sub rincian objek).
    pub account_code: String,
    /// What the purchase is for (up to 500 characters).
    pub purpose: String,
}

fn groups_of(code: &str, widths: &[usize]) -> bool {
    let parts: Vec<&str> = code.split('.').collect();
    parts.len() == widths.len()
        && parts
            .iter()
            .zip(widths)
            .all(|(p, w)| p.len() == *w && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a sub-kegiatan code has the form `1.02.02.2.01.0001`.
pub fn valid_sub_kegiatan(code: &str) -> bool {
    groups_of(code, &[1, 2, 2, 1, 2, 4])
}

/// Whether an account code has the form `5.1.02.01.01.0024` (an expenditure account: 5).
pub fn valid_account_code(code: &str) -> bool {
    groups_of(code, &[1, 1, 2, 2, 2, 4]) && code.starts_with('5')
}

/// What an OPD checkout records with each order.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub opd_id: String,
    pub opd_name: String,
    pub budget: BudgetLine,
    pub approval_threshold: Rupiah,
    /// By then the order must be approved and billed, or it expires.
    pub due_at: DateTime<Utc>,
}

/// The answer to an OPD checkout: the orders, no bill (the treasurer bills them).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutResponse {
    pub checkout_id: String,
    pub orders: Vec<CheckoutOrder>,
}

/// Who did each step of an OPD order, and when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PurchaseRecord {
    pub opd_id: String,
    pub opd_name: String,
    pub budget: BudgetLine,
    pub ordered_by: String,
    pub ordered_at: DateTime<Utc>,
    /// Whether the total was above the OPD's threshold, so a PPK had to approve it.
    pub approval_required: bool,
    /// By then the order must be approved and billed, or it expires and its stock returns.
    pub due_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    /// The treasurer who issued the bill.
    pub billed_by: Option<String>,
    pub billed_at: Option<DateTime<Utc>>,
    pub bast_signed_by: Option<String>,
    pub bast_signed_at: Option<DateTime<Utc>>,
    /// The day the goods were received, as the BAST states (`YYYY-MM-DD`).
    pub bast_receipt_date: Option<String>,
    pub bast_note: Option<String>,
}

/// An OPD order: the order as everyone sees it, its purchasing record and the tax withheld.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdOrderView {
    pub order: OrderView,
    pub purchase: PurchaseRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withholding: Option<withholding::WithholdingView>,
}

/// Places an OPD cart (the `buyer` duty). The cart and idempotency are checkout's.
pub async fn checkout(
    state: &AppState,
    caller: &Caller,
    key: &str,
    hash: &str,
    cart: &Cart,
    budget: BudgetLine,
) -> ApiResult<CheckoutOutcome> {
    let opd_id = opd_staff::require_duty(&state.db, caller, Duty::Buyer).await?;
    let settings = opd_staff::settings(&state.db, &opd_id).await?;
    let opd_name = opd_staff::opd_name(&state.db, &opd_id).await?;
    let policies = state.policies.get(&state.db).await?;
    let now = state.now();
    let today = wib_date(now);
    let last = state
        .calendar
        .add_working_days(today, policies.opd_approval_working_days);
    let due_at = now + chrono::Duration::days((last - today).num_days());
    let purchase = Purchase {
        opd_id,
        opd_name,
        budget,
        approval_threshold: settings.approval_threshold,
        due_at,
    };
    crate::checkout::place(state, caller, key, hash, cart, Some(&purchase)).await
}

/// Records an OPD order's purchasing row (in checkout's transaction).
pub(crate) async fn record_order<C: ConnectionTrait>(
    conn: &C,
    purchase: &Purchase,
    order_id: &str,
    status: OrderStatus,
    ordered_by: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO opd_orders (order_id, opd_id, opd_name, sub_kegiatan, account_code, \
         purpose, ordered_by, ordered_at, approval_required, approval_due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            order_id.into(),
            purchase.opd_id.clone().into(),
            purchase.opd_name.clone().into(),
            purchase.budget.sub_kegiatan.clone().into(),
            purchase.budget.account_code.clone().into(),
            purchase.budget.purpose.clone().into(),
            ordered_by.into(),
            now.into(),
            (status == OrderStatus::AwaitingApproval).into(),
            purchase.due_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The OPD marks of orders, for the shop's and everyone's order views.
pub(crate) async fn marks<C: ConnectionTrait>(
    conn: &C,
    order_ids: &[String],
) -> ApiResult<HashMap<String, OpdMark>> {
    let mut out = HashMap::new();
    if order_ids.is_empty() {
        return Ok(out);
    }
    for chunk in order_ids.chunks(500) {
        let list = peken_kernel::sql::list(chunk.len(), 1);
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                format!(
                    "SELECT order_id, opd_id, opd_name FROM opd_orders WHERE order_id IN ({list})"
                ),
                chunk.iter().map(|id| id.clone().into()),
            ))
            .await?;
        for row in rows {
            out.insert(
                row.try_get("", "order_id")?,
                OpdMark {
                    opd_id: row.try_get("", "opd_id")?,
                    opd_name: row.try_get("", "opd_name")?,
                },
            );
        }
    }
    Ok(out)
}

/// The purchasing record of an order, if it is an OPD's.
pub(crate) async fn record_of<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> ApiResult<Option<PurchaseRecord>> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT * FROM opd_orders WHERE order_id = $1",
            [order_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(PurchaseRecord {
        opd_id: row.try_get("", "opd_id")?,
        opd_name: row.try_get("", "opd_name")?,
        budget: BudgetLine {
            sub_kegiatan: row.try_get("", "sub_kegiatan")?,
            account_code: row.try_get("", "account_code")?,
            purpose: row.try_get("", "purpose")?,
        },
        ordered_by: row.try_get("", "ordered_by")?,
        ordered_at: row.try_get("", "ordered_at")?,
        approval_required: row.try_get("", "approval_required")?,
        due_at: row.try_get("", "approval_due_at")?,
        approved_by: row.try_get("", "approved_by")?,
        approved_at: row.try_get("", "approved_at")?,
        rejected_by: row.try_get("", "rejected_by")?,
        rejected_at: row.try_get("", "rejected_at")?,
        rejection_reason: row.try_get("", "rejection_reason")?,
        billed_by: row.try_get("", "billed_by")?,
        billed_at: row.try_get("", "billed_at")?,
        bast_signed_by: row.try_get("", "bast_signed_by")?,
        bast_signed_at: row.try_get("", "bast_signed_at")?,
        bast_receipt_date: row.try_get("", "bast_receipt_date")?,
        bast_note: row.try_get("", "bast_note")?,
    }))
}

/// An order of the caller's OPD with its record; anything else is 404.
pub(crate) async fn own_order<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<(order::Model, PurchaseRecord)> {
    let opd_id = opd_staff::caller_opd(caller)?;
    let record = record_of(conn, order_id)
        .await?
        .filter(|r| r.opd_id == opd_id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    let found = order::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok((found, record))
}

/// One order of the caller's OPD.
pub async fn get(state: &AppState, caller: &Caller, order_id: &str) -> ApiResult<OpdOrderView> {
    get_on(state, &state.db, caller, order_id).await
}

pub(crate) async fn get_on<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<OpdOrderView> {
    let (found, purchase) = own_order(conn, caller, order_id).await?;
    let order = crate::views::shown(state, conn, caller, found).await?;
    let withholding = withholding::of_order(conn, order_id).await?;
    Ok(OpdOrderView {
        order,
        purchase,
        withholding,
    })
}

/// Which OPD orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct OpdOrderFilter {
    pub status: Option<OrderStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Shipped orders whose BAST is not signed yet.
    pub awaiting_bast: bool,
}

/// The orders of the caller's OPD, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &OpdOrderFilter,
    page: &PageParams,
) -> ApiResult<Page<OrderView>> {
    let opd_id = opd_staff::caller_opd(caller)?.to_owned();
    let status = if filter.awaiting_bast {
        Some(OrderStatus::Shipped)
    } else {
        filter.status
    };
    crate::views::list(
        state,
        caller,
        &OrderFilter {
            status,
            from: filter.from,
            to: filter.to,
            opd_id: Some(opd_id),
        },
        page,
    )
    .await
}

/// The PPK approves (`reason` `None`) or rejects (with a reason) an order waiting for approval.
/// Exactly one of racing decisions wins: the transition is conditional; the others get 409
/// `invalid_transition`.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    rejection: Option<&str>,
) -> ApiResult<OpdOrderView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let (_, record) = own_order(&txn, caller, order_id).await?;
    opd_staff::require_duty(&txn, caller, Duty::Ppk).await?;
    if record.ordered_by == caller.user_id {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "orderer_cannot_approve",
        )
        .with_detail("the person who placed the order may not approve or reject it"));
    }
    let backend = txn.get_database_backend();
    match rejection {
        None => {
            transition(
                &txn,
                order_id,
                Action::Approve,
                Some(&caller.user_id),
                None,
                now,
            )
            .await?;
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE opd_orders SET approved_by = $1, approved_at = $2 WHERE order_id = $3",
                [caller.user_id.clone().into(), now.into(), order_id.into()],
            ))
            .await?;
        }
        Some(reason) => {
            let before = transition(
                &txn,
                order_id,
                Action::Decline,
                Some(&caller.user_id),
                Some(reason),
                now,
            )
            .await?;
            release_stock(
                &txn,
                &before,
                "rejected by the PPK",
                Some(&caller.user_id),
                now,
            )
            .await?;
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE opd_orders SET rejected_by = $1, rejected_at = $2, rejection_reason = $3 \
                 WHERE order_id = $4",
                [
                    caller.user_id.clone().into(),
                    now.into(),
                    reason.into(),
                    order_id.into(),
                ],
            ))
            .await?;
        }
    }
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new(
            if rejection.is_none() {
                "order.approved"
            } else {
                "order.approval_rejected"
            },
            "order",
            order_id,
        )
        .before(serde_json::json!({"status": OrderStatus::AwaitingApproval.as_str()}))
        .after(serde_json::json!({
            "status": if rejection.is_none() { "awaiting_payment" } else { "cancelled" },
            "reason": rejection,
        })),
        now,
    )
    .await?;
    let view = get_on(state, &txn, caller, order_id).await?;
    txn.commit().await?;
    state.metrics.event(
        "opd_approval",
        if rejection.is_none() {
            "approved"
        } else {
            "rejected"
        },
    );
    Ok(view)
}

/// Expires OPD orders not approved, or approved but not billed, by their due time: cancelled,
/// stock returned, once, even with several workers racing (conditional transitions).
pub async fn expire_due(state: &AppState, limit: u64) -> ApiResult<usize> {
    let now = state.now();
    let due = state
        .db
        .query_all_raw(Statement::from_sql_and_values(
            state.db.get_database_backend(),
            "SELECT o.id, o.status FROM orders o JOIN opd_orders p ON p.order_id = o.id \
             WHERE p.approval_due_at <= $1 AND p.billed_at IS NULL \
             AND o.status IN ('awaiting_approval', 'awaiting_payment') \
             ORDER BY p.approval_due_at LIMIT $2",
            [now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await?;
    let mut expired = 0;
    for row in due {
        let order_id: String = row.try_get("", "id")?;
        let status: String = row.try_get("", "status")?;
        let txn = state.db.begin().await?;
        let outcome = if status == OrderStatus::AwaitingApproval.as_str() {
            transition(
                &txn,
                &order_id,
                Action::ExpireApproval,
                None,
                Some("not approved in time"),
                now,
            )
            .await
        } else {
            // Approved but never billed: no bill holds it, so it is cancelled here.
            transition(
                &txn,
                &order_id,
                Action::Cancel,
                None,
                Some("not billed in time"),
                now,
            )
            .await
        };
        match outcome {
            Ok(before) => {
                release_stock(&txn, &before, "OPD approval expired", None, now).await?;
                txn.commit().await?;
                expired += 1;
            }
            Err(e) if e.code() == "invalid_transition" => txn.rollback().await?,
            Err(e) => return Err(e),
        }
    }
    if expired > 0 {
        state.metrics.event("opd_approval_expired", "ok");
    }
    Ok(expired)
}
