//! The devices a user registered for push. A registration token identifies an app install, so
//! it belongs to one row: registering a token already known moves it (to this user, this
//! platform) rather than adding a second row that would get every message twice.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::error::Validation;
use peken_kernel::{ApiError, ApiResult};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::store::push_device::{self, Column, Entity};

pub const PLATFORMS: [&str; 3] = ["android", "ios", "web"];

/// FCM registration tokens are some 160 characters today; the limit leaves room for change and
/// refuses what is no token.
pub const MIN_TOKEN: usize = 16;
pub const MAX_TOKEN: usize = 4096;

/// A user keeps at most this many devices; registering another forgets the least recently
/// registered one.
pub const MAX_DEVICES: usize = 20;

/// Checks a registration: the platform is one of [`PLATFORMS`]; the token is 16 to 4,096
/// printable ASCII characters without spaces (which also keeps NUL bytes out).
pub fn check(platform: &str, token: &str) -> ApiResult<()> {
    let mut v = Validation::new();
    v.require(
        PLATFORMS.contains(&platform),
        "platform",
        "invalid_platform",
        "platform must be android, ios or web",
    );
    if token.len() > MAX_TOKEN {
        v.push(
            "token",
            "device_token_too_long",
            format!("a device token is at most {MAX_TOKEN} characters"),
        );
    } else {
        v.require(
            token.len() >= MIN_TOKEN && token.bytes().all(|b| b.is_ascii_graphic()),
            "token",
            "invalid_device_token",
            "a device token is 16 or more printable characters without spaces",
        );
    }
    v.finish()
}

/// Registers `token` for the user (checked with [`check`] first), inside the caller's
/// transaction, and returns the device and whether it is new (not a token registered before, by
/// this user or another).
pub async fn register<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    platform: &str,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<(push_device::Model, bool)> {
    check(platform, token)?;
    let known = Entity::find()
        .filter(Column::Token.eq(token))
        .one(conn)
        .await?
        .is_some();
    Entity::insert(push_device::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_owned()),
        platform: Set(platform.to_owned()),
        token: Set(token.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::Token)
            .update_columns([Column::UserId, Column::Platform, Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let device = Entity::find()
        .filter(Column::Token.eq(token))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a registered device vanished")))?;
    // Forget the oldest registrations beyond the limit.
    let mine: Vec<String> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::UpdatedAt)
        .order_by_desc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    let stale: Vec<String> = mine.into_iter().skip(MAX_DEVICES).collect();
    if !stale.is_empty() {
        Entity::delete_many()
            .filter(Column::Id.is_in(stale))
            .exec(conn)
            .await?;
    }
    Ok((device, !known))
}

/// The user's devices, most recently registered first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
) -> Result<Vec<push_device::Model>, DbErr> {
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::UpdatedAt)
        .order_by_desc(Column::Id)
        .all(conn)
        .await
}

/// Removes one of the user's devices; false when the user has no such device.
pub async fn remove<C: ConnectionTrait>(conn: &C, user_id: &str, id: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

/// Removes every device of a user, inside the caller's transaction: identity calls it when it
/// deactivates or closes an account.
pub async fn remove_all<C: ConnectionTrait>(conn: &C, user_id: &str) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The token a push row goes to: the device still registered to the row's user (identity
/// forgets the devices of an account it deactivates). `None` means the row is not to be sent.
pub async fn token_for<C: ConnectionTrait>(
    conn: &C,
    device_id: &str,
    user_id: &str,
) -> Result<Option<String>, DbErr> {
    Entity::find_by_id(device_id)
        .select_only()
        .column(Column::Token)
        .filter(Column::UserId.eq(user_id))
        .into_tuple()
        .one(conn)
        .await
}

/// Forgets a device the push service reported unregistered, if it still has that token.
pub async fn forget_token<C: ConnectionTrait>(
    conn: &C,
    device_id: &str,
    token: &str,
) -> Result<bool, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::Id.eq(device_id))
        .filter(Column::Token.eq(token))
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_and_tokens_are_checked() {
        assert!(check("android", &"a".repeat(163)).is_ok());
        assert!(check("ios", &"f".repeat(64)).is_ok());
        assert!(check("symbian", &"a".repeat(163)).is_err());
        assert!(check("android", "short").is_err());
        assert!(check("android", &"a".repeat(MAX_TOKEN + 1)).is_err());
        assert!(check("android", &format!("{}\0", "a".repeat(40))).is_err());
        assert!(check("android", &format!("{} b", "a".repeat(40))).is_err());
    }
}
