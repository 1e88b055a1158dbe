//! Photos: a product's (up to eight, in order) and the shop's. Uploads are
//! `multipart/form-data` with the image in a part named `file`: JPEG, PNG or WebP of at most
//! 5 MB, checked, stripped of metadata and stored in three sizes by `peken_media`.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, delete, post, put, web};
use peken_kernel::auth::{Auth, MerchantOnly};
use peken_kernel::error::Problem;
use peken_kernel::{ApiError, ApiResult, AppState};
use peken_media::{MAX_IMAGE_BYTES, StoredImage};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchants::MerchantResponse;
use super::products::{ProductResponse, product_response};
use crate::media::StoredRendition;
use crate::service::merchants::{self, Access};
use crate::service::products::{self, NewImage};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_product_image)
        .service(delete_product_image)
        .service(reorder_product_images)
        .service(set_shop_photo)
        .service(delete_shop_photo);
}

/// A photo upload (the OpenAPI document's view of the multipart body).
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the multipart body; the handler reads it as a stream"
)]
pub struct ImageUpload {
    /// A JPEG, PNG or WebP image of at most 5 MB and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

fn new_image(stored: StoredImage) -> NewImage {
    NewImage {
        width: stored.width,
        height: stored.height,
        renditions: stored
            .renditions
            .into_iter()
            .map(|r| StoredRendition {
                width: r.width,
                height: r.height,
                key: r.key,
                bytes: r.bytes,
            })
            .collect(),
    }
}

/// Deletes the stored objects of a photo whose record was not written (or is gone), unless
/// another record uses the same content.
async fn forget(state: &AppState, keys: &[String]) {
    match products::unreferenced(&state.db, keys).await {
        Ok(gone) => peken_media::delete_keys(state, &gone).await,
        Err(e) => tracing::warn!(error = %e, "media keys not checked for deletion"),
    }
}

/// Reads, checks and stores an uploaded photo.
async fn upload(state: &AppState, req: &HttpRequest, payload: Multipart) -> ApiResult<NewImage> {
    let file = peken_media::read_file_part(req, payload, MAX_IMAGE_BYTES).await?;
    Ok(new_image(peken_media::store_image(state, file).await?))
}

/// Add a photo to a product, after its others (merchant's own people).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("product_id" = String, Path, description = "Product id"),
    ),
    responses(
        (status = 201, description = "Added: the product with its photos", body = ProductResponse),
        (status = 400, description = "The multipart body cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product has 8 photos already (`too_many_images`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over 5 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the file is no JPEG, PNG or WebP image (`not_an_image`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `file` part, a declared type that differs from the content, too many pixels, or a corrupt image", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The media store failed; nothing was stored", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/products/{product_id}/images")]
async fn add_product_image(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: Multipart,
) -> ApiResult<HttpResponse> {
    let (id, product_id) = path.into_inner();
    // Refused before the bytes are read and decoded.
    products::check_room_for_image(&state, &auth, &id, &product_id).await?;
    let image = upload(&state, &req, payload).await?;
    let keys: Vec<String> = image.renditions.iter().map(|r| r.key.clone()).collect();
    match products::add_image(&state, &auth, &id, &product_id, image).await {
        Ok(product) => Ok(HttpResponse::Created().json(product_response(&state, product))),
        Err(e) => {
            forget(&state, &keys).await;
            Err(e)
        }
    }
}

/// Delete a product's photo; the photos after it move up (merchant's own people).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("product_id" = String, Path, description = "Product id"),
        ("image_id" = String, Path, description = "Photo id"),
    ),
    responses(
        (status = 200, description = "Deleted: the product with its photos", body = ProductResponse),
        (status = 404, description = "Not your product, or no such photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/merchants/{id}/products/{product_id}/images/{image_id}")]
async fn delete_product_image(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String, String)>,
) -> ApiResult<web::Json<ProductResponse>> {
    let (id, product_id, image_id) = path.into_inner();
    let (product, gone) =
        products::delete_image(&state, &auth, &id, &product_id, &image_id).await?;
    peken_media::delete_keys(&state, &gone).await;
    Ok(web::Json(product_response(&state, product)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageOrderRequest {
    /// Every photo of the product, once each, first photo first.
    pub image_ids: Vec<String>,
}

/// Put a product's photos in a new order; the first is the one lists show (merchant's own
/// people).
#[utoipa::path(
    tag = "products",
    security(("bearer" = [])),
    request_body = ImageOrderRequest,
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("product_id" = String, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "Reordered: the product with its photos", body = ProductResponse),
        (status = 404, description = "Not your product", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not each of the product's photos once (`not_a_permutation`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/merchants/{id}/products/{product_id}/images/order")]
async fn reorder_product_images(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
    body: web::Json<ImageOrderRequest>,
) -> ApiResult<web::Json<ProductResponse>> {
    let (id, product_id) = path.into_inner();
    if body.image_ids.len() > products::MAX_IMAGES || body.image_ids.iter().any(|i| i.len() > 64) {
        return Err(ApiError::field(
            "image_ids",
            "not_a_permutation",
            "name each of the product's photos exactly once",
        ));
    }
    let product =
        products::reorder_images(&state, &auth, &id, &product_id, &body.image_ids).await?;
    Ok(web::Json(product_response(&state, product)))
}

/// Set the shop's photo, replacing the old one (owner only).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant with its photo", body = MerchantResponse),
        (status = 400, description = "The multipart body cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner (`owner_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over 5 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the file is no JPEG, PNG or WebP image", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `file` part, a declared type that differs from the content, too many pixels, or a corrupt image", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The media store failed; nothing was stored", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/merchants/{id}/photo")]
async fn set_shop_photo(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    req: HttpRequest,
    payload: Multipart,
) -> ApiResult<web::Json<MerchantResponse>> {
    merchants::owned(&state.db, &auth, &id).await?;
    let image = upload(&state, &req, payload).await?;
    let keys: Vec<String> = image.renditions.iter().map(|r| r.key.clone()).collect();
    match merchants::set_photo(&state, &auth, &id, Some(image)).await {
        Ok((updated, gone)) => {
            peken_media::delete_keys(&state, &gone).await;
            Ok(web::Json(MerchantResponse::new(
                &state,
                updated,
                Access::Full,
            )))
        }
        Err(e) => {
            forget(&state, &keys).await;
            Err(e)
        }
    }
}

/// Remove the shop's photo (owner only).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant without a photo", body = MerchantResponse),
        (status = 403, description = "Not the owner (`owner_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant, or it has no photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/merchants/{id}/photo")]
async fn delete_shop_photo(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let (updated, gone) = merchants::set_photo(&state, &auth, &id, None).await?;
    peken_media::delete_keys(&state, &gone).await;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}
