//! The staff of an OPD who buy for it, and their duties: `buyer` (pemesan), `ppk` (pejabat
//! pembuat komitmen, approves orders above the OPD's threshold), `receiver` (penerima/pemeriksa,
//! signs the BAST) and `treasurer` (bendahara pengeluaran, pays). The OPD admin creates staff of
//! its own OPD, grants and revokes duties and sets the approval threshold; each change goes to
//! the audit log. Duties are read on every step ([`require_duty`]); the rules that one person
//! may not order and approve, nor pay and receive, are the order crate's, per order.

use chrono::{DateTime, Utc};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::{self, NewUser};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// Pemesan: places orders.
    Buyer,
    /// Pejabat pembuat komitmen: approves or rejects orders above the threshold.
    Ppk,
    /// Penerima/pemeriksa: signs the BAST.
    Receiver,
    /// Bendahara pengeluaran: issues the bill and pays.
    Treasurer,
}

impl Duty {
    pub const ALL: [Duty; 4] = [Duty::Buyer, Duty::Ppk, Duty::Receiver, Duty::Treasurer];

    pub fn as_str(self) -> &'static str {
        match self {
            Duty::Buyer => "buyer",
            Duty::Ppk => "ppk",
            Duty::Receiver => "receiver",
            Duty::Treasurer => "treasurer",
        }
    }

    pub fn parse(s: &str) -> Option<Duty> {
        Duty::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A staff member of an OPD with its duties.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpdStaffMember {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub active: bool,
    pub duties: Vec<Duty>,
}

/// The OPD's purchasing settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchasingSettings {
    pub opd_id: String,
    /// Orders whose total is above this wait for the PPK; at or below it they skip approval.
    /// An OPD that set nothing has 0: every order waits.
    pub approval_threshold: Rupiah,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The duties a user holds now.
pub async fn duties_of<C: ConnectionTrait>(conn: &C, user_id: &str) -> ApiResult<Vec<Duty>> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT duty FROM opd_staff_duties WHERE user_id = $1 ORDER BY duty",
            [user_id.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(duty) = Duty::parse(&row.try_get::<String>("", "duty")?) {
            out.push(duty);
        }
    }
    Ok(out)
}

/// Refuses (403 `duty_required`) a caller that is not an OPD staff member holding `duty` now.
/// Returns the caller's OPD.
pub async fn require_duty<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    duty: Duty,
) -> ApiResult<String> {
    let refused = || {
        ApiError::new(actix_web::http::StatusCode::FORBIDDEN, "duty_required")
            .with_detail(format!(
                "your duties in the OPD do not include {}",
                duty.as_str()
            ))
            .with_context(serde_json::json!({"duty": duty.as_str()}))
    };
    let (Role::OpdStaff, Some(opd_id)) = (caller.role, caller.opd_id.as_deref()) else {
        return Err(refused());
    };
    let held = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT 1 AS held FROM opd_staff_duties d JOIN users u ON u.id = d.user_id \
             WHERE d.user_id = $1 AND d.duty = $2 AND u.active AND u.opd_id = $3",
            [
                caller.user_id.clone().into(),
                duty.as_str().into(),
                opd_id.into(),
            ],
        ))
        .await?;
    if held.is_none() {
        return Err(refused());
    }
    Ok(opd_id.to_owned())
}

/// The OPD the caller belongs to (OPD admin or staff); 403 for anyone else.
pub fn caller_opd(caller: &Caller) -> ApiResult<&str> {
    match (caller.role, caller.opd_id.as_deref()) {
        (Role::OpdAdmin | Role::OpdStaff, Some(opd)) => Ok(opd),
        _ => Err(ApiError::forbidden()),
    }
}

