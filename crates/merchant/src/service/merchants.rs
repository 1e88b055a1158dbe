//! Registration, verification, suspension, staff users and bank details.

use chrono::{DateTime, Utc};
use peken_identity::people::{self, Person};
use peken_identity::service::{self as identity, NewUser};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::db::new_id;
use peken_kernel::error::unique_violation;
use peken_kernel::ids::{Nib, Nik, Npwp, RegionCode};
use peken_kernel::pagination::Page;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::BankAccount;
use crate::store::merchant;

/// Statuses of a merchant.
pub const PENDING: &str = "pending";
pub const ACTIVE: &str = "active";
pub const REJECTED: &str = "rejected";
pub const SUSPENDED: &str = "suspended";

/// Where a shop stands with its NIB: none yet, being obtained with the cooperatives office's
/// help, or checked by it (only then does the shop sell).
pub const NIB_NONE: &str = "none";
pub const NIB_IN_PROGRESS: &str = "in_progress";
pub const NIB_CHECKED: &str = "checked";

/// A validated registration.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub name: String,
    pub kind: String,
    /// Absent while the shop is still getting its NIB.
    pub nib: Option<Nib>,
    pub owner_nik: Nik,
    pub npwp: Option<Npwp>,
    pub mbr: bool,
    pub kelurahan: RegionCode,
    pub address: String,
    pub bank: BankAccount,
    pub owner: NewPerson,
}

/// A validated new user of a merchant (its owner or a staff member).
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
}

/// What the caller may see of a merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone: the public profile of an active merchant.
    Public,
    /// The merchant's staff: the profile with its tax fields, without bank details.
    Staff,
    /// The owner, admins and treasury: everything (the NIK still masked).
    Full,
}

impl Access {
    pub fn of(caller: Option<&Caller>, m: &merchant::Model) -> Access {
        match caller {
            Some(c) if matches!(c.role, Role::Admin | Role::Treasury) => Access::Full,
            Some(c) if c.is_merchant_of(&m.id) && c.user_id == m.owner_user_id => Access::Full,
            Some(c) if c.is_merchant_of(&m.id) => Access::Staff,
            _ => Access::Public,
        }
    }
}

/// Registers a merchant and its owner user in one transaction; the merchant starts `pending`.
pub async fn register(state: &AppState, new: NewMerchant) -> ApiResult<merchant::Model> {
    let hash = state.passwords.hash(&new.owner.password).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    if let Some(nib) = &new.nib {
        let taken = merchant::Entity::find()
            .filter(merchant::Column::Nib.eq(nib.as_str()))
            .one(&txn)
            .await?;
        if taken.is_some() {
            return Err(nib_taken());
        }
    }
    let merchant_id = new_id();
    let mut owner = NewUser::new(Role::Merchant, new.owner.name, hash);
    owner.email = Some(new.owner.email);
    owner.phone = Some(new.owner.phone);
    owner.merchant_id = Some(merchant_id.clone());
    owner.merchant_role = Some("owner".to_owned());
    let owner = people::add(&txn, owner, now).await?;
    let kecamatan = new
        .kelurahan
        .kecamatan()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("kelurahan without kecamatan")))?;
    let created = merchant::ActiveModel {
        id: Set(merchant_id),
        name: Set(new.name),
        kind: Set(new.kind),
        nib_status: Set(if new.nib.is_some() {
            NIB_CHECKED
        } else {
            NIB_NONE
        }
        .to_owned()),
        nib: Set(new.nib.map(|n| n.as_str().to_owned())),
        halal_number: Set(None),
        pirt_number: Set(None),
        trademark_name: Set(None),
        trademark_number: Set(None),
        capital_band: Set(None),
        owner_nik: Set(new.owner_nik.expose().to_owned()),
        npwp: Set(new.npwp.map(|n| n.as_str().to_owned())),
        mbr: Set(new.mbr),
        kelurahan_code: Set(new.kelurahan.as_str().to_owned()),
        kecamatan_code: Set(kecamatan.as_str().to_owned()),
        address: Set(new.address),
        bank_code: Set(new.bank.bank_code),
        account_number: Set(new.bank.account_number),
        account_name: Set(new.bank.account_name),
        status: Set(PENDING.to_owned()),
        status_reason: Set(None),
        verified_at: Set(None),
        verified_by: Set(None),
        owner_user_id: Set(owner.id),
        bank_account_hold_until: Set(None),
        bank_account_confirmed_by: Set(None),
        photo: Set(None),
        phone: Set(None),
        description: Set(None),
        opening_hours: Set(None),
        pickup: Set(true),
        delivery_radius_m: Set(None),
        delivery_fee: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(msg) if msg.contains("nib") => nib_taken(),
        _ => e.into(),
    })?;
    txn.commit().await?;
    tracing::info!(merchant_id = %created.id, "merchant registered");
    Ok(created)
}

