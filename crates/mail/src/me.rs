//! The caller's own inbox and push devices, for any signed-in user. Another user's entry or
//! device is 404, as if it did not exist.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::{AnyRole, Auth};
use peken_kernel::error::Problem;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::inbox;
use crate::push::devices;
use crate::store::{notification, push_device};

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_notifications)
        .service(read_all)
        .service(read_one)
        .service(register_device)
        .service(list_devices)
        .service(remove_device);
}

/// One entry of the inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    /// What it is about: the name of the mail sent with it, e.g. `order_paid`,
    /// `order_shipped`, `merchant_new_order`, `mandate_reminder`.
    pub kind: String,
    /// Short, in Indonesian, e.g. `Pesanan dikirim`.
    pub title: String,
    /// One or two sentences, at most 200 characters.
    pub body: String,
    /// What the app opens when the entry is tapped: string values, e.g. `{"order_id": "…"}`;
    /// `{}` when there is nothing more specific than the entry itself.
    #[schema(value_type = Object)]
    pub target: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    /// When the user read it; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl From<notification::Model> for Notification {
    fn from(m: notification::Model) -> Self {
        let target = match serde_json::from_str(&m.target) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Self {
            id: m.id,
            kind: m.kind,
            title: m.title,
            body: m.body,
            target,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

/// One page of the inbox, newest first, with the number of unread entries in the whole inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Unread entries in the whole inbox (not only this page), for the app's badge.
    pub unread_count: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `true`: only unread entries.
    pub unread: Option<bool>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's inbox, newest first.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(NotificationQuery),
    responses(
        (status = 200, description = "One page of the inbox and the unread count", body = NotificationPage),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/notifications")]
async fn list_notifications(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    query: web::Query<NotificationQuery>,
) -> ApiResult<web::Json<NotificationPage>> {
    let query = query.into_inner();
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let before: Option<String> = page.cursor()?;
    let rows = inbox::list(
        &state.db,
        &auth.user_id,
        query.unread.unwrap_or(false),
        before,
        limit,
    )
    .await?;
    let unread_count = inbox::unread_count(&state.db, &auth.user_id).await?;
    let page = Page::from_rows(rows, limit, |m| m.id.clone(), Notification::from);
    Ok(web::Json(NotificationPage {
        items: page.items,
        next_cursor: page.next_cursor,
        unread_count,
    }))
}

/// Marks one entry of the inbox read. Reading it again keeps the first time.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Notification id")),
    responses(
        (status = 200, description = "The entry, read", body = Notification),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry in your inbox", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notifications/{id}/read")]
async fn read_one(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Notification>> {
    let found = inbox::mark_read(&state.db, &auth.user_id, &id, state.now())
        .await?
        .ok_or_else(|| ApiError::not_found("notification"))?;
    Ok(web::Json(Notification::from(found)))
}

/// How many entries a "read all" marked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadAll {
    pub marked: u64,
    /// Always 0 right after: the badge can be cleared.
    pub unread_count: u64,
}

/// Marks every entry of the inbox read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many were marked", body = ReadAll),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notifications/read-all")]
async fn read_all(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<web::Json<ReadAll>> {
    let marked = inbox::mark_all_read(&state.db, &auth.user_id, state.now()).await?;
    let unread_count = inbox::unread_count(&state.db, &auth.user_id).await?;
    Ok(web::Json(ReadAll {
        marked,
        unread_count,
    }))
}

/// A device to send push messages to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// `android`, `ios` or `web`.
    #[schema(example = "android")]
    pub platform: String,
    /// The Firebase Cloud Messaging registration token of the app install: 16 to 4,096 printable
    /// characters without spaces.
    pub token: String,
}

/// A registered device. The token itself is not shown back, only its end.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: String,
    pub platform: String,
    /// The last six characters of the token, to tell devices apart.
    pub token_end: String,
    pub created_at: DateTime<Utc>,
    /// When it was last registered.
    pub updated_at: DateTime<Utc>,
}

impl From<push_device::Model> for Device {
    fn from(m: push_device::Model) -> Self {
        let start = m.token.len().saturating_sub(6);
        Self {
            id: m.id,
            platform: m.platform,
            token_end: m.token.get(start..).unwrap_or_default().to_owned(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The caller's devices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
}

/// Registers the app install for push. A token already registered (by this user or another
/// one: a phone changes hands, or someone else signs in on it) moves to the caller; a user keeps
/// at most 20 devices, the least recently registered is forgotten.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = DeviceRequest,
    responses(
        (status = 201, description = "A new device, registered to the caller", body = Device,
            headers(("Location" = String, description = "`/api/v1/me/devices`"))),
        (status = 200, description = "A token registered before, now the caller's (platform updated)", body = Device),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field missing (`invalid_body`), a bad platform (`invalid_platform`) or token (`invalid_device_token`, `device_token_too_long`, `control_character`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/devices")]
async fn register_device(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    body: web::Json<DeviceRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let platform = body.platform.trim();
    let token = body.token.trim();
    devices::check(platform, token)?;
    let txn = state.db.begin().await?;
    let (device, new) =
        devices::register(&txn, &auth.user_id, platform, token, state.now()).await?;
    txn.commit().await?;
    let device = Device::from(device);
    Ok(if new {
        HttpResponse::Created()
            .insert_header(("Location", "/api/v1/me/devices"))
            .json(device)
    } else {
        HttpResponse::Ok().json(device)
    })
}

/// The caller's devices, most recently registered first.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's devices", body = DeviceList),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/devices")]
async fn list_devices(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
) -> ApiResult<web::Json<DeviceList>> {
    let items = devices::list(&state.db, &auth.user_id)
        .await?
        .into_iter()
        .map(Device::from)
        .collect();
    Ok(web::Json(DeviceList { items }))
}

/// Stops push to a device (the app signs out, or the user turns push off).
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such device of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/devices/{id}")]
async fn remove_device(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if !devices::remove(&state.db, &auth.user_id, &id).await? {
        return Err(ApiError::not_found("device"));
    }
    Ok(HttpResponse::NoContent().finish())
}
