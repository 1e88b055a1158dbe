//! A shop's PP 55/2022 certificate: `/merchants/{id}/tax-certificate` and its verification.

use actix_web::{get, post, put, web};
use chrono::NaiveDate;
use peken_kernel::auth::{AdminOnly, Auth, MerchantOnly};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::{ApiResult, AppState, role_set};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::tax_certificate::{self, TaxCertificate};

role_set!(pub CertificateReaders = [Merchant, Admin]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(put_tax_certificate)
        .service(get_tax_certificate)
        .service(decide_tax_certificate);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaxCertificateRequest {
    /// The certificate's number (up to 100 characters).
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaxCertificateDecision {
    /// `true` verifies the certificate, `false` clears it.
    pub verified: bool,
}

/// Record the shop's PP 55/2022 certificate; it counts once an admin verifies it.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The merchant id")),
    request_body = TaxCertificateRequest,
    responses(
        (status = 200, description = "Recorded, waiting for verification", body = TaxCertificate),
        (status = 404, description = "Not the caller's shop", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/merchants/{id}/tax-certificate")]
async fn put_tax_certificate(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<String>,
    body: web::Json<TaxCertificateRequest>,
) -> ApiResult<web::Json<TaxCertificate>> {
    let mut v = Validation::new();
    let number = check_text(&mut v, "number", &body.number, 100);
    v.require(
        body.valid_from <= body.valid_until,
        "valid_until",
        "invalid_date_range",
        "valid_until is on or after valid_from",
    );
    v.finish()?;
    let number = number.unwrap_or_default();
    Ok(web::Json(
        tax_certificate::submit(
            &state,
            &auth,
            &path,
            &number,
            body.valid_from,
            body.valid_until,
        )
        .await?,
    ))
}

/// The shop's PP 55/2022 certificate, for its people and admins.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The merchant id")),
    responses(
        (status = 200, description = "The certificate", body = TaxCertificate),
        (status = 404, description = "None, or not the caller's shop", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/tax-certificate")]
async fn get_tax_certificate(
    state: web::Data<AppState>,
    auth: Auth<CertificateReaders>,
    path: web::Path<String>,
) -> ApiResult<web::Json<TaxCertificate>> {
    Ok(web::Json(tax_certificate::get(&state, &auth, &path).await?))
}

/// Verify or clear a shop's PP 55/2022 certificate (audited).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The merchant id")),
    request_body = TaxCertificateDecision,
    responses(
        (status = 200, description = "The certificate now", body = TaxCertificate),
        (status = 404, description = "The shop has no certificate", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/merchants/{id}/tax-certificate/verification")]
async fn decide_tax_certificate(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    path: web::Path<String>,
    body: web::Json<TaxCertificateDecision>,
) -> ApiResult<web::Json<TaxCertificate>> {
    Ok(web::Json(
        tax_certificate::decide(&state, &auth, &path, body.verified).await?,
    ))
}
