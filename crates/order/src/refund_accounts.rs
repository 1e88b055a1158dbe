//! Where a buyer's refunds are sent: one bank account per buyer (`refund_accounts`), set by the
//! buyer. A refund batch leaves out refunds of buyers without one (`no_refund_account`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A buyer's refund account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RefundAccount {
    /// The bank's 3-digit clearing code.
    pub bank_code: String,
    /// 5 to 20 digits.
    pub account_number: String,
    /// The name on the account, as the bank has it.
    pub account_name: String,
    pub updated_at: DateTime<Utc>,
}

fn row(r: &QueryResult) -> Result<(String, RefundAccount), sea_orm::DbErr> {
    Ok((
        r.try_get("", "buyer_id")?,
        RefundAccount {
            bank_code: r.try_get("", "bank_code")?,
            account_number: r.try_get("", "account_number")?,
            account_name: r.try_get("", "account_name")?,
            updated_at: r.try_get("", "updated_at")?,
        },
    ))
}

const COLUMNS: &str = "buyer_id, bank_code, account_number, account_name, updated_at";

/// The buyer's refund account, if any.
pub async fn of_buyer<C: ConnectionTrait>(
    conn: &C,
    buyer_id: &str,
) -> ApiResult<Option<RefundAccount>> {
    let found = sql::query_one(
        conn,
        format!("SELECT {COLUMNS} FROM refund_accounts WHERE buyer_id = $1"),
        vec![buyer_id.into()],
    )
    .await?;
    Ok(found.as_ref().map(row).transpose()?.map(|(_, a)| a))
}

/// The refund accounts of many buyers at once, by buyer id.
pub async fn of_buyers<C: ConnectionTrait>(
    conn: &C,
    buyer_ids: &[String],
) -> ApiResult<HashMap<String, RefundAccount>> {
    let mut out = HashMap::with_capacity(buyer_ids.len());
    for chunk in buyer_ids.chunks(sql::CHUNK_ROWS) {
        let values: Vec<Value> = chunk.iter().map(|id| id.clone().into()).collect();
        let rows = sql::query(
            conn,
            format!(
                "SELECT {COLUMNS} FROM refund_accounts WHERE buyer_id IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for r in &rows {
            let (buyer, account) = row(r)?;
            out.insert(buyer, account);
        }
    }
    Ok(out)
}

/// Sets the caller's refund account (checked by the caller: digits and a name). A refund already
/// in a batch keeps the account it was built with.
pub async fn set(
    state: &AppState,
    by: &Caller,
    bank_code: &str,
    account_number: &str,
    account_name: &str,
) -> ApiResult<RefundAccount> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let before = of_buyer(&txn, &by.user_id).await?;
    sql::exec(
        &txn,
        "INSERT INTO refund_accounts (buyer_id, bank_code, account_number, account_name, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (buyer_id) DO UPDATE SET bank_code = excluded.bank_code, \
         account_number = excluded.account_number, account_name = excluded.account_name, \
         updated_at = excluded.updated_at",
        vec![
            by.user_id.clone().into(),
            bank_code.into(),
            account_number.into(),
            account_name.into(),
            now.into(),
        ],
    )
    .await?;
    let account = of_buyer(&txn, &by.user_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund account vanished")))?;
    txn.commit().await?;
    tracing::info!(
        buyer_id = %by.user_id,
        bank_code,
        account_last4 = last4(account_number),
        changed = before.is_some(),
        "refund account set"
    );
    Ok(account)
}

/// The last four digits of an account number, all that may appear in a log.
pub fn last4(number: &str) -> &str {
    &number[number.len().saturating_sub(4)..]
}
