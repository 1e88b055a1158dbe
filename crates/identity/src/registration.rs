//! Public registration that does not tell anyone whether a NIK or an e-mail address is
//! registered. Every well-formed registration gets the same answer (202) and one mail to the
//! address it names, after the same password-hashing work:
//!
//! - nothing is taken: a code that confirms the address; the account exists only once the code
//!   comes back (`confirm`), so a registration never blocks a NIK or an address by itself;
//! - the address belongs to an account: a note to that account's owner (nobody else learns it);
//! - the NIK belongs to another account: a note to the address saying how to reclaim the NIK at
//!   the cooperatives office, where an admin checks the KTP and closes the other account
//!   (`reclaim_nik`).

use chrono::{DateTime, Duration, Utc};
use peken_kernel::auth::{Caller, Role, random_token, token_digest};
use peken_kernel::db::new_id;
use peken_kernel::ids::mask_nik_str;
use peken_kernel::{ApiError, ApiResult, AppState};
use peken_mail::{Mail, Template};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Statement,
    TransactionTrait,
};

use crate::password::code_shaped;
use crate::service::{
    NewUser, Sessions, insert_user, limited, refuse_access_tokens, revoke_sessions,
};
use crate::store::{registration, user};

/// How long a confirmation code works.
pub const CONFIRM_TTL: Duration = Duration::hours(24);
/// Registrations naming one e-mail address, per hour: bounds the mail one address receives.
pub const REGISTRATIONS_PER_ADDRESS_PER_HOUR: u32 = 5;

/// A well-formed registration form.
#[derive(Debug)]
pub struct Form {
    pub nik: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    pub kelurahan_code: String,
}

fn invalid_token() -> ApiError {
    ApiError::bad_request(
        "invalid_registration_token",
        "the code is invalid, has expired or has already been used",
    )
}

