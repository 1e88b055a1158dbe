//! Setting a password with a single-use token: the forgotten-password reset any user can ask
//! for, and the activation of ASN imported from the roster (who are created without a usable
//! password, because hashing thousands of passwords would make an import take minutes).
//!
//! A token is 32 random bytes, mailed to the account's address and stored only as its SHA-256.
//! Spending it is one conditional update (`WHERE used_at IS NULL AND expires_at > now`), so a
//! token sets a password once even when it is sent twice at the same moment.

use chrono::{DateTime, Duration, Utc};
use peken_kernel::auth::{random_token, token_digest};
use peken_kernel::db::new_id;
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, AppState};
use peken_mail::{Mail, Template};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, TransactionTrait, Value,
};

use crate::service::{
    Sessions, find_user, limited, login_column, refuse_access_tokens, revoke_sessions,
};
use crate::store::user;

/// How long a reset code mailed on request stays valid.
pub const RESET_TTL: Duration = Duration::hours(2);
/// How long the activation code of an imported ASN stays valid; afterwards the ASN asks for a
/// reset like anyone else.
pub const ACTIVATION_TTL: Duration = Duration::days(7);
/// Reset requests per login string per hour. Each may send a mail, so this is far lower than
/// the login limit; it counts requests for unknown logins too, so it tells nothing about which
/// accounts exist.
pub const RESET_PER_ACCOUNT_PER_HOUR: u32 = 5;

const RESET: &str = "reset";
const ACTIVATION: &str = "activation";

/// Rows written per statement when tokens are created in bulk (6 values a row).
const CHUNK: usize = 1000;

/// Whether a code from a mail could be one at all: not empty, and not longer than any code
/// this service makes (so an oversized one is refused before it is hashed or looked up).
pub(crate) fn code_shaped(token: &str) -> bool {
    !token.is_empty() && token.len() <= 256
}

fn invalid_token() -> ApiError {
    ApiError::bad_request(
        "invalid_reset_token",
        "the code is invalid, has expired or has already been used",
    )
}

/// Mails a reset code when `login` (NIP, NIK or e-mail) names an active account with an
/// e-mail address; otherwise does nothing. The caller answers the same either way.
pub async fn request_reset(state: &AppState, login: &str, client: &str) -> ApiResult<()> {
    let minute = std::time::Duration::from_secs(60);
    limited(
        state,
        &format!("pwreset:ip:{client}"),
        state.settings.login_ip_per_minute,
        minute,
        "password_reset",
    )
    .await?;
    let column = login_column(login);
    let account_key = column
        .as_ref()
        .map_or_else(|| login.trim().to_ascii_lowercase(), |(_, key)| key.clone());
    limited(
        state,
        &format!("pwreset:acct:{}", token_digest(&account_key)),
        RESET_PER_ACCOUNT_PER_HOUR,
        std::time::Duration::from_secs(3600),
        "password_reset",
    )
    .await?;
    let Some((column, key)) = column else {
        return Ok(());
    };
    let found = user::Entity::find()
        .filter(column.eq(key))
        .one(&state.db)
        .await?;
    let Some((found, email)) = found
        .filter(|u| u.active)
        .and_then(|u| u.email.clone().map(|e| (u, e)))
    else {
        // Counted like a mailed code: metrics must not say whether an account exists.
        state.metrics.event("password_reset", "accepted");
        return Ok(());
    };
    let now = state.now();
    let token = random_token();
    let token_id = new_id();
    let expires_at = now + RESET_TTL;
    let txn = state.db.begin().await?;
    insert_tokens(
        &txn,
        &[(token_id.clone(), found.id.clone(), token_digest(&token))],
        RESET,
        expires_at,
        now,
    )
    .await?;
    peken_mail::enqueue(
        &txn,
        Mail {
            to: email,
            to_name: Some(found.name.clone()),
            user_id: Some(found.id.clone()),
            template: Template::PasswordReset {
                name: found.name,
                code: token,
                expires_at,
            },
            dedupe_key: format!("password_reset:{token_id}"),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    state.metrics.event("password_reset", "accepted");
    Ok(())
}

/// Sets a new password with a reset or activation code. The code is spent, every other
/// outstanding code of the user stops working, a lockout ends, and every session of the user
/// is ended (whoever knew the old password is logged out).
pub async fn confirm(state: &AppState, token: &str, password: &str, client: &str) -> ApiResult<()> {
    if !code_shaped(token) {
        return Err(invalid_token());
    }
    limited(
        state,
        &format!("pwconfirm:ip:{client}"),
        state.settings.login_ip_per_minute,
        std::time::Duration::from_secs(60),
        "password_reset",
    )
    .await?;
    let digest = token_digest(token);
    let now = state.now();
    let backend = state.db.get_database_backend();
    // The code is checked before the password is hashed, so a stream of bad codes costs no
    // hashing time.
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id, user_id FROM password_tokens \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            [digest.into(), now.into()],
        ))
        .await?
        .ok_or_else(invalid_token)?;
    let token_id: String = row.try_get("", "id")?;
    let user_id: String = row.try_get("", "user_id")?;
    if !find_user(&state.db, &user_id)
        .await?
        .is_some_and(|u| u.active)
    {
        return Err(invalid_token());
    }
    let hash = state.passwords.hash(password).await?;

    let txn = state.db.begin().await?;
    let spent = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE password_tokens SET used_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
            [now.into(), token_id.into()],
        ))
        .await?;
    if spent.rows_affected() == 0 {
        // Spent by a concurrent request between the check above and here; dropping the
        // transaction rolls it back.
        return Err(invalid_token());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE password_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        [now.into(), user_id.clone().into()],
    ))
    .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        [hash.into(), now.into(), user_id.clone().into()],
    ))
    .await?;
    // Lockouts are lifted: the person who proved they own the mailbox may log in anywhere.
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "DELETE FROM login_locks WHERE user_id = $1",
        [user_id.clone().into()],
    ))
    .await?;
    let families = revoke_sessions(&txn, Sessions::OfUser(&user_id), now).await?;
    txn.commit().await?;
    // Access tokens of those sessions stop working too, as after a logout.
    refuse_access_tokens(state, &families).await;
    tracing::info!(user_id = %user_id, sessions_ended = families.len(), "password set with a code");
    state.metrics.event("password_reset", "confirmed");
    Ok(())
}

