//! A merchant's products and their moderation.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use peken_catalog::input::{present, whole_number};
use peken_kernel::auth::{AdminOnly, Auth, MerchantOnly};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::admin::{Decision, check_reason};
use super::listings::MerchantOrAdmin;
use crate::media::{self, ImageUrls};
use crate::service::products::{
    self, NewProduct, ProductFields, ProductFilter, ProductImage, ProductPatch, ProductView,
};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_product)
        .service(list_products)
        .service(get_product)
        .service(patch_product)
        .service(moderation_queue)
        .service(moderate);
}

const MAX_NAME: usize = 120;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_UNIT: usize = 20;
/// Grams or millilitres: a tonne, far above anything sold by the unit here.
const MAX_NET: i64 = 1_000_000;

/// A product's own fields.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductFieldsBody {
    pub name: String,
    pub description: String,
    pub category: String,
    /// How it is sold: `kg`, `liter`, `bungkus`, `pcs`…
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_weight_g: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_volume_ml: Option<i64>,
    /// GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14 digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// The commodity of a staple (its HET and daily limit apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity_id: Option<String>,
}

impl From<ProductFields> for ProductFieldsBody {
    fn from(f: ProductFields) -> Self {
        Self {
            name: f.name,
            description: f.description,
            category: f.category,
            unit: f.unit,
            net_weight_g: f.net_weight_g,
            net_volume_ml: f.net_volume_ml,
            barcode: f.barcode,
            commodity_id: f.commodity_id,
        }
    }
}

/// A change of an approved product that waits for moderation, or was refused.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingChangeBody {
    /// The product as it will be once the change is approved.
    pub fields: ProductFieldsBody,
    /// `pending` or `rejected`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One photo of a product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductImageBody {
    pub id: String,
    /// 0 is the first photo, the one lists show.
    pub position: i32,
    #[serde(flatten)]
    pub urls: ImageUrls,
}

pub(super) fn image_body(state: &AppState, image: ProductImage) -> Option<ProductImageBody> {
    Some(ProductImageBody {
        urls: media::urls(state, &image.renditions)?,
        id: image.id,
        position: image.position,
    })
}

/// A product as its merchant and admins see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductResponse {
    pub id: String,
    pub merchant_id: String,
    #[serde(flatten)]
    pub fields: ProductFieldsBody,
    /// `pending` (waiting for moderation), `approved` (may sell) or `rejected`.
    pub status: String,
    /// Why it was rejected, for the merchant to fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// A change of the approved product; the approved fields above keep selling meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChangeBody>,
    pub images: Vec<ProductImageBody>,
    pub submitted_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn product_response(state: &AppState, p: ProductView) -> ProductResponse {
    ProductResponse {
        id: p.id,
        merchant_id: p.merchant_id,
        fields: p.fields.into(),
        status: p.status,
        rejection_reason: p.rejection_reason,
        pending_change: p.pending_change.map(|c| PendingChangeBody {
            fields: c.fields.into(),
            status: c.status,
            reason: c.reason,
        }),
        images: p
            .images
            .into_iter()
            .filter_map(|i| image_body(state, i))
            .collect(),
        submitted_at: p.submitted_at,
        moderated_at: p.moderated_at,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    /// 1 to 120 characters.
    pub name: String,
    /// Up to 2,000 characters.
    pub description: Option<String>,
    /// A category the merchant's kind may sell; may be left out when `commodity_id` is given.
    pub category: Option<String>,
    /// Up to 20 characters; the commodity's unit when left out.
    pub unit: Option<String>,
    /// Net weight in grams (not with `net_volume_ml`).
    #[schema(value_type = Option<i64>)]
    pub net_weight_g: Option<Value>,
    /// Net volume in millilitres (not with `net_weight_g`).
    #[schema(value_type = Option<i64>)]
    pub net_volume_ml: Option<Value>,
    /// GTIN digits (EAN-8, UPC-A, EAN-13, GTIN-14) with a valid check digit.
    pub barcode: Option<String>,
    /// Required for a staple (`sembako`): the commodity it is.
    pub commodity_id: Option<String>,
}

/// Whether `digits` is a GTIN with a valid check digit.
pub fn valid_gtin(digits: &str) -> bool {
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = values.split_at(values.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

fn check_barcode(v: &mut Validation, value: &str) -> Option<String> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if valid_gtin(&digits) {
        Some(digits)
    } else {
        v.push(
            "barcode",
            "invalid_barcode",
            "a barcode is 8, 12, 13 or 14 digits with a valid check digit".to_owned(),
        );
        None
    }
}

fn check_description(v: &mut Validation, value: &str) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION {
        v.push(
            "description",
            "too_long",
            format!("description must be at most {MAX_DESCRIPTION} characters"),
        );
        None
    } else {
        Some(trimmed.to_owned())
    }
}

#[expect(
    clippy::option_option,
    reason = "absent, null and a value differ in a PATCH"
)]
fn check_net(v: &mut Validation, field: &str, value: Option<&Value>) -> Option<Option<i64>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(value) => whole_number(v, field, value, 1, MAX_NET).map(Some),
    }
}

