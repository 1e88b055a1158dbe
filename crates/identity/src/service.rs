//! Operations on users, sessions, OPDs and regions that handlers and other crates call.

use chrono::{DateTime, Utc};
use peken_kernel::auth::{Caller, JwtKeys, Role, random_token, token_digest};
use peken_kernel::db::new_id;
use peken_kernel::error::unique_violation;
use peken_kernel::ids::{AsnKind, RegionLevel};
use peken_kernel::regions::{Region, Regions};
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};

use crate::store::{login_lock, opd, refresh_token, region, session, user};

/// An access token and its refresh token.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// What a new user is; every field but the role-specific ones is common.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub nip: Option<(String, AsnKind)>,
    pub nik: Option<String>,
    pub password_hash: String,
    pub opd_id: Option<String>,
    pub position_class: Option<String>,
    pub domicile_kelurahan_code: Option<String>,
    pub work_kelurahan_code: Option<String>,
    pub merchant_id: Option<String>,
    pub merchant_role: Option<String>,
    pub kecamatan_code: Option<String>,
}

impl NewUser {
    pub fn new(role: Role, name: String, password_hash: String) -> Self {
        Self {
            role,
            name,
            email: None,
            phone: None,
            nip: None,
            nik: None,
            password_hash,
            opd_id: None,
            position_class: None,
            domicile_kelurahan_code: None,
            work_kelurahan_code: None,
            merchant_id: None,
            merchant_role: None,
            kecamatan_code: None,
        }
    }
}

/// Inserts a user inside the caller's transaction, mapping a taken e-mail, NIP or NIK to 409.
pub(crate) async fn insert_user<C: ConnectionTrait>(
    conn: &C,
    new: NewUser,
    now: DateTime<Utc>,
) -> ApiResult<user::Model> {
    let model = user::ActiveModel {
        id: Set(new_id()),
        role: Set(new.role.as_str().to_owned()),
        name: Set(new.name),
        email: Set(new.email),
        phone: Set(new.phone),
        asn_kind: Set(new.nip.as_ref().map(|(_, k)| asn_kind_str(*k).to_owned())),
        nip: Set(new.nip.map(|(n, _)| n)),
        nik: Set(new.nik),
        password_hash: Set(new.password_hash),
        opd_id: Set(new.opd_id),
        position_class: Set(new.position_class),
        domicile_kelurahan_code: Set(new.domicile_kelurahan_code),
        work_kelurahan_code: Set(new.work_kelurahan_code),
        kecamatan_code: Set(new.kecamatan_code),
        merchant_id: Set(new.merchant_id),
        merchant_role: Set(new.merchant_role),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(conn).await.map_err(map_user_conflict)
}

pub fn asn_kind_str(kind: AsnKind) -> &'static str {
    match kind {
        AsnKind::Pns => "pns",
        AsnKind::Pppk => "pppk",
    }
}

/// Maps unique violations on `users` to the field that is taken.
pub fn map_user_conflict(err: DbErr) -> ApiError {
    match unique_violation(&err) {
        Some(msg) if msg.contains("email") => {
            ApiError::conflict("email_taken", "a user with this e-mail already exists")
        }
        Some(msg) if msg.contains("nip") => {
            ApiError::conflict("nip_taken", "a user with this NIP already exists")
        }
        Some(msg) if msg.contains("nik") => {
            ApiError::conflict("nik_taken", "a user with this NIK already exists")
        }
        _ => err.into(),
    }
}

pub(crate) async fn find_user<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// How a login string is read: 18 digits are a NIP, 16 digits a NIK, anything with `@` an
/// e-mail address.
pub(crate) fn login_column(login: &str) -> Option<(user::Column, String)> {
    let login = login.trim();
    let digits = login.bytes().all(|b| b.is_ascii_digit());
    if digits && login.len() == 18 {
        Some((user::Column::Nip, login.to_owned()))
    } else if digits && login.len() == 16 {
        Some((user::Column::Nik, login.to_owned()))
    } else if login.contains('@') {
        Some((user::Column::Email, login.to_ascii_lowercase()))
    } else {
        None
    }
}

