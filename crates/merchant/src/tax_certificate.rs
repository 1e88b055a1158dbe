//! A shop's PP 55/2022 certificate (surat keterangan PP 55/2022): with a verified one valid on
//! the day an OPD issues its bill, the OPD withholds the 0.5% final tax instead of PPh 22. The
//! shop records its number and validity; the cooperatives admin verifies it or clears it. Only
//! a verified certificate counts ([`valid_on`]); recording it again waits for verification again.

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// Recorded by the shop, not yet checked.
    Submitted,
    /// Checked by the cooperatives office: it counts while valid.
    Verified,
    /// Found wrong or withdrawn: it does not count.
    Cleared,
}

impl CertificateStatus {
    fn parse(s: &str) -> CertificateStatus {
        match s {
            "verified" => CertificateStatus::Verified,
            "cleared" => CertificateStatus::Cleared,
            _ => CertificateStatus::Submitted,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxCertificate {
    pub merchant_id: String,
    pub number: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: CertificateStatus,
    pub submitted_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

async fn find<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> ApiResult<Option<TaxCertificate>> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT merchant_id, number, valid_from, valid_until, status, submitted_at, \
             decided_by, decided_at FROM merchant_tax_certificates WHERE merchant_id = $1",
            [merchant_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let date = |col: &str| -> ApiResult<NaiveDate> {
        let text: String = row.try_get("", col)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(ApiError::internal)
    };
    Ok(Some(TaxCertificate {
        merchant_id: row.try_get("", "merchant_id")?,
        number: row.try_get("", "number")?,
        valid_from: date("valid_from")?,
        valid_until: date("valid_until")?,
        status: CertificateStatus::parse(&row.try_get::<String>("", "status")?),
        submitted_at: row.try_get("", "submitted_at")?,
        decided_by: row.try_get("", "decided_by")?,
        decided_at: row.try_get("", "decided_at")?,
    }))
}

/// The number of the shop's verified certificate valid on `day`, if it has one.
pub async fn valid_on<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    day: NaiveDate,
) -> ApiResult<Option<String>> {
    Ok(find(conn, merchant_id).await?.and_then(|c| {
        (c.status == CertificateStatus::Verified && c.valid_from <= day && day <= c.valid_until)
            .then_some(c.number)
    }))
}

/// The certificate of a shop, for its own people and admins; 404 for others or when none.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> ApiResult<TaxCertificate> {
    if !(caller.is_merchant_of(merchant_id) || caller.role == Role::Admin) {
        return Err(ApiError::not_found("tax certificate"));
    }
    find(&state.db, merchant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("tax certificate"))
}

/// The shop records its certificate (replacing an earlier one); it waits for verification.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    number: &str,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
) -> ApiResult<TaxCertificate> {
    if !caller.is_merchant_of(merchant_id) {
        return Err(ApiError::not_found("merchant"));
    }
    let now = state.now();
    let txn = state.db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO merchant_tax_certificates (merchant_id, number, valid_from, valid_until, \
         status, submitted_by, submitted_at, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, 'submitted', $5, $6, NULL, NULL) \
         ON CONFLICT (merchant_id) DO UPDATE SET number = excluded.number, \
         valid_from = excluded.valid_from, valid_until = excluded.valid_until, \
         status = 'submitted', submitted_by = excluded.submitted_by, \
         submitted_at = excluded.submitted_at, decided_by = NULL, decided_at = NULL",
        [
            merchant_id.into(),
            number.into(),
            valid_from.to_string().into(),
            valid_until.to_string().into(),
            caller.user_id.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new(
            "merchant.tax_certificate_submitted",
            "merchant",
            merchant_id,
        )
        .after(serde_json::json!({
            "number": number, "valid_from": valid_from, "valid_until": valid_until,
        })),
        now,
    )
    .await?;
    let out = find(&txn, merchant_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("certificate not stored")))?;
    txn.commit().await?;
    Ok(out)
}

/// The cooperatives admin verifies (`true`) or clears (`false`) a shop's certificate.
pub async fn decide(
    state: &AppState,
    admin: &Caller,
    merchant_id: &str,
    verified: bool,
) -> ApiResult<TaxCertificate> {
    let now = state.now();
    let status = if verified { "verified" } else { "cleared" };
    let txn = state.db.begin().await?;
    let updated = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "UPDATE merchant_tax_certificates SET status = $1, decided_by = $2, decided_at = $3 \
             WHERE merchant_id = $4",
            [
                status.into(),
                admin.user_id.clone().into(),
                now.into(),
                merchant_id.into(),
            ],
        ))
        .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::not_found("tax certificate"));
    }
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("merchant.tax_certificate_decided", "merchant", merchant_id)
            .after(serde_json::json!({"status": status})),
        now,
    )
    .await?;
    let out = find(&txn, merchant_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("certificate gone")))?;
    txn.commit().await?;
    Ok(out)
}