fn nib_taken() -> ApiError {
    ApiError::conflict(
        "nib_taken",
        "a merchant with this NIB is already registered",
    )
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<Option<merchant::Model>> {
    Ok(merchant::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// The merchant as the caller may see it. Merchants that are not active are visible only to
/// their own people, admins and treasury; to anyone else they do not exist.
pub async fn profile(
    state: &AppState,
    caller: Option<&Caller>,
    id: &str,
) -> ApiResult<(merchant::Model, Access)> {
    let found = find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let access = Access::of(caller, &found);
    if access == Access::Public && found.status != ACTIVE {
        return Err(ApiError::not_found("merchant"));
    }
    Ok((found, access))
}

/// The merchant if the caller is one of its people (owner or staff), else 404.
pub async fn own<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: &str,
) -> ApiResult<merchant::Model> {
    if !caller.is_merchant_of(id) {
        return Err(ApiError::not_found("merchant"));
    }
    find(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))
}

/// Like [`own`], but only the owner: staff get 403 `owner_only`.
pub async fn owned<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: &str,
) -> ApiResult<merchant::Model> {
    let found = own(conn, caller, id).await?;
    if found.owner_user_id != caller.user_id {
        return Err(
            ApiError::new(actix_web::http::StatusCode::FORBIDDEN, "owner_only")
                .with_detail("only the merchant's owner may do this"),
        );
    }
    Ok(found)
}

/// The merchant for a read that admins may make too: any merchant for an admin, else the
/// caller's own as [`own`] (or [`owned`], with `owner_only`) finds it.
pub async fn for_reading<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: &str,
    owner_only: bool,
) -> ApiResult<merchant::Model> {
    if caller.role == Role::Admin {
        return find(conn, id)
            .await?
            .ok_or_else(|| ApiError::not_found("merchant"));
    }
    if owner_only {
        owned(conn, caller, id).await
    } else {
        own(conn, caller, id).await
    }
}

/// Admin's decision on a registration: `approve` makes it active, `reject` needs a reason. A
/// rejected merchant may be approved later (after fixing its papers), since its NIB cannot
/// register again.
pub async fn verify(
    state: &AppState,
    admin: &Caller,
    id: &str,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let (to, from): (&str, &[&str]) = if approve {
        (ACTIVE, &[PENDING, REJECTED])
    } else {
        (REJECTED, &[PENDING])
    };
    transition(
        state,
        admin,
        id,
        from,
        to,
        reason,
        Some((now, &admin.user_id)),
        "merchant_not_pending",
    )
    .await
}

/// Suspends an active merchant: hidden from browsing, no new orders.
pub async fn suspend(
    state: &AppState,
    admin: &Caller,
    id: &str,
    reason: String,
) -> ApiResult<merchant::Model> {
    transition(
        state,
        admin,
        id,
        &[ACTIVE],
        SUSPENDED,
        Some(reason),
        None,
        "merchant_not_active",
    )
    .await
}

/// Ends a suspension.
pub async fn reinstate(state: &AppState, admin: &Caller, id: &str) -> ApiResult<merchant::Model> {
    transition(
        state,
        admin,
        id,
        &[SUSPENDED],
        ACTIVE,
        None,
        None,
        "merchant_not_suspended",
    )
    .await
}