/// The name of an OPD.
pub async fn opd_name<C: ConnectionTrait>(conn: &C, opd_id: &str) -> ApiResult<String> {
    Ok(service::find_opd(conn, opd_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default())
}

async fn write_duties<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    duties: &[Duty],
    granted_by: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let backend = conn.get_database_backend();
    // Revoked duties go; held ones keep who granted them and when. The names come from
    // `Duty`, never from the client.
    let keep = if duties.is_empty() {
        String::new()
    } else {
        format!(
            " AND duty NOT IN ({})",
            duties
                .iter()
                .map(|d| format!("'{}'", d.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM opd_staff_duties WHERE user_id = $1{keep}"),
        [user_id.into()],
    ))
    .await?;
    for duty in duties {
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO opd_staff_duties (user_id, duty, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, duty) DO NOTHING",
            [
                user_id.into(),
                duty.as_str().into(),
                granted_by.into(),
                now.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The OPD admin creates a staff member of its own OPD with its first duties.
pub async fn create(
    state: &AppState,
    admin: &Caller,
    name: String,
    email: String,
    password_hash: String,
    duties: Vec<Duty>,
) -> ApiResult<OpdStaffMember> {
    let opd_id = caller_opd(admin)?.to_owned();
    let now = state.now();
    let txn = state.db.begin().await?;
    let mut new = NewUser::new(Role::OpdStaff, name, password_hash);
    new.email = Some(email);
    new.opd_id = Some(opd_id.clone());
    let created = service::insert_user(&txn, new, now).await?;
    write_duties(&txn, &created.id, &duties, &admin.user_id, now).await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("opd.staff_created", "user", &created.id)
            .after(serde_json::json!({"opd_id": opd_id, "email": created.email,
                               "duties": duties.iter().map(|d| d.as_str()).collect::<Vec<_>>()})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(OpdStaffMember {
        id: created.id,
        name: created.name,
        email: created.email,
        active: created.active,
        duties,
    })
}

/// The staff of the caller's OPD with their duties, by name.
pub async fn list(state: &AppState, admin: &Caller) -> ApiResult<Vec<OpdStaffMember>> {
    let opd_id = caller_opd(admin)?;
    let rows = state
        .db
        .query_all_raw(Statement::from_sql_and_values(
            state.db.get_database_backend(),
            "SELECT u.id, u.name, u.email, u.active, d.duty FROM users u \
             LEFT JOIN opd_staff_duties d ON d.user_id = u.id \
             WHERE u.role = 'opd_staff' AND u.opd_id = $1 ORDER BY u.name, u.id, d.duty",
            [opd_id.into()],
        ))
        .await?;
    let mut out: Vec<OpdStaffMember> = Vec::new();
    for row in rows {
        let id: String = row.try_get("", "id")?;
        if out.last().is_none_or(|m| m.id != id) {
            out.push(OpdStaffMember {
                id,
                name: row.try_get("", "name")?,
                email: row.try_get("", "email")?,
                active: row.try_get("", "active")?,
                duties: Vec::new(),
            });
        }
        if let Some(duty) = row
            .try_get::<Option<String>>("", "duty")?
            .as_deref()
            .and_then(Duty::parse)
            && let Some(last) = out.last_mut()
        {
            last.duties.push(duty);
        }
    }
    Ok(out)
}

/// Grants and revokes: the staff member holds exactly `duties` afterwards. Another OPD's user
/// (or anyone not OPD staff) is 404.
pub async fn set_duties(
    state: &AppState,
    admin: &Caller,
    user_id: &str,
    duties: Vec<Duty>,
) -> ApiResult<OpdStaffMember> {
    let opd_id = caller_opd(admin)?.to_owned();
    let now = state.now();
    let txn = state.db.begin().await?;
    let user = crate::people::find(&txn, user_id)
        .await?
        .filter(|u| {
            u.role == Role::OpdStaff.as_str() && u.opd_id.as_deref() == Some(opd_id.as_str())
        })
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    let before = duties_of(&txn, user_id).await?;
    write_duties(&txn, user_id, &duties, &admin.user_id, now).await?;
    let granted: Vec<&str> = duties
        .iter()
        .filter(|d| !before.contains(d))
        .map(|d| d.as_str())
        .collect();
    let revoked: Vec<&str> = before
        .iter()
        .filter(|d| !duties.contains(d))
        .map(|d| d.as_str())
        .collect();
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("opd.duties_changed", "user", user_id)
            .before(serde_json::json!({"duties": before.iter().map(|d| d.as_str()).collect::<Vec<_>>()}))
            .after(serde_json::json!({
                "duties": duties.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                "granted": granted, "revoked": revoked,
            })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(OpdStaffMember {
        id: user.id,
        name: user.name,
        email: user.email,
        active: user.active,
        duties,
    })
}

/// The purchasing settings of an OPD (threshold 0 when none were set).
pub async fn settings<C: ConnectionTrait>(conn: &C, opd_id: &str) -> ApiResult<PurchasingSettings> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT approval_threshold, updated_by, updated_at FROM opd_purchasing_settings \
             WHERE opd_id = $1",
            [opd_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => PurchasingSettings {
            opd_id: opd_id.to_owned(),
            approval_threshold: Rupiah::new(row.try_get("", "approval_threshold")?),
            updated_by: row.try_get("", "updated_by")?,
            updated_at: row.try_get("", "updated_at")?,
        },
        None => PurchasingSettings {
            opd_id: opd_id.to_owned(),
            approval_threshold: Rupiah::ZERO,
            updated_by: None,
            updated_at: None,
        },
    })
}

/// The OPD admin sets its OPD's approval threshold.
pub async fn set_threshold(
    state: &AppState,
    admin: &Caller,
    threshold: Rupiah,
) -> ApiResult<PurchasingSettings> {
    let opd_id = caller_opd(admin)?.to_owned();
    let now = state.now();
    let txn = state.db.begin().await?;
    let before = settings(&txn, &opd_id).await?;
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO opd_purchasing_settings (opd_id, approval_threshold, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (opd_id) DO UPDATE SET \
         approval_threshold = excluded.approval_threshold, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
        [
            opd_id.clone().into(),
            threshold.get().into(),
            admin.user_id.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("opd.purchasing_settings_changed", "opd", &opd_id)
            .before(serde_json::json!({"approval_threshold": before.approval_threshold}))
            .after(serde_json::json!({"approval_threshold": threshold})),
        now,
    )
    .await?;
    let after = settings(&txn, &opd_id).await?;
    txn.commit().await?;
    Ok(after)
}