/// Logs in with NIP, NIK or e-mail. Wrong password, unknown login, inactive and locked
/// accounts all get the same 401, and all spend the same time hashing.
/// One rate limit of the identity endpoints: at most `limit` hits of `key` per `window`, else
/// 429 with `Retry-After`, counted in the metrics as `event` `rate_limited`.
pub(crate) async fn limited(
    state: &AppState,
    key: &str,
    limit: u32,
    window: std::time::Duration,
    event: &str,
) -> ApiResult<()> {
    if let peken_kernel::cache::RateDecision::Limited { retry_after_secs } =
        state.stores.limiter.hit(key, limit, window).await
    {
        state.metrics.event(event, "rate_limited");
        return Err(ApiError::too_many_requests(retry_after_secs));
    }
    Ok(())
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// The limits of public registration (buyers and merchants alike), checked before anything is
/// hashed: per client address, and for everyone together, since each registration costs a
/// password hash and a flood of them would starve logins of CPU and memory.
pub async fn limit_registration(state: &AppState, client: &str) -> ApiResult<()> {
    let settings = &state.settings;
    limited(
        state,
        &format!("register:ip:{client}"),
        settings.registration_ip_per_minute,
        MINUTE,
        "registration",
    )
    .await?;
    limited(
        state,
        "register:all",
        settings.registration_per_minute,
        MINUTE,
        "registration",
    )
    .await
}

/// The limit of token refreshes per client address.
pub async fn limit_refresh(state: &AppState, client: &str) -> ApiResult<()> {
    limited(
        state,
        &format!("refresh:ip:{client}"),
        state.settings.refresh_ip_per_minute,
        MINUTE,
        "refresh",
    )
    .await
}

pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    client: &str,
) -> ApiResult<Session> {
    limited(
        state,
        &format!("login:ip:{client}"),
        state.settings.login_ip_per_minute,
        MINUTE,
        "login",
    )
    .await?;
    let column = login_column(login);
    if let Some((_, key)) = &column {
        // Per account, generous enough for typing mistakes; the lockout below bounds guessing.
        limited(
            state,
            &format!("login:acct:{}", token_digest(key)),
            state.settings.login_account_per_minute,
            MINUTE,
            "login",
        )
        .await?;
    }
    let found = match &column {
        Some((col, key)) => {
            user::Entity::find()
                .filter(col.eq(key.clone()))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    let now = state.now();
    let ok = state
        .passwords
        .verify(password, found.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let invalid = || ApiError::unauthorized("invalid_credentials", "login or password is wrong");
    let Some(found) = found else {
        state.metrics.event("login", "failed");
        return Err(invalid());
    };
    let client_digest = token_digest(client);
    let lock = login_lock::Entity::find_by_id((found.id.clone(), client_digest.clone()))
        .one(&state.db)
        .await?;
    let locked = lock
        .as_ref()
        .and_then(|l| l.locked_until)
        .is_some_and(|until| until > now);
    if !ok || !found.active || locked {
        if !ok && !locked {
            record_failure(state, &found.id, &client_digest, now).await?;
        }
        // One outcome for a wrong password, a locked and an unknown account alike: only an
        // existing account can be locked, so a `locked` count would tell which logins exist.
        state.metrics.event("login", "failed");
        return Err(invalid());
    }
    if lock.is_some() {
        login_lock::Entity::delete_by_id((found.id.clone(), client_digest))
            .exec(&state.db)
            .await?;
    }
    state.metrics.event("login", "ok");
    let txn = state.db.begin().await?;
    let family_id = new_id();
    session::ActiveModel {
        id: Set(family_id.clone()),
        user_id: Set(found.id.clone()),
        created_at: Set(now),
        refreshed_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let started = start_session(&txn, state, &found, family_id).await?;
    txn.commit().await?;
    Ok(started)
}

/// Counts a wrong password from one client address; at the limit that address is locked out of
/// the account for the lockout period. The lock is per account and address, so a stranger
/// guessing cannot lock the owner out from the owner's own address, while guessing from many
/// addresses stays bounded by the per-account rate limit. One statement counts and decides on
/// the row's current count, so wrong passwords sent at once cannot each read a count below the
/// limit and all slip past the lock.
async fn record_failure(
    state: &AppState,
    user_id: &str,
    client_digest: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let max = i32::try_from(state.settings.login_max_failures).unwrap_or(i32::MAX);
    let lockout = chrono::Duration::from_std(state.settings.login_lockout)
        .unwrap_or_else(|_| chrono::Duration::minutes(15));
    let backend = state.db.get_database_backend();
    // Counts older than a lockout period are forgotten (and their rows, so an account's rows
    // stay bounded by the addresses that tried it lately).
    state
        .db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "DELETE FROM login_locks WHERE user_id = $1 AND updated_at < $2",
            [user_id.into(), (now - lockout).into()],
        ))
        .await?;
    let row = state
        .db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "INSERT INTO login_locks (user_id, client_digest, failures, locked_until, updated_at) \
             VALUES ($3, $4, CASE WHEN 1 >= $1 THEN 0 ELSE 1 END, \
                     CASE WHEN 1 >= $1 THEN $2 ELSE NULL END, $5) \
             ON CONFLICT (user_id, client_digest) DO UPDATE SET \
             locked_until = CASE WHEN login_locks.failures + 1 >= $1 THEN $2 \
                                 ELSE login_locks.locked_until END, \
             failures = CASE WHEN login_locks.failures + 1 >= $1 THEN 0 \
                             ELSE login_locks.failures + 1 END, \
             updated_at = $5 \
             RETURNING failures",
            [
                max.into(),
                (now + lockout).into(),
                user_id.into(),
                client_digest.into(),
                now.into(),
            ],
        ))
        .await?;
    // The count goes back to zero exactly when this failure locked the address out.
    if row.is_some_and(|r| r.try_get::<i32>("", "failures").ok() == Some(0)) {
        tracing::warn!(user_id = %user_id, "login locked for one client address after repeated failures");
    }
    Ok(())
}