/// Moves a merchant from one of `from` to `to` with one conditional UPDATE, so two admins
/// acting at once cannot both succeed from the same state. The change goes to the audit log in
/// the same transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "one private helper for three transitions"
)]
async fn transition(
    state: &AppState,
    actor: &Caller,
    id: &str,
    from: &[&str],
    to: &str,
    reason: Option<String>,
    verified: Option<(DateTime<Utc>, &str)>,
    wrong_state: &'static str,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let mut update = merchant::Entity::update_many()
        .col_expr(merchant::Column::Status, Expr::value(to))
        .col_expr(merchant::Column::StatusReason, Expr::value(reason))
        .col_expr(merchant::Column::UpdatedAt, Expr::value(now))
        .filter(merchant::Column::Id.eq(id))
        .filter(merchant::Column::Status.is_in(from.iter().copied()));
    if let Some((at, by)) = verified {
        update = update
            .col_expr(merchant::Column::VerifiedAt, Expr::value(Some(at)))
            .col_expr(
                merchant::Column::VerifiedBy,
                Expr::value(Some(by.to_owned())),
            );
    }
    let txn = state.db.begin().await?;
    // The row is locked before the update so the audit log records the status it really left.
    let before = merchant::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let done = update.exec(&txn).await?;
    let found = find(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    if done.rows_affected == 0 {
        return Err(
            ApiError::conflict(wrong_state, format!("the merchant is {}", found.status))
                .with_context(serde_json::json!({ "status": found.status })),
        );
    }
    if verified.is_some() {
        announce_verification(&txn, &found, now).await?;
    }
    let action = match (verified.is_some(), to) {
        (true, ACTIVE) => "merchant.approved",
        (true, _) => "merchant.rejected",
        (false, SUSPENDED) => "merchant.suspended",
        (false, _) => "merchant.reinstated",
    };
    peken_audit::record(
        &txn,
        actor,
        peken_audit::Change::new(action, "merchant", id)
            .before(serde_json::json!({"status": before.status, "reason": before.status_reason}))
            .after(serde_json::json!({"status": found.status, "reason": found.status_reason})),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(merchant_id = %id, status = to, "merchant status changed");
    peken_catalog::cache::listings_changed(state).await;
    Ok(found)
}

/// Tells the owner the result of the verification, in the decision's transaction.
async fn announce_verification<C: sea_orm::ConnectionTrait>(
    conn: &C,
    found: &merchant::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some((owner_name, email)) = super::owner_contact(conn, &found.id).await? else {
        return Ok(());
    };
    let approved = found.status == ACTIVE;
    peken_mail::enqueue(
        conn,
        peken_mail::Mail {
            to: email,
            to_name: Some(owner_name),
            user_id: Some(found.owner_user_id.clone()),
            template: peken_mail::Template::MerchantVerification {
                merchant_name: found.name.clone(),
                approved,
                reason: found.status_reason.clone(),
            },
            // One message per decision: a merchant rejected and later approved hears both.
            dedupe_key: format!("merchant:{}:verification:{}", found.id, found.status),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Merchants for the admin's queue, oldest first, optionally of one status.
pub async fn list(
    state: &AppState,
    status: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Page<merchant::Model>> {
    let mut query = merchant::Entity::find().order_by_asc(merchant::Column::Id);
    if let Some(status) = status {
        query = query.filter(merchant::Column::Status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(merchant::Column::Id.gt(after));
    }
    let rows = query.limit(limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, limit, |m| m.id.clone(), |m| m))
}

/// Adds a staff user to the owner's merchant.
pub async fn add_staff(
    state: &AppState,
    owner: &Caller,
    merchant_id: &str,
    person: NewPerson,
) -> ApiResult<Person> {
    let found = owned(&state.db, owner, merchant_id).await?;
    let hash = state.passwords.hash(&person.password).await?;
    let mut new = NewUser::new(Role::Merchant, person.name, hash);
    new.email = Some(person.email);
    new.phone = Some(person.phone);
    new.merchant_id = Some(found.id.clone());
    new.merchant_role = Some("staff".to_owned());
    let now = state.now();
    let txn = state.db.begin().await?;
    let user = people::add(&txn, new, now).await?;
    peken_audit::record(
        &txn,
        owner,
        peken_audit::Change::new("merchant.staff_added", "merchant", &found.id)
            .after(serde_json::json!({"user_id": user.id, "merchant_role": "staff"})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// The people who work for a merchant, owner first, then staff by name; for its owner and for
/// admins.
pub async fn list_staff(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> ApiResult<Vec<Person>> {
    let found = for_reading(&state.db, caller, merchant_id, true).await?;
    let mut staff = people::of_merchant(&state.db, &found.id).await?;
    staff.sort_by_key(|u| u.id != found.owner_user_id);
    Ok(staff)
}

/// Removes a staff member (owner only): the account is deactivated, so it can no longer log in,
/// and its sessions end at once. What they did stays recorded under their id. The owner cannot
/// be removed this way.
pub async fn remove_staff(
    state: &AppState,
    owner: &Caller,
    merchant_id: &str,
    user_id: &str,
) -> ApiResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = owned(&txn, owner, merchant_id).await?;
    let member = people::find(&txn, user_id)
        .await?
        .filter(|u| u.merchant_id.as_deref() == Some(found.id.as_str()))
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    if member.id == found.owner_user_id || member.merchant_role.as_deref() != Some("staff") {
        return Err(ApiError::conflict(
            "owner_not_removable",
            "the owner is not staff; a merchant always has its owner",
        ));
    }
    if !member.active {
        return Ok(());
    }
    people::deactivate(&txn, &member.id, now).await?;
    peken_audit::record(
        &txn,
        owner,
        peken_audit::Change::new("merchant.staff_removed", "merchant", &found.id)
            .before(serde_json::json!({"user_id": member.id, "active": true}))
            .after(serde_json::json!({"user_id": member.id, "active": false})),
        now,
    )
    .await?;
    txn.commit().await?;
    identity::end_sessions_of(state, &member.id).await?;
    Ok(())
}

/// Replaces the bank account payouts go to; only the owner may. A new account (another bank or
/// number) is held: payout batches leave the merchant out until an admin confirms the account
/// or `PEKEN_BANK_ACCOUNT_COOLING_OFF_SECONDS` pass, so a stolen owner session cannot redirect
/// the next payout unnoticed; the owner is mailed about every change, in the same transaction.
pub async fn set_bank_account(
    state: &AppState,
    owner: &Caller,
    merchant_id: &str,
    bank: BankAccount,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = owned(&txn, owner, merchant_id).await?;
    // The audit log keeps which account, not the whole number: the last four digits.
    let account = |m: &merchant::Model| {
        serde_json::json!({
            "bank_code": m.bank_code,
            "account_number": peken_audit::mask_account(&m.account_number),
            "account_name": m.account_name,
            "hold_until": m.bank_account_hold_until,
        })
    };
    let before = account(&found);
    let new_account =
        found.bank_code != bank.bank_code || found.account_number != bank.account_number;
    let cooling_off = chrono::Duration::from_std(state.settings.bank_account_cooling_off)
        .map_err(ApiError::internal)?;
    let mut model: merchant::ActiveModel = found.into();
    model.bank_code = Set(bank.bank_code);
    model.account_number = Set(bank.account_number);
    model.account_name = Set(bank.account_name);
    if new_account {
        model.bank_account_hold_until =
            Set((cooling_off > chrono::Duration::zero()).then(|| now + cooling_off));
        model.bank_account_confirmed_by = Set(None);
    }
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    if let Some((owner_name, email)) = super::owner_contact(&txn, &updated.id).await? {
        peken_mail::enqueue(
            &txn,
            peken_mail::Mail {
                to: email,
                to_name: Some(owner_name),
                user_id: Some(updated.owner_user_id.clone()),
                template: peken_mail::Template::BankAccountChanged {
                    merchant_name: updated.name.clone(),
                    bank_code: updated.bank_code.clone(),
                    account_masked: peken_audit::mask_account(&updated.account_number),
                    account_name: updated.account_name.clone(),
                    payouts_from: updated.bank_account_hold_until,
                },
                dedupe_key: format!("merchant:{}:bank_account:{}", updated.id, new_id()),
            },
            now,
        )
        .await?;
    }
    peken_audit::record(
        &txn,
        owner,
        peken_audit::Change::new("merchant.bank_account_changed", "merchant", &updated.id)
            .before(before)
            .after(account(&updated)),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(merchant_id = %updated.id, user_id = %owner.user_id, "bank account changed");
    Ok(updated)
}

/// Merchants whose new bank account still waits out its cooling-off period (payouts to it held
/// until an admin confirms it or the hold ends), the soonest-ending hold first.
pub async fn bank_accounts_held(state: &AppState, limit: u64) -> ApiResult<Vec<merchant::Model>> {
    Ok(merchant::Entity::find()
        .filter(merchant::Column::BankAccountHoldUntil.gt(state.now()))
        .order_by_asc(merchant::Column::BankAccountHoldUntil)
        .order_by_asc(merchant::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?)
}

/// An admin confirms a merchant's new bank account (having checked it with the owner): the
/// hold ends at once and the next payout batch pays to it.
pub async fn confirm_bank_account(
    state: &AppState,
    admin: &Caller,
    merchant_id: &str,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let confirmed = merchant::Entity::update_many()
        .col_expr(
            merchant::Column::BankAccountHoldUntil,
            Option::<DateTime<Utc>>::None.into(),
        )
        .col_expr(
            merchant::Column::BankAccountConfirmedBy,
            Some(admin.user_id.clone()).into(),
        )
        .col_expr(merchant::Column::UpdatedAt, now.into())
        .filter(merchant::Column::Id.eq(merchant_id))
        .filter(merchant::Column::BankAccountHoldUntil.gt(now))
        .exec(&txn)
        .await?;
    let found = merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    if confirmed.rows_affected == 0 {
        return Err(ApiError::conflict(
            "bank_account_not_held",
            "this merchant has no new bank account waiting for confirmation",
        ));
    }
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("merchant.bank_account_confirmed", "merchant", merchant_id).after(
            serde_json::json!({
                "bank_code": found.bank_code,
                "account_number": peken_audit::mask_account(&found.account_number),
            }),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// A change of the shop's profile: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub phone: Option<Option<String>>,
    pub description: Option<Option<String>>,
    /// As JSON.
    pub opening_hours: Option<Option<String>>,
    pub pickup: Option<bool>,
    /// (radius in metres, fee)
    pub delivery: Option<Option<(i32, i64)>>,
}

/// Changes the shop's profile (owner only).
pub async fn change_profile(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: ProfileChange,
) -> ApiResult<merchant::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = owned(&txn, caller, id).await?;
    let before = profile_audit(&found);
    let mut model: merchant::ActiveModel = found.into();
    if let Some(phone) = change.phone {
        model.phone = Set(phone);
    }
    if let Some(description) = change.description {
        model.description = Set(description);
    }
    if let Some(hours) = change.opening_hours {
        model.opening_hours = Set(hours);
    }
    if let Some(pickup) = change.pickup {
        model.pickup = Set(pickup);
    }
    if let Some(delivery) = change.delivery {
        model.delivery_radius_m = Set(delivery.map(|d| d.0));
        model.delivery_fee = Set(delivery.map(|d| d.1));
    }
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("merchant.profile_changed", "merchant", id)
            .before(before)
            .after(profile_audit(&updated)),
        now,
    )
    .await?;
    txn.commit().await?;
    peken_catalog::cache::listings_changed(state).await;
    Ok(updated)
}

fn profile_audit(m: &merchant::Model) -> serde_json::Value {
    serde_json::json!({
        "phone": m.phone, "description": m.description, "opening_hours": m.opening_hours,
        "pickup": m.pickup, "delivery_radius_m": m.delivery_radius_m,
        "delivery_fee": m.delivery_fee, "photo": m.photo.is_some(),
    })
}

/// Sets (or with `None` removes) the shop's photo (owner only). Returns the merchant and the
/// media keys of the old photo that nothing uses any more, for the caller to delete.
pub async fn set_photo(
    state: &AppState,
    caller: &Caller,
    id: &str,
    photo: Option<super::products::NewImage>,
) -> ApiResult<(merchant::Model, Vec<String>)> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = owned(&txn, caller, id).await?;
    let old: Vec<String> = found
        .photo
        .as_deref()
        .and_then(|json| serde_json::from_str::<Vec<crate::media::StoredRendition>>(json).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.key)
        .collect();
    if photo.is_none() && found.photo.is_none() {
        return Err(ApiError::not_found("photo"));
    }
    let json = match &photo {
        Some(image) => Some(
            serde_json::to_string(&image.renditions)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
        ),
        None => None,
    };
    let mut model: merchant::ActiveModel = found.into();
    model.photo = Set(json);
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    let gone = super::products::unreferenced(&txn, &old).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("merchant.photo_changed", "merchant", id)
            .after(serde_json::json!({"photo": photo.is_some()})),
        now,
    )
    .await?;
    txn.commit().await?;
    peken_catalog::cache::listings_changed(state).await;
    Ok((updated, gone))
}