/// An imported ASN to invite.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// What the ASN logs in with (the NIP).
    pub login: String,
}

/// Creates an activation code for each invitee and queues its mail, inside the caller's
/// transaction, in a few statements for thousands of people. The mail's dedupe key is
/// `activation:{user_id}`, so a user is invited once.
pub async fn enqueue_activations<C: ConnectionTrait>(
    conn: &C,
    invitees: &[Invitee],
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let expires_at = now + ACTIVATION_TTL;
    let mut tokens = Vec::with_capacity(invitees.len());
    let mut mails = Vec::with_capacity(invitees.len());
    for invitee in invitees {
        let token = random_token();
        tokens.push((new_id(), invitee.user_id.clone(), token_digest(&token)));
        mails.push(Mail {
            to: invitee.email.clone(),
            to_name: Some(invitee.name.clone()),
            user_id: Some(invitee.user_id.clone()),
            template: Template::AccountActivation {
                name: invitee.name.clone(),
                login: invitee.login.clone(),
                code: token,
                expires_at,
            },
            dedupe_key: format!("activation:{}", invitee.user_id),
        });
    }
    for chunk in tokens.chunks(CHUNK) {
        insert_tokens(conn, chunk, ACTIVATION, expires_at, now).await?;
    }
    Ok(peken_mail::enqueue_many(conn, mails, now).await?)
}

/// Inserts `(id, user_id, token digest)` rows of one purpose in one statement.
async fn insert_tokens<C: ConnectionTrait>(
    conn: &C,
    rows: &[(String, String, String)],
    purpose: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    const COLS: usize = 6;
    if rows.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * COLS);
    for (id, user_id, digest) in rows {
        values.extend([
            id.clone().into(),
            user_id.clone().into(),
            purpose.into(),
            digest.clone().into(),
            expires_at.into(),
            now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO password_tokens (id, user_id, purpose, token_hash, expires_at, created_at) \
         VALUES {}",
        sql::values_rows(rows.len(), COLS, 1)
    );
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
        .await?;
    Ok(())
}