/// An admin creates a staff user (admin, treasury or OPD admin): a grant of powers, so it goes
/// to the audit log in the same transaction.
pub async fn create_staff(
    state: &AppState,
    admin: &Caller,
    new: NewUser,
) -> ApiResult<user::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let created = insert_user(&txn, new, now).await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("user.staff_created", "user", &created.id).after(
            serde_json::json!({"role": created.role, "opd_id": created.opd_id, "email": created.email}),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Issues a refresh token in session `family_id` and an access token for it, inside the caller's
/// transaction.
async fn start_session<C: ConnectionTrait>(
    conn: &C,
    state: &AppState,
    found: &user::Model,
    family_id: String,
) -> ApiResult<Session> {
    let now = state.now();
    let refresh = random_token();
    let ttl = chrono::Duration::from_std(state.settings.refresh_token_ttl)
        .unwrap_or_else(|_| chrono::Duration::days(30));
    refresh_token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(found.id.clone()),
        family_id: Set(family_id.clone()),
        token_hash: Set(token_digest(&refresh)),
        expires_at: Set(now + ttl),
        spent_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    let role = Role::parse(&found.role)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("user {} has unknown role", found.id)))?;
    let claims = JwtKeys::claims(
        &found.id,
        role,
        &family_id,
        found.merchant_id.clone(),
        found.opd_id.clone(),
        now,
        state.settings.access_token_ttl,
    );
    Ok(Session {
        access_token: state.jwt.issue(&claims)?,
        refresh_token: refresh,
        expires_in: state.settings.access_token_ttl.as_secs(),
    })
}

