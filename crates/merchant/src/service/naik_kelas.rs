//! A shop moving up a class (*naik kelas*): its NIB checked by the cooperatives office (until
//! then it cannot sell), its halal, PIRT and trademark numbers and founding-capital band, and the
//! mentoring the office gave it.

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::error::unique_violation;
use peken_kernel::ids::Nib;
use peken_kernel::{ApiError, ApiResult, AppState, sql};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QuerySelect, Set, TransactionTrait};

use super::merchants::{NIB_CHECKED, NIB_IN_PROGRESS, NIB_NONE};
use crate::store::merchant;

/// Sets where a shop stands with its NIB. `checked` needs an NIB (the one given, else the one on
/// file); a shop that has one cannot go back to `none`.
pub async fn set_nib(
    state: &AppState,
    admin: &Caller,
    id: &str,
    status: &str,
    nib: Option<Nib>,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let before = merchant::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let number = nib.map(|n| n.as_str().to_owned()).or(before.nib.clone());
    if status == NIB_CHECKED && number.is_none() {
        return Err(ApiError::field(
            "nib",
            "required",
            "a checked NIB needs the NIB's number",
        ));
    }
    if status == NIB_NONE && number.is_some() {
        return Err(ApiError::field(
            "status",
            "invalid_nib_status",
            "a shop with an NIB is in_progress or checked",
        ));
    }
    debug_assert!([NIB_NONE, NIB_IN_PROGRESS, NIB_CHECKED].contains(&status));
    let mut row: merchant::ActiveModel = before.clone().into();
    row.nib = Set(number);
    row.nib_status = Set(status.to_owned());
    row.updated_at = Set(now);
    let updated = row
        .update(&txn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(msg) if msg.contains("nib") => ApiError::conflict(
                "nib_taken",
                "a merchant with this NIB is already registered",
            ),
            _ => e.into(),
        })?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("merchant.nib", "merchant", id)
            .before(serde_json::json!({"nib": before.nib, "nib_status": before.nib_status}))
            .after(serde_json::json!({"nib": updated.nib, "nib_status": updated.nib_status})),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(merchant_id = %id, nib_status = status, "merchant NIB status changed");
    peken_catalog::cache::listings_changed(state).await;
    Ok(updated)
}

/// The signs of moving up a shop declares (checked text, `None` clears a field).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub halal_number: Option<String>,
    pub pirt_number: Option<String>,
    pub trademark_name: Option<String>,
    pub trademark_number: Option<String>,
    pub capital_band: Option<String>,
}

/// Replaces the shop's halal, PIRT, trademark and capital band.
pub async fn set_credentials(
    state: &AppState,
    actor: &Caller,
    id: &str,
    new: Credentials,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let before = merchant::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let mut row: merchant::ActiveModel = before.into();
    row.halal_number = Set(new.halal_number);
    row.pirt_number = Set(new.pirt_number);
    row.trademark_name = Set(new.trademark_name);
    row.trademark_number = Set(new.trademark_number);
    row.capital_band = Set(new.capital_band);
    row.updated_at = Set(now);
    let updated = row.update(&txn).await?;
    peken_audit::record(
        &txn,
        actor,
        peken_audit::Change::new("merchant.credentials", "merchant", id).after(serde_json::json!({
            "halal_number": updated.halal_number, "pirt_number": updated.pirt_number,
            "trademark_name": updated.trademark_name,
            "trademark_number": updated.trademark_number,
            "capital_band": updated.capital_band,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// One session of mentoring the cooperatives office gave a shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentoring {
    pub id: String,
    pub merchant_id: String,
    pub held_on: NaiveDate,
    pub mentor: String,
    pub topic: String,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

fn mentoring_of(r: &sea_orm::QueryResult) -> ApiResult<Mentoring> {
    let held_on: String = r.try_get("", "held_on")?;
    Ok(Mentoring {
        id: r.try_get("", "id")?,
        merchant_id: r.try_get("", "merchant_id")?,
        held_on: NaiveDate::parse_from_str(&held_on, "%Y-%m-%d").map_err(ApiError::internal)?,
        mentor: r.try_get("", "mentor")?,
        topic: r.try_get("", "topic")?,
        recorded_by: r.try_get("", "recorded_by")?,
        created_at: r.try_get("", "created_at")?,
    })
}

/// Records a session of mentoring.
pub async fn add_mentoring(
    state: &AppState,
    admin: &Caller,
    merchant_id: &str,
    held_on: NaiveDate,
    mentor: String,
    topic: String,
) -> ApiResult<Mentoring> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if super::merchants::find(&txn, merchant_id).await?.is_none() {
        return Err(ApiError::not_found("merchant"));
    }
    let entry = Mentoring {
        id: new_id(),
        merchant_id: merchant_id.to_owned(),
        held_on,
        mentor,
        topic,
        recorded_by: admin.user_id.clone(),
        created_at: now,
    };
    sql::exec(
        &txn,
        "INSERT INTO merchant_mentoring (id, merchant_id, held_on, mentor, topic, recorded_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            entry.id.clone().into(),
            entry.merchant_id.clone().into(),
            entry.held_on.format("%Y-%m-%d").to_string().into(),
            entry.mentor.clone().into(),
            entry.topic.clone().into(),
            entry.recorded_by.clone().into(),
            entry.created_at.into(),
        ],
    )
    .await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("merchant.mentoring", "merchant", merchant_id).after(
            serde_json::json!({"id": entry.id, "held_on": entry.held_on, "mentor": entry.mentor,
                               "topic": entry.topic}),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(entry)
}

/// A shop's mentoring, oldest first.
pub async fn mentoring<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> ApiResult<Vec<Mentoring>> {
    sql::query(
        conn,
        "SELECT id, merchant_id, held_on, mentor, topic, recorded_by, created_at \
         FROM merchant_mentoring WHERE merchant_id = $1 ORDER BY held_on, id",
        vec![merchant_id.into()],
    )
    .await?
    .iter()
    .map(mentoring_of)
    .collect()
}