fn check_id(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    check_text(v, field, value, 64)
}

fn check_code(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    check_text(v, field, value, 64).map(|c| c.to_ascii_lowercase())
}

/// Add a product (merchant's own people). It waits for an admin's moderation before its
/// listing sells.
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    request_body = CreateProductRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 201, description = "Added, waiting for moderation", body = ProductResponse,
            headers(("Location" = String, description = "The product: `/api/v1/merchants/{id}/products/{product_id}`"))),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown commodity or category, a staple without its commodity, or a category the merchant may not sell (`category_not_allowed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/products")]
async fn create_product(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    body: web::Json<CreateProductRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let name = check_text(&mut v, "name", &body.name, MAX_NAME);
    let description = check_description(&mut v, body.description.as_deref().unwrap_or(""));
    let category = body
        .category
        .as_deref()
        .map(|c| check_code(&mut v, "category", c));
    let unit = body
        .unit
        .as_deref()
        .map(|u| check_text(&mut v, "unit", u, MAX_UNIT));
    let net_weight_g = check_net(&mut v, "net_weight_g", body.net_weight_g.as_ref());
    let net_volume_ml = check_net(&mut v, "net_volume_ml", body.net_volume_ml.as_ref());
    let barcode = body.barcode.as_deref().map(|b| check_barcode(&mut v, b));
    let commodity_id = body
        .commodity_id
        .as_deref()
        .map(|c| check_id(&mut v, "commodity_id", c));
    v.require(
        !matches!(
            (net_weight_g, net_volume_ml),
            (Some(Some(_)), Some(Some(_)))
        ),
        "net_volume_ml",
        "net_quantity_conflict",
        "a product has a net weight or a net volume, not both",
    );
    let (name, description, net_weight_g, net_volume_ml) =
        v.finish_with((name, description, net_weight_g, net_volume_ml))?;
    let created = products::create(
        &state,
        &auth,
        &id,
        NewProduct {
            name,
            description,
            category: category.flatten(),
            unit: unit.flatten(),
            net_weight_g,
            net_volume_ml,
            barcode: barcode.flatten(),
            commodity_id: commodity_id.flatten(),
        },
    )
    .await?;
    let location = format!(
        "/api/v1/merchants/{}/products/{}",
        created.merchant_id, created.id
    );
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(product_response(&state, created)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductState {
    All,
    Pending,
    Approved,
    Rejected,
}

impl From<ProductState> for ProductFilter {
    fn from(s: ProductState) -> Self {
        match s {
            ProductState::All => ProductFilter::All,
            ProductState::Pending => ProductFilter::Pending,
            ProductState::Approved => ProductFilter::Approved,
            ProductState::Rejected => ProductFilter::Rejected,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// `all` (default), `pending` (new products and changes waiting for moderation),
    /// `approved`, `rejected` (the product or its change).
    #[param(inline)]
    pub status: Option<ProductState>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A merchant's products, oldest first (merchant's own people, admin).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), ProductListQuery),
    responses(
        (status = 200, description = "One page of products", body = Page<ProductResponse>),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/products")]
async fn list_products(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    id: web::Path<String>,
    query: web::Query<ProductListQuery>,
) -> ApiResult<web::Json<Page<ProductResponse>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let filter = query.status.unwrap_or(ProductState::All).into();
    let found = products::list(&state, &auth, &id, filter, page.cursor()?, page.limit()?).await?;
    Ok(web::Json(Page {
        items: found
            .items
            .into_iter()
            .map(|p| product_response(&state, p))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

/// One product (merchant's own people, admin).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("product_id" = String, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "The product", body = ProductResponse),
        (status = 404, description = "Not your product", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/products/{product_id}")]
async fn get_product(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<ProductResponse>> {
    let (id, product_id) = path.into_inner();
    let found = products::get(&state, &auth, &id, &product_id).await?;
    Ok(web::Json(product_response(&state, found)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProductRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub net_weight_g: Option<Value>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub net_volume_ml: Option<Value>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Value>,
    /// `null` clears it (not for a staple).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub commodity_id: Option<Value>,
}

#[expect(
    clippy::option_option,
    reason = "absent, null and a value differ in a PATCH"
)]
fn nullable_text(
    v: &mut Validation,
    field: &str,
    value: Option<&Value>,
    check: impl FnOnce(&mut Validation, &str) -> Option<String>,
) -> Option<Option<String>> {
    match value {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => check(v, s).map(Some),
        Some(_) => {
            v.push(
                field,
                "invalid_type",
                format!("{field} must be a string or null"),
            );
            None
        }
    }
}

/// Change a product (merchant's own people). A pending or rejected product waits for
/// moderation again; a change of an approved product waits beside it while the approved
/// version keeps selling.
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    request_body = PatchProductRequest,
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("product_id" = String, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "Changed", body = ProductResponse),
        (status = 404, description = "Not your product", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a category the merchant may not sell", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/merchants/{id}/products/{product_id}")]
async fn patch_product(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
    body: web::Json<PatchProductRequest>,
) -> ApiResult<web::Json<ProductResponse>> {
    let (id, product_id) = path.into_inner();
    let mut v = Validation::new();
    let change = ProductPatch {
        name: body
            .name
            .as_deref()
            .and_then(|n| check_text(&mut v, "name", n, MAX_NAME)),
        description: body
            .description
            .as_deref()
            .and_then(|d| check_description(&mut v, d)),
        category: body
            .category
            .as_deref()
            .and_then(|c| check_code(&mut v, "category", c)),
        unit: body
            .unit
            .as_deref()
            .and_then(|u| check_text(&mut v, "unit", u, MAX_UNIT)),
        net_weight_g: body
            .net_weight_g
            .as_ref()
            .and_then(|n| check_net(&mut v, "net_weight_g", Some(n))),
        net_volume_ml: body
            .net_volume_ml
            .as_ref()
            .and_then(|n| check_net(&mut v, "net_volume_ml", Some(n))),
        barcode: nullable_text(&mut v, "barcode", body.barcode.as_ref(), check_barcode),
        commodity_id: nullable_text(
            &mut v,
            "commodity_id",
            body.commodity_id.as_ref(),
            |v, c| check_id(v, "commodity_id", c),
        ),
    };
    v.finish()?;
    let updated = products::patch(&state, &auth, &id, &product_id, change).await?;
    Ok(web::Json(product_response(&state, updated)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModerationQueueQuery {
    /// `pending` (default: new products and changes waiting), `approved`, `rejected` or `all`.
    #[param(inline)]
    pub status: Option<ProductState>,
    /// Only this merchant's products.
    pub merchant_id: Option<String>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Products of every merchant, oldest first; by default the moderation queue (admin).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    params(ModerationQueueQuery),
    responses(
        (status = 200, description = "One page of products", body = Page<ProductResponse>),
        (status = 422, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/products")]
async fn moderation_queue(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    query: web::Query<ModerationQueueQuery>,
) -> ApiResult<web::Json<Page<ProductResponse>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let merchant_id = query
        .merchant_id
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if merchant_id.is_some_and(|m| m.len() > 64) {
        return Err(ApiError::field("merchant_id", "invalid_id", "not an id"));
    }
    let filter = query.status.unwrap_or(ProductState::Pending).into();
    let found =
        products::list_all(&state, merchant_id, filter, page.cursor()?, page.limit()?).await?;
    Ok(web::Json(Page {
        items: found
            .items
            .into_iter()
            .map(|p| product_response(&state, p))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    pub decision: Decision,
    /// Required when rejecting; shown to the merchant.
    pub reason: Option<String>,
}

/// Approve or reject what waits on a product: a new product, or a change of an approved one
/// (admin). An approval makes the product's listing sell (or sell as changed).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    request_body = ModerationRequest,
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "Moderated", body = ProductResponse),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing waits for moderation (`nothing_to_moderate`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing on a rejection", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/products/{id}/moderation")]
async fn moderate(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<ModerationRequest>,
) -> ApiResult<web::Json<ProductResponse>> {
    let approve = matches!(body.decision, Decision::Approve);
    let mut v = Validation::new();
    let reason = check_reason(&mut v, body.reason.as_deref(), !approve);
    v.finish()?;
    let decision = match reason {
        Some(reason) if !approve => products::Decision::Reject(reason),
        _ if approve => products::Decision::Approve,
        _ => {
            return Err(ApiError::field(
                "reason",
                "required",
                "a reason is required",
            ));
        }
    };
    let moderated = products::moderate(&state, &auth, &id, decision).await?;
    Ok(web::Json(product_response(&state, moderated)))
}

#[cfg(test)]
mod tests {
    use super::valid_gtin;

    #[test]
    fn gtin_check_digits() {
        assert!(valid_gtin("8992761111113"));
        assert!(valid_gtin("96385074"));
        assert!(valid_gtin("036000291452"));
        assert!(!valid_gtin("8992761111112"));
        assert!(!valid_gtin("899276111111"));
        assert!(!valid_gtin("899276111111a"));
    }
}