/// Spends a refresh token for a new pair, in one transaction that starts by locking the
/// session's row: a revocation of the session either committed before (and the refresh fails)
/// or waits for this transaction and then also ends the token issued here. A token that was
/// already spent means it was copied: the whole session is revoked and the caller must log in
/// again.
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<Session> {
    let invalid =
        || ApiError::unauthorized("invalid_refresh_token", "the refresh token is invalid");
    let now = state.now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_digest(token)))
        .one(&state.db)
        .await?
    else {
        return Err(invalid());
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let txn = state.db.begin().await?;
    let live = txn
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            txn.get_database_backend(),
            "UPDATE sessions SET refreshed_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            [now.into(), row.family_id.clone().into()],
        ))
        .await?;
    if live.rows_affected() == 0 {
        return Err(invalid());
    }
    // Spending is a conditional update, so two concurrent uses of one token cannot both win.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::SpentAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::Id.eq(row.id.clone()))
        .filter(refresh_token::Column::SpentAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 {
        // The session's row is locked by this transaction; revoking waits for it to end.
        txn.rollback().await?;
        tracing::warn!(user_id = %row.user_id, "refresh token reused; revoking its family");
        revoke_family(state, &row.family_id).await?;
        state.metrics.event("refresh", "reused");
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; the session has been ended",
        ));
    }
    let Some(found) = find_user(&txn, &row.user_id).await? else {
        return Err(invalid());
    };
    if !found.active {
        return Err(invalid());
    }
    let started = start_session(&txn, state, &found, row.family_id).await?;
    txn.commit().await?;
    state.metrics.event("refresh", "ok");
    Ok(started)
}

/// Which sessions [`revoke_sessions`] ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sessions<'a> {
    One(&'a str),
    OfUser(&'a str),
    /// Every session of the user but one (the caller's own).
    OthersOf(&'a str, &'a str),
}

/// Ends sessions inside the caller's transaction and returns their ids, whose access tokens the
/// caller refuses after commit ([`refuse_access_tokens`]). The session rows are revoked first:
/// that waits for a refresh of any of them in flight, so the second statement, which sees what
/// committed meanwhile, also ends the token that refresh issued.
pub(crate) async fn revoke_sessions<C: ConnectionTrait>(
    conn: &C,
    which: Sessions<'_>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<String>> {
    let (filter, mut values): (&str, Vec<sea_orm::Value>) = match which {
        Sessions::One(id) => ("id = $2", vec![id.into()]),
        Sessions::OfUser(user_id) => ("user_id = $2", vec![user_id.into()]),
        Sessions::OthersOf(user_id, keep) => (
            "user_id = $2 AND id <> $3",
            vec![user_id.into(), keep.into()],
        ),
    };
    values.insert(0, now.into());
    let ended: Vec<String> = conn
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            format!(
                "UPDATE sessions SET revoked_at = $1 \
                 WHERE {filter} AND revoked_at IS NULL RETURNING id"
            ),
            values,
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "id"))
        .collect::<Result<_, _>>()?;
    if !ended.is_empty() {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Some(now)))
            .filter(refresh_token::Column::FamilyId.is_in(ended.clone()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
    }
    Ok(ended)
}

/// Refuses the access tokens of ended sessions until they would have expired anyway.
pub(crate) async fn refuse_access_tokens(state: &AppState, sessions: &[String]) {
    for id in sessions {
        state
            .stores
            .revocations
            .revoke(id, state.settings.access_token_ttl)
            .await;
    }
}

/// Ends a session: its refresh tokens stop working and its access tokens are refused.
pub async fn revoke_family(state: &AppState, family_id: &str) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    let ended = revoke_sessions(&txn, Sessions::One(family_id), state.now()).await?;
    txn.commit().await?;
    refuse_access_tokens(state, &ended).await;
    Ok(())
}

/// Ends every live session of a user (a staff member removed, an account closed).
pub async fn end_sessions_of(state: &AppState, user_id: &str) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    let ended = revoke_sessions(&txn, Sessions::OfUser(user_id), state.now()).await?;
    txn.commit().await?;
    refuse_access_tokens(state, &ended).await;
    Ok(())
}

