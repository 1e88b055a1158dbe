//! The commodity master list: anyone reads it, admins create and change it.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use peken_kernel::http_cache::{self, Audience};

use super::CATALOG_MAX_AGE;
use peken_kernel::auth::{AdminOnly, Auth};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::pagination::Page;
use peken_kernel::{ApiResult, AppState, Rupiah};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::input::{positive_rupiah, present, whole_number};
use crate::service::{self, CommodityPatch, NewCommodity};
use crate::store::commodity;
use crate::{MAX_PRICE, cache};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_commodities)
        .service(admin_list_commodities)
        .service(create_commodity)
        .service(patch_commodity);
}

/// The largest daily per-buyer limit an admin may set.
const MAX_DAILY_LIMIT: i64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommodityResponse {
    pub id: String,
    pub name: String,
    /// Category code, e.g. `sembako`.
    pub category: String,
    /// Unit of sale, e.g. `kg`, `liter`, `butir`.
    pub unit: String,
    /// Government ceiling price (HET) per unit; listings may not be priced above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub het_price: Option<Rupiah>,
    /// Most units one buyer may buy per day (rationing), when limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_qty_per_buyer_per_day: Option<i64>,
    /// Withdrawn commodities are not listed, browsed or sold.
    pub active: bool,
}

impl From<commodity::Model> for CommodityResponse {
    fn from(c: commodity::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            category: c.category,
            unit: c.unit,
            het_price: c.het_price.map(Rupiah::new),
            max_qty_per_buyer_per_day: c.max_qty_per_buyer_per_day.map(i64::from),
            active: c.active,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommodityQuery {
    /// Only commodities of this category.
    pub category: Option<String>,
}

/// The active commodities, by name.
#[utoipa::path(
    tag = "catalog",
    params(CommodityQuery, ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client holds")),
    responses(
        (status = 200, description = "Active commodities, with `ETag` and `Cache-Control`", body = Page<CommodityResponse>),
        (status = 304, description = "Not modified: the client's copy is current"),
    )
)]
#[get("/commodities")]
async fn list_commodities(
    state: web::Data<AppState>,
    query: web::Query<CommodityQuery>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let category = query
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let key = cache::key(
        &state,
        cache::COMMODITIES,
        &format!("list:{}", category.unwrap_or("")),
    )
    .await;
    if let Some(page) = cache::get::<Page<CommodityResponse>>(&state, &key).await {
        return http_cache::json(&request, &page, Audience::Public, CATALOG_MAX_AGE);
    }
    let items = service::list_commodities(&state.db, category, false)
        .await?
        .into_iter()
        .map(CommodityResponse::from)
        .collect();
    let page = Page {
        items,
        next_cursor: None,
    };
    cache::put(&state, &key, &page, cache::COMMODITIES_TTL).await;
    http_cache::json(&request, &page, Audience::Public, CATALOG_MAX_AGE)
}

/// Every commodity, withdrawn ones included.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(CommodityQuery),
    responses((status = 200, description = "All commodities", body = Page<CommodityResponse>))
)]
#[get("/admin/commodities")]
async fn admin_list_commodities(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    query: web::Query<CommodityQuery>,
) -> ApiResult<web::Json<Page<CommodityResponse>>> {
    let category = query
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let items = service::list_commodities(&state.db, category, true)
        .await?
        .into_iter()
        .map(CommodityResponse::from)
        .collect();
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommodityRequest {
    pub name: String,
    pub category: String,
    pub unit: String,
    /// Ceiling price per unit in whole rupiah.
    #[schema(value_type = Option<i64>)]
    pub het_price: Option<Value>,
    #[schema(value_type = Option<i64>)]
    pub max_qty_per_buyer_per_day: Option<Value>,
}

fn check_category(v: &mut Validation, value: &str) -> Option<String> {
    let code = value.trim().to_ascii_lowercase();
    let ok = (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    v.require(
        ok,
        "category",
        "unknown_category",
        "no category with this code",
    );
    ok.then_some(code)
}

fn check_het(v: &mut Validation, value: Option<&Value>) -> Option<Rupiah> {
    value
        .filter(|v| !v.is_null())
        .and_then(|value| positive_rupiah(v, "het_price", value, MAX_PRICE))
}

fn check_limit(v: &mut Validation, value: Option<&Value>) -> Option<i32> {
    value
        .filter(|v| !v.is_null())
        .and_then(|value| whole_number(v, "max_qty_per_buyer_per_day", value, 1, MAX_DAILY_LIMIT))
        .map(|n| n as i32)
}

/// Add a commodity to the master list.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = CreateCommodityRequest,
    responses(
        (status = 201, description = "Created", body = CommodityResponse),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/commodities")]
async fn create_commodity(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    body: web::Json<CreateCommodityRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let name = check_text(&mut v, "name", &body.name, 100);
    let category = check_category(&mut v, &body.category);
    let unit = check_text(&mut v, "unit", &body.unit, 20);
    let het_price = check_het(&mut v, body.het_price.as_ref());
    let limit = check_limit(&mut v, body.max_qty_per_buyer_per_day.as_ref());
    let (name, category, unit) = v.finish_with((name, category, unit))?;
    let created = service::create_commodity(
        &state,
        &auth,
        NewCommodity {
            name,
            category,
            unit,
            het_price,
            max_qty_per_buyer_per_day: limit,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(CommodityResponse::from(created)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCommodityRequest {
    pub name: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    /// A new ceiling price; `null` removes the ceiling.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    pub het_price: Option<Value>,
    /// A new daily per-buyer limit; `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    pub max_qty_per_buyer_per_day: Option<Value>,
    /// `false` withdraws the commodity: its listings stop selling.
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatchCommodityResponse {
    #[serde(flatten)]
    pub commodity: CommodityResponse,
    /// Listings of this commodity now priced above its HET: they are hidden and not sold until
    /// their merchants reprice.
    pub listings_above_het: u64,
}

/// Change a commodity, including its HET. Lowering the HET stops listings above it from
/// selling until repriced.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = PatchCommodityRequest,
    params(("id" = String, Path, description = "Commodity id")),
    responses(
        (status = 200, description = "Changed", body = PatchCommodityResponse),
        (status = 404, description = "No such commodity", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/commodities/{id}")]
async fn patch_commodity(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<PatchCommodityRequest>,
) -> ApiResult<web::Json<PatchCommodityResponse>> {
    let body = body.into_inner();
    let mut v = Validation::new();
    let patch = CommodityPatch {
        name: body.name.and_then(|n| check_text(&mut v, "name", &n, 100)),
        category: body.category.and_then(|c| check_category(&mut v, &c)),
        unit: body.unit.and_then(|u| check_text(&mut v, "unit", &u, 20)),
        het_price: body.het_price.map(|het| check_het(&mut v, Some(&het))),
        max_qty_per_buyer_per_day: body
            .max_qty_per_buyer_per_day
            .map(|limit| check_limit(&mut v, Some(&limit))),
        active: body.active,
    };
    v.finish()?;
    let (updated, above) = service::patch_commodity(&state, &auth, &id, patch).await?;
    Ok(web::Json(PatchCommodityResponse {
        commodity: updated.into(),
        listings_above_het: above,
    }))
}
