//! What a user changes about themselves: name and phone at once, the e-mail address once the
//! new address has proved it receives mail, and the password with the current one.
//!
//! An e-mail change is a code mailed to the new address, kept as its SHA-256 in
//! `email_changes` for [`EMAIL_CHANGE_TTL`]; entering it (logged in as the same user) swaps
//! the address in one conditional update and tells the old address. Asking again replaces an
//! earlier code. A password change needs the current password, ends every other session of the
//! user and spends outstanding reset codes, like a reset does.

use chrono::Duration;
use peken_kernel::auth::{Caller, random_token, token_digest};
use peken_kernel::db::new_id;
use peken_kernel::{ApiError, ApiResult, AppState};
use peken_mail::{Mail, Template};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};

use crate::password::code_shaped;
use crate::service::{
    Sessions, find_user, limited, map_user_conflict, refuse_access_tokens, revoke_sessions,
};
use crate::store::{email_change, user};

/// How long the code mailed to a new address stays valid.
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);
/// E-mail changes a user may ask for in an hour (each sends a mail).
pub const EMAIL_CHANGES_PER_HOUR: u32 = 5;
/// Wrong current passwords a user may send in fifteen minutes.
pub const PASSWORD_CHANGES_PER_QUARTER: u32 = 5;

/// A change of the caller's profile; `None` leaves a field alone, `Some(None)` clears the phone.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
    /// A new address: not changed now, but a code is mailed to it.
    pub email: Option<String>,
}

/// The user after the change, and the address waiting for its code, if one was asked for.
pub struct Changed {
    pub user: user::Model,
    pub pending_email: Option<String>,
}

async fn me(state: &AppState, caller: &Caller) -> ApiResult<user::Model> {
    find_user(&state.db, &caller.user_id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the user no longer exists"))
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    change: ProfileChange,
) -> ApiResult<Changed> {
    let now = state.now();
    let found = me(state, caller).await?;
    let new_email = change
        .email
        .filter(|e| found.email.as_deref() != Some(e.as_str()));
    if new_email.is_some() {
        limited(
            state,
            &format!("email-change:{}", caller.user_id),
            EMAIL_CHANGES_PER_HOUR,
            std::time::Duration::from_secs(3600),
            "email_change",
        )
        .await?;
    }
    let txn = state.db.begin().await?;
    let mut row = found.clone().into_active_model();
    let mut touched = false;
    if let Some(name) = change.name {
        row.name = Set(name);
        touched = true;
    }
    if let Some(phone) = change.phone {
        row.phone = Set(phone);
        touched = true;
    }
    let saved = if touched {
        row.updated_at = Set(now);
        row.update(&txn).await?
    } else {
        found
    };
    if let Some(email) = &new_email {
        let taken = user::Entity::find()
            .filter(user::Column::Email.eq(email.clone()))
            .one(&txn)
            .await?
            .is_some();
        if taken {
            return Err(ApiError::conflict(
                "email_taken",
                "a user with this e-mail already exists",
            ));
        }
        // An earlier code stops working: only the latest address asked for can be confirmed.
        email_change::Entity::update_many()
            .col_expr(email_change::Column::UsedAt, Expr::value(Some(now)))
            .filter(email_change::Column::UserId.eq(caller.user_id.clone()))
            .filter(email_change::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        let code = random_token();
        let id = new_id();
        let expires_at = now + EMAIL_CHANGE_TTL;
        email_change::ActiveModel {
            id: Set(id.clone()),
            user_id: Set(caller.user_id.clone()),
            new_email: Set(email.clone()),
            token_hash: Set(token_digest(&code)),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        peken_mail::enqueue(
            &txn,
            // The code goes only to the new address: not to the inbox or the phone, where
            // whoever holds the session would read it.
            Mail {
                to: email.clone(),
                to_name: Some(saved.name.clone()),
                user_id: None,
                template: Template::EmailChange {
                    name: saved.name.clone(),
                    code,
                    expires_at,
                },
                dedupe_key: format!("email_change:{id}"),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Changed {
        user: saved,
        pending_email: new_email,
    })
}

fn invalid_code() -> ApiError {
    ApiError::bad_request(
        "invalid_email_change_code",
        "the code is invalid, has expired or has already been used",
    )
}

/// Confirms an e-mail change with the code mailed to the new address; the old address is told.
pub async fn confirm_email(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> ApiResult<user::Model> {
    if !code_shaped(code) {
        return Err(invalid_code());
    }
    limited(
        state,
        &format!("email-confirm:{}", caller.user_id),
        state.settings.login_account_per_minute,
        std::time::Duration::from_secs(60),
        "email_change",
    )
    .await?;
    let now = state.now();
    let found = me(state, caller).await?;
    let txn = state.db.begin().await?;
    let pending = email_change::Entity::find()
        .filter(email_change::Column::TokenHash.eq(token_digest(code)))
        .filter(email_change::Column::UserId.eq(caller.user_id.clone()))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(now))
        .one(&txn)
        .await?
        .ok_or_else(invalid_code)?;
    let spent = email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(Some(now)))
        .filter(email_change::Column::Id.eq(pending.id.clone()))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 {
        return Err(invalid_code());
    }
    let mut row = found.clone().into_active_model();
    row.email = Set(Some(pending.new_email.clone()));
    row.updated_at = Set(now);
    let saved = row.update(&txn).await.map_err(map_user_conflict)?;
    if let Some(old) = found.email {
        peken_mail::enqueue(
            &txn,
            Mail {
                to: old,
                to_name: Some(found.name.clone()),
                user_id: Some(found.id.clone()),
                template: Template::EmailChanged {
                    name: found.name,
                    new_email: pending.new_email,
                },
                dedupe_key: format!("email_changed:{}", pending.id),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(user_id = %caller.user_id, "e-mail address changed");
    Ok(saved)
}

/// Sets a new password when `current` is the user's password. Every other session of the user
/// ends (the one making the change stays), and outstanding reset codes stop working.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    limited(
        state,
        &format!("password-change:{}", caller.user_id),
        PASSWORD_CHANGES_PER_QUARTER,
        std::time::Duration::from_secs(15 * 60),
        "password_change",
    )
    .await?;
    let found = me(state, caller).await?;
    if !state
        .passwords
        .verify(current, Some(found.password_hash.as_str()))
        .await?
    {
        state.metrics.event("password_change", "wrong_password");
        return Err(ApiError::field(
            "current_password",
            "wrong_password",
            "the current password is wrong",
        ));
    }
    if current == new {
        return Err(ApiError::field(
            "new_password",
            "password_unchanged",
            "the new password must differ from the current one",
        ));
    }
    let hash = state.passwords.hash(new).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let mut row = found.into_active_model();
    row.password_hash = Set(hash);
    row.updated_at = Set(now);
    row.update(&txn).await?;
    peken_kernel::sql::exec(
        &txn,
        "UPDATE password_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        vec![now.into(), caller.user_id.clone().into()],
    )
    .await?;
    let ended = revoke_sessions(
        &txn,
        Sessions::OthersOf(&caller.user_id, &caller.session_id),
        now,
    )
    .await?;
    txn.commit().await?;
    refuse_access_tokens(state, &ended).await;
    tracing::info!(user_id = %caller.user_id, sessions_ended = ended.len(), "password changed");
    state.metrics.event("password_change", "ok");
    Ok(())
}