/// The caller a login's refresh token stands for, without spending it: the web console keeps
/// the token of the login it started in its session cookie and asks this on every request. The
/// token must be unspent, unrevoked and unexpired, its session unrevoked and started less than
/// `max_age` ago, and its user active; so a logout, [`end_sessions_of`], a password reset or a
/// deactivated account ends the console's session as it ends the API's. `None` otherwise.
pub async fn caller_of_refresh_token(
    state: &AppState,
    token: &str,
    max_age: std::time::Duration,
) -> ApiResult<Option<Caller>> {
    let now = state.now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_digest(token)))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || row.spent_at.is_some() || row.expires_at <= now {
        return Ok(None);
    }
    let max_age =
        chrono::Duration::from_std(max_age).unwrap_or_else(|_| chrono::Duration::hours(12));
    let live = session::Entity::find_by_id(row.family_id.clone())
        .one(&state.db)
        .await?
        .is_some_and(|s| s.revoked_at.is_none() && s.created_at + max_age > now);
    if !live {
        return Ok(None);
    }
    let Some(found) = find_user(&state.db, &row.user_id).await? else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&found.role).filter(|_| found.active) else {
        return Ok(None);
    };
    Ok(Some(Caller {
        user_id: found.id,
        role,
        session_id: row.family_id,
        merchant_id: found.merchant_id,
        opd_id: found.opd_id,
        request_id: None,
        client_request_id: None,
    }))
}

pub async fn logout(state: &AppState, caller: &Caller) -> ApiResult<()> {
    revoke_family(state, &caller.session_id).await
}

/// Creates the first admin from the environment when no admin exists yet.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<bool> {
    let (Some(email), Some(password)) = (
        state.settings.bootstrap_admin_email.clone(),
        state.settings.bootstrap_admin_password.clone(),
    ) else {
        return Ok(false);
    };
    let admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .count(&state.db)
        .await?;
    if admins > 0 {
        return Ok(false);
    }
    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut new = NewUser::new(Role::Admin, "Administrator".into(), hash);
    new.email = Some(email.trim().to_ascii_lowercase());
    match insert_user(&state.db, new, state.now()).await {
        Ok(_) => {
            tracing::info!("bootstrap admin created");
            Ok(true)
        }
        // Replicas starting together all see no admin; the first insert wins and the others
        // meet its e-mail. That is success for them, not a reason to crash.
        Err(e) if e.code() == "email_taken" && admin_exists(state).await? => Ok(false),
        Err(e) => Err(anyhow::anyhow!("{e:?}")),
    }
}

async fn admin_exists(state: &AppState) -> anyhow::Result<bool> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .count(&state.db)
        .await?
        > 0)
}

pub async fn create_opd(state: &AppState, code: String, name: String) -> ApiResult<opd::Model> {
    let model = opd::ActiveModel {
        id: Set(new_id()),
        code: Set(code),
        name: Set(name),
        created_at: Set(state.now()),
    };
    model
        .insert(&state.db)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => ApiError::conflict("opd_code_taken", "an OPD with this code already exists"),
            None => e.into(),
        })
}

pub(crate) async fn find_opd<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> ApiResult<Option<opd::Model>> {
    Ok(opd::Entity::find_by_id(id.to_owned()).one(conn).await?)
}

pub(crate) async fn list_opds(state: &AppState) -> ApiResult<Vec<opd::Model>> {
    Ok(opd::Entity::find()
        .order_by_asc(opd::Column::Code)
        .all(&state.db)
        .await?)
}

/// Loads the official region table into memory.
pub async fn load_regions<C: ConnectionTrait>(conn: &C) -> Result<Regions, DbErr> {
    let rows = region::Entity::find()
        .order_by_asc(region::Column::Code)
        .all(conn)
        .await?;
    Ok(Regions::new(rows.into_iter().filter_map(|r| {
        let level = match r.level.as_str() {
            "kota" => RegionLevel::Kota,
            "kecamatan" => RegionLevel::Kecamatan,
            "kelurahan" => RegionLevel::Kelurahan,
            _ => return None,
        };
        Some(Region {
            code: r.code,
            level,
            name: r.name,
            parent_code: r.parent_code,
        })
    })))
}
