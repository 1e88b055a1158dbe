//! Naik kelas: the cooperatives office checks a shop's NIB and records its mentoring; the shop
//! (or the office) keeps its halal, PIRT, trademark and capital band; a camat reads those of its
//! kecamatan's shops.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use peken_kernel::auth::{AdminOnly, Auth, Role};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::ids::Nib;
use peken_kernel::period::parse_date;
use peken_kernel::{ApiError, ApiResult, AppState, role_set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchants::MerchantResponse;
use crate::service::merchants::{self, Access, NIB_CHECKED, NIB_IN_PROGRESS, NIB_NONE};
use crate::service::naik_kelas::{self, Credentials, Mentoring};

role_set!(pub MerchantOwnerOrAdmin = [Merchant, Admin]);
role_set!(pub MentoringReaders = [Merchant, Admin, Camat]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(set_merchant_nib)
        .service(set_merchant_credentials)
        .service(add_merchant_mentoring)
        .service(list_merchant_mentoring);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NibRequest {
    /// `none`, `in_progress` (the office is helping the shop get it) or `checked` (the shop may
    /// sell).
    pub status: String,
    /// The 13-digit NIB, when the shop has it (required for `checked` unless on file).
    pub nib: Option<String>,
}

/// Set where a shop stands with its NIB
///
/// The cooperatives office records that it is helping a shop get its NIB (`in_progress`) or has
/// checked it (`checked`, with the NIB's number unless one is on file). Until it is `checked`
/// the shop's listings are hidden from browsing and checkout refuses them (409
/// `nib_not_checked`). Audited.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = NibRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant with its NIB status", body = MerchantResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another merchant has this NIB (`nib_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status (`invalid_nib_status`), a malformed NIB, or `checked` without one", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/merchants/{id}/nib")]
async fn set_merchant_nib(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<NibRequest>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let mut v = Validation::new();
    let status = [NIB_NONE, NIB_IN_PROGRESS, NIB_CHECKED]
        .into_iter()
        .find(|s| *s == body.status.trim());
    v.require(
        status.is_some(),
        "status",
        "invalid_nib_status",
        "status must be none, in_progress or checked",
    );
    let nib = v.check_opt(
        "nib",
        body.nib
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(Nib::parse),
    );
    v.finish()?;
    let status = status.unwrap_or(NIB_NONE);
    let updated = naik_kelas::set_nib(&state, &auth, &id, status, nib).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CredentialsRequest {
    /// Halal certificate number; absent or empty clears it.
    pub halal_number: Option<String>,
    /// PIRT (home-industry food) licence number.
    pub pirt_number: Option<String>,
    pub trademark_name: Option<String>,
    /// The trademark's registration number.
    pub trademark_number: Option<String>,
    /// Founding-capital band (PP 7/2021, land and buildings excluded): `mikro` (≤ Rp1 billion),
    /// `kecil` (≤ Rp5 billion) or `menengah` (≤ Rp10 billion).
    pub capital_band: Option<String>,
}

fn optional_text(v: &mut Validation, field: &str, value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| check_text(v, field, t, 120))
}

/// Set a shop's halal, PIRT, trademark and capital band (naik kelas)
///
/// The whole set is replaced: an absent field is cleared. For the shop's owner and the
/// cooperatives office; another shop is 404. Audited.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = CredentialsRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant", body = MerchantResponse),
        (status = 404, description = "No such merchant, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too long, or an unknown capital band (`invalid_capital_band`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/merchants/{id}/credentials")]
async fn set_merchant_credentials(
    state: web::Data<AppState>,
    auth: Auth<MerchantOwnerOrAdmin>,
    id: web::Path<String>,
    body: web::Json<CredentialsRequest>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let found = merchants::find(&state.db, &id)
        .await?
        .filter(|m| {
            auth.caller.role == Role::Admin
                || (auth.caller.is_merchant_of(&m.id) && auth.caller.user_id == m.owner_user_id)
        })
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let mut v = Validation::new();
    let halal_number = optional_text(&mut v, "halal_number", body.halal_number.as_deref());
    let pirt_number = optional_text(&mut v, "pirt_number", body.pirt_number.as_deref());
    let trademark_name = optional_text(&mut v, "trademark_name", body.trademark_name.as_deref());
    let trademark_number =
        optional_text(&mut v, "trademark_number", body.trademark_number.as_deref());
    let capital_band = body
        .capital_band
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    v.require(
        capital_band
            .as_deref()
            .is_none_or(|b| ["mikro", "kecil", "menengah"].contains(&b)),
        "capital_band",
        "invalid_capital_band",
        "capital_band must be mikro, kecil or menengah",
    );
    v.finish()?;
    let updated = naik_kelas::set_credentials(
        &state,
        &auth,
        &found.id,
        Credentials {
            halal_number,
            pirt_number,
            trademark_name,
            trademark_number,
            capital_band,
        },
    )
    .await?;
    let access = Access::of(Some(&auth.caller), &updated);
    Ok(web::Json(MerchantResponse::new(&state, updated, access)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MentoringRequest {
    /// The WIB date it was given, `YYYY-MM-DD`.
    pub held_on: String,
    /// Who gave it (a person or a programme), up to 120 characters.
    pub mentor: String,
    /// What it was about, up to 500 characters.
    pub topic: String,
}

/// One session of mentoring a shop received.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MentoringResponse {
    pub id: String,
    pub merchant_id: String,
    pub held_on: NaiveDate,
    pub mentor: String,
    pub topic: String,
}

impl From<Mentoring> for MentoringResponse {
    fn from(m: Mentoring) -> Self {
        Self {
            id: m.id,
            merchant_id: m.merchant_id,
            held_on: m.held_on,
            mentor: m.mentor,
            topic: m.topic,
        }
    }
}

/// Record mentoring a shop received (naik kelas)
///
/// By the cooperatives office. Audited.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = MentoringRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 201, description = "Recorded", body = MentoringResponse),
        (status = 404, description = "No such merchant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed date, an empty or too long mentor or topic", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/merchants/{id}/mentoring")]
async fn add_merchant_mentoring(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    id: web::Path<String>,
    body: web::Json<MentoringRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let held_on = v.check("held_on", parse_date(body.held_on.trim()));
    let mentor = check_text(&mut v, "mentor", &body.mentor, 120);
    let topic = check_text(&mut v, "topic", &body.topic, 500);
    let (held_on, mentor, topic) = v.finish_with((held_on, mentor, topic))?;
    let entry = naik_kelas::add_mentoring(&state, &auth, &id, held_on, mentor, topic).await?;
    Ok(HttpResponse::Created().json(MentoringResponse::from(entry)))
}

/// The mentoring a shop received, oldest first
///
/// For the shop's people, the cooperatives office, and the camat of the shop's kecamatan;
/// another shop is 404.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The sessions", body = Vec<MentoringResponse>),
        (status = 404, description = "No such merchant, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/mentoring")]
async fn list_merchant_mentoring(
    state: web::Data<AppState>,
    auth: Auth<MentoringReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<MentoringResponse>>> {
    let found = merchants::find(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    let visible = match auth.caller.role {
        Role::Admin => true,
        Role::Camat => {
            peken_identity::people::camat_kecamatan(&state.db, &auth.caller.user_id)
                .await?
                .as_deref()
                == Some(found.kecamatan_code.as_str())
        }
        _ => auth.caller.is_merchant_of(&found.id),
    };
    if !visible {
        return Err(ApiError::not_found("merchant"));
    }
    Ok(web::Json(
        naik_kelas::mentoring(&state.db, &found.id)
            .await?
            .into_iter()
            .map(MentoringResponse::from)
            .collect(),
    ))
}