/// Takes a registration and mails its address; see the module documentation.
pub async fn register(state: &AppState, form: Form) -> ApiResult<()> {
    // Per address, before anything is looked up, so the limit says nothing about existence.
    limited(
        state,
        &format!("register:email:{}", token_digest(&form.email)),
        REGISTRATIONS_PER_ADDRESS_PER_HOUR,
        std::time::Duration::from_secs(3600),
        "registration",
    )
    .await?;
    // Hashed whatever the outcome, so no outcome answers faster than another.
    let password_hash = state.passwords.hash(&form.password).await?;
    let now = state.now();
    let by_email = user::Entity::find()
        .filter(user::Column::Email.eq(form.email.clone()))
        .one(&state.db)
        .await?;
    let nik_taken = by_email.is_none()
        && user::Entity::find()
            .filter(user::Column::Nik.eq(form.nik.clone()))
            .one(&state.db)
            .await?
            .is_some();
    let txn = state.db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "DELETE FROM registrations WHERE expires_at <= $1",
        [now.into()],
    ))
    .await?;
    let id = new_id();
    let template = if let Some(owner) = by_email {
        Template::RegistrationEmailTaken { name: owner.name }
    } else if nik_taken {
        Template::RegistrationNikTaken {
            name: form.name,
            nik_masked: mask_nik_str(&form.nik),
        }
    } else {
        let code = random_token();
        let expires_at = now + CONFIRM_TTL;
        registration::ActiveModel {
            id: Set(id.clone()),
            token_hash: Set(token_digest(&code)),
            nik: Set(form.nik),
            name: Set(form.name.clone()),
            email: Set(form.email.clone()),
            phone: Set(form.phone),
            password_hash: Set(password_hash),
            kelurahan_code: Set(form.kelurahan_code),
            expires_at: Set(expires_at),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        Template::RegistrationConfirm {
            name: form.name,
            code,
            expires_at,
        }
    };
    peken_mail::enqueue(
        &txn,
        Mail {
            to: form.email,
            to_name: None,
            // Not a user yet (or the address's owner, who did not ask): mail only.
            user_id: None,
            template,
            dedupe_key: format!("registration:{id}"),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    // One outcome in the metrics too.
    state.metrics.event("registration", "accepted");
    Ok(())
}

/// Creates the account of a registration whose code came back. The code works once; the NIK or
/// address may have been registered since (by an earlier confirmation), which is a 409 to the
/// person who just proved they own the address.
pub async fn confirm(state: &AppState, token: &str, client: &str) -> ApiResult<user::Model> {
    if !code_shaped(token) {
        return Err(invalid_token());
    }
    limited(
        state,
        &format!("register-confirm:ip:{client}"),
        state.settings.login_ip_per_minute,
        std::time::Duration::from_secs(60),
        "registration",
    )
    .await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let Some(row) = registration::Entity::find()
        .filter(registration::Column::TokenHash.eq(token_digest(token)))
        .filter(registration::Column::ExpiresAt.gt(now))
        .one(&txn)
        .await?
    else {
        return Err(invalid_token());
    };
    // Spent by deleting it: of two confirmations at once, one deletes the row.
    let spent = registration::Entity::delete_by_id(row.id.clone())
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 {
        return Err(invalid_token());
    }
    let mut new = NewUser::new(Role::Public, row.name, row.password_hash);
    new.nik = Some(row.nik.clone());
    new.email = Some(row.email.clone());
    new.phone = Some(row.phone);
    new.domicile_kelurahan_code = Some(row.kelurahan_code);
    let created = insert_user(&txn, new, now).await?;
    // Other registrations of the same NIK or address could only fail now.
    registration::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(registration::Column::Nik.eq(row.nik))
                .add(registration::Column::Email.eq(row.email)),
        )
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.metrics.event("registration", "confirmed");
    Ok(created)
}

/// A NIK reclaim's fields as typed: a valid NIK and a reason of at most 500 characters (the
/// API and the console check them alike).
pub fn check_reclaim(nik: &str, reason: &str) -> ApiResult<(peken_kernel::ids::Nik, String)> {
    let mut v = peken_kernel::Validation::new();
    let nik = v.check("nik", peken_kernel::ids::Nik::parse(nik));
    let reason = peken_kernel::error::check_text(&mut v, "reason", reason, 500);
    v.finish_with((nik, reason))
}

/// The cooperatives office gives a NIK back to its owner, who proved it in person: the public
/// buyer account holding it loses the NIK and is closed (its sessions end, its orders stay),
/// its holder is told by mail, and the owner can register. Audited with the admin's reason.
pub async fn reclaim_nik(
    state: &AppState,
    admin: &Caller,
    nik: &str,
    reason: &str,
) -> ApiResult<user::Model> {
    let now: DateTime<Utc> = state.now();
    let txn = state.db.begin().await?;
    let holder = user::Entity::find()
        .filter(user::Column::Nik.eq(nik))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("an account with this NIK"))?;
    if holder.role != Role::Public.as_str() {
        return Err(ApiError::conflict(
            "nik_not_reclaimable",
            "only a public buyer account can lose its NIK this way; ASN and merchant accounts \
             are corrected through their own records",
        ));
    }
    let mut closed: user::ActiveModel = holder.clone().into();
    closed.nik = Set(None);
    closed.active = Set(false);
    closed.updated_at = Set(now);
    let closed = closed.update(&txn).await?;
    // A closed account is pushed nothing more.
    peken_mail::push::devices::remove_all(&txn, &holder.id).await?;
    let sessions = revoke_sessions(&txn, Sessions::OfUser(&holder.id), now).await?;
    let masked = mask_nik_str(nik);
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("user.nik_reclaimed", "user", &holder.id)
            .before(serde_json::json!({"nik_masked": masked, "active": holder.active}))
            .after(serde_json::json!({"nik_masked": null, "active": false, "reason": reason})),
        now,
    )
    .await?;
    if let Some(email) = holder.email.clone() {
        peken_mail::enqueue(
            &txn,
            Mail {
                to: email,
                to_name: Some(holder.name.clone()),
                user_id: Some(holder.id.clone()),
                template: Template::NikReclaimed {
                    name: holder.name.clone(),
                    nik_masked: masked,
                },
                dedupe_key: format!("nik_reclaimed:{}:{}", holder.id, now.timestamp()),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    refuse_access_tokens(state, &sessions).await;
    tracing::info!(user_id = %holder.id, "NIK reclaimed by its owner; account closed");
    Ok(closed)
}
