//! Registration, the merchant profile, staff users and bank details.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use peken_kernel::auth::{Auth, MaybeAuth, MerchantOnly};
use peken_kernel::error::{
    Problem, Validation, check_email, check_password, check_phone, check_text,
};
use peken_kernel::ids::{Nib, Nik, Npwp, mask_nik_str};
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::listings::MerchantOrAdmin;
use crate::media::{self, ImageUrls};
use crate::service::BankAccount;
use crate::service::merchants::{self, Access, NewMerchant, NewPerson, ProfileChange};
use crate::store::merchant;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(get_merchant)
        .service(patch_profile)
        .service(add_staff)
        .service(list_staff)
        .service(remove_staff)
        .service(set_bank_account);
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct BankAccountBody {
    /// The bank's 3-digit clearing code, e.g. `014` (BCA), `008` (Mandiri), `114` (Bank Jatim).
    pub bank_code: String,
    /// 5 to 20 digits.
    pub account_number: String,
    /// The name on the account, as the bank has it.
    pub account_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PersonBody {
    pub name: String,
    /// Used to log in.
    pub email: String,
    pub phone: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterMerchantRequest {
    /// The shop's name, e.g. `Toko Berkah Jaya`.
    pub name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    /// 13-digit NIB from OSS; one merchant per NIB. A shop still getting its NIB registers
    /// without it (its `nib_status` is `none`) and cannot sell until the cooperatives office
    /// has checked one.
    #[serde(default)]
    pub nib: Option<String>,
    /// The owner's 16-digit NIK; stored, and shown only masked.
    pub owner_nik: String,
    /// 16-digit NPWP (15-digit old form accepted and normalised).
    pub npwp: Option<String>,
    /// The owner belongs to a low-income household (MBR).
    #[serde(default)]
    pub mbr: bool,
    /// Official kelurahan code of the shop, e.g. `35.78.05.1001`.
    pub kelurahan_code: String,
    pub address: String,
    pub bank: BankAccountBody,
    /// The owner's user account.
    pub owner: PersonBody,
}

/// A merchant as the caller may see it: everyone sees the public profile; the merchant's staff
/// also its registration fields; its owner, admins and treasury also its tax and bank details.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MerchantResponse {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// `pending`, `active`, `rejected` or `suspended`.
    pub status: String,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nib: Option<String>,
    /// `none`, `in_progress` or `checked`: only a shop whose NIB the cooperatives office
    /// checked sells (naik kelas).
    pub nib_status: String,
    /// Halal certificate number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halal_number: Option<String>,
    /// PIRT (home-industry food) licence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pirt_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trademark_name: Option<String>,
    /// The trademark's registration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trademark_number: Option<String>,
    /// Founding-capital band (PP 7/2021): `mikro` (≤ Rp1 billion), `kecil` (≤ Rp5 billion) or
    /// `menengah` (≤ Rp10 billion). The shop's own people, admins and treasury only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capital_band: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbr: Option<bool>,
    /// The owner's NIK with its middle digits hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_nik_masked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npwp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankAccountBody>,
    /// After a change of bank account: payout batches leave the merchant out until then,
    /// unless an admin confirms the account sooner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_account_hold_until: Option<DateTime<Utc>>,
    /// The shop's photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<ImageUrls>,
    /// The shop's phone for buyers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the shop is open, by weekday; absent when the shop has not said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<Vec<OpeningHours>>,
    /// Buyers may collect their orders at the shop.
    pub pickup: bool,
    /// The shop delivers within this radius, for this fee; absent when it does not deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    pub created_at: DateTime<Utc>,
}

/// The shop's opening hours as kept (JSON), when it has said.
pub(super) fn opening_hours_of(m: &merchant::Model) -> Option<Vec<OpeningHours>> {
    m.opening_hours
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
}

/// The shop's delivery, when it delivers.
pub(super) fn delivery_of(m: &merchant::Model) -> Option<Delivery> {
    m.delivery_radius_m
        .zip(m.delivery_fee)
        .map(|(radius_m, fee)| Delivery { radius_m, fee })
}

/// A shop's hours on one weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// 1 = Monday … 7 = Sunday.
    pub day: u8,
    /// `HH:MM`, WIB.
    pub opens: String,
    /// `HH:MM`, WIB, after `opens`.
    pub closes: String,
}

/// Delivery by the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Metres from the shop, 100 to 50,000.
    pub radius_m: i32,
    /// Fee per order in whole rupiah, 0 to 1,000,000.
    pub fee: i64,
}

impl MerchantResponse {
    pub fn new(state: &AppState, m: merchant::Model, access: Access) -> Self {
        let staff = access >= Access::Staff;
        let full = access == Access::Full;
        Self {
            photo: m
                .photo
                .as_deref()
                .and_then(|json| media::urls_of_json(state, json)),
            phone: m.phone.clone(),
            description: m.description.clone(),
            opening_hours: opening_hours_of(&m),
            pickup: m.pickup,
            delivery: delivery_of(&m),
            status_reason: m.status_reason.filter(|_| staff),
            verified_at: m.verified_at.filter(|_| staff),
            nib: m.nib.clone().filter(|_| staff),
            nib_status: m.nib_status.clone(),
            halal_number: m.halal_number.clone(),
            pirt_number: m.pirt_number.clone(),
            trademark_name: m.trademark_name.clone(),
            trademark_number: m.trademark_number.clone(),
            capital_band: m.capital_band.clone().filter(|_| staff),
            mbr: staff.then_some(m.mbr),
            owner_nik_masked: full.then(|| mask_nik_str(&m.owner_nik)),
            npwp: m.npwp.filter(|_| full),
            bank_account_hold_until: m.bank_account_hold_until.filter(|_| full),
            bank: full.then_some(BankAccountBody {
                bank_code: m.bank_code,
                account_number: m.account_number,
                account_name: m.account_name,
            }),
            id: m.id,
            name: m.name,
            kind: m.kind,
            status: m.status,
            kelurahan_code: m.kelurahan_code,
            kecamatan_code: m.kecamatan_code,
            address: m.address,
            created_at: m.created_at,
        }
    }
}

fn check_kind(v: &mut Validation, kind: &str) -> Option<String> {
    let kind = kind.trim();
    let ok = peken_catalog::service::MERCHANT_KINDS.contains(&kind);
    v.require(
        ok,
        "kind",
        "unknown_merchant_kind",
        "one of toko_kelontong, umkm, koperasi, padat_karya",
    );
    ok.then(|| kind.to_owned())
}

/// Checks bank details: a 3-digit bank code, a 5-to-20-digit account number, a holder name.
pub fn check_bank(v: &mut Validation, prefix: &str, bank: &BankAccountBody) -> Option<BankAccount> {
    let digits = |s: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let code = bank.bank_code.trim();
    v.require(
        digits(code, 3..=3),
        &format!("{prefix}bank_code"),
        "invalid_bank_code",
        "a bank code has 3 digits",
    );
    let number: String = bank
        .account_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.'))
        .collect();
    v.require(
        digits(&number, 5..=20),
        &format!("{prefix}account_number"),
        "invalid_account_number",
        "an account number has 5 to 20 digits",
    );
    let name = check_text(v, &format!("{prefix}account_name"), &bank.account_name, 100);
    (digits(code, 3..=3) && digits(&number, 5..=20)).then_some(())?;
    Some(BankAccount {
        bank_code: code.to_owned(),
        account_number: number,
        account_name: name?,
    })
}

fn check_person(v: &mut Validation, prefix: &str, p: &PersonBody) -> Option<NewPerson> {
    let name = check_text(v, &format!("{prefix}name"), &p.name, 120);
    let email = check_email(v, &format!("{prefix}email"), &p.email);
    let phone = check_phone(v, &format!("{prefix}phone"), &p.phone);
    let password = check_password(v, &format!("{prefix}password"), &p.password);
    Some(NewPerson {
        name: name?,
        email: email?,
        phone: phone?,
        password: password?,
    })
}

/// Register a merchant and its owner's account. The merchant is `pending` until an admin
/// approves it; the owner can log in at once with the e-mail and password.
#[utoipa::path(
    tag = "merchants",
    operation_id = "register_merchant",
    request_body = RegisterMerchantRequest,
    responses(
        (status = 201, description = "Registered, pending verification", body = MerchantResponse,
            headers(("Location" = String, description = "The merchant: `/api/v1/merchants/{id}`"))),
        (status = 409, description = "NIB or e-mail already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address or from everyone (PEKEN_REGISTRATION_IP_PER_MINUTE, PEKEN_REGISTRATION_PER_MINUTE)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants")]
async fn register(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Json<RegisterMerchantRequest>,
) -> ApiResult<HttpResponse> {
    peken_identity::service::limit_registration(&state, &peken_kernel::net::client_address(&req))
        .await?;
    let mut v = Validation::new();
    let name = check_text(&mut v, "name", &body.name, 120);
    let kind = check_kind(&mut v, &body.kind);
    let nib = v.check_opt(
        "nib",
        body.nib
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(Nib::parse),
    );
    let owner_nik = v.check("owner_nik", Nik::parse(&body.owner_nik));
    let npwp = v.check_opt(
        "npwp",
        body.npwp
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(Npwp::parse),
    );
    let kelurahan = state.regions.kelurahan(body.kelurahan_code.trim());
    v.require(
        kelurahan.is_some(),
        "kelurahan_code",
        "unknown_region",
        "not an official kelurahan code",
    );
    let address = check_text(&mut v, "address", &body.address, 300);
    let bank = check_bank(&mut v, "bank.", &body.bank);
    let owner = check_person(&mut v, "owner.", &body.owner);
    let (name, kind, owner_nik, kelurahan, address, bank, owner) =
        v.finish_with((name, kind, owner_nik, kelurahan, address, bank, owner))?;
    let created = merchants::register(
        &state,
        NewMerchant {
            name,
            kind,
            nib,
            owner_nik,
            npwp,
            mbr: body.mbr,
            kelurahan,
            address,
            bank,
            owner,
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/merchants/{}", created.id)))
        .json(MerchantResponse::new(&state, created, Access::Full)))
}

/// A merchant's profile. Everyone sees active merchants' public profile; the merchant's own
/// people, admins and treasury see more (the owner's NIK always masked).
#[utoipa::path(
    tag = "merchants",
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant", body = MerchantResponse),
        (status = 404, description = "No such merchant (or not visible to the caller)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}")]
async fn get_merchant(
    state: web::Data<AppState>,
    auth: MaybeAuth,
    id: web::Path<String>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let (found, access) = merchants::profile(&state, auth.0.as_ref(), &id).await?;
    Ok(web::Json(MerchantResponse::new(&state, found, access)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProfileRequest {
    /// 9 to 15 digits; `null` removes it.
    #[serde(default, deserialize_with = "peken_catalog::input::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Value>,
    /// Up to 500 characters; `null` removes it.
    #[serde(default, deserialize_with = "peken_catalog::input::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Value>,
    /// Up to 14 entries, weekdays 1 (Monday) to 7; `null` removes them.
    #[serde(default, deserialize_with = "peken_catalog::input::present")]
    #[schema(value_type = Option<Vec<OpeningHours>>)]
    pub opening_hours: Option<Value>,
    pub pickup: Option<bool>,
    /// `null`: the shop does not deliver.
    #[serde(default, deserialize_with = "peken_catalog::input::present")]
    #[schema(value_type = Option<Delivery>)]
    pub delivery: Option<Value>,
}

/// `HH:MM` as minutes of the day.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn check_hours(v: &mut Validation, value: &Value) -> Option<Vec<OpeningHours>> {
    let Ok(hours) = serde_json::from_value::<Vec<OpeningHours>>(value.clone()) else {
        v.push(
            "opening_hours",
            "invalid_hours",
            "a list of {day, opens, closes}".to_owned(),
        );
        return None;
    };
    let valid = hours.len() <= 14
        && hours.iter().all(|h| {
            (1..=7).contains(&h.day)
                && matches!((minutes(&h.opens), minutes(&h.closes)), (Some(o), Some(c)) if o < c)
        });
    if valid {
        Some(hours)
    } else {
        v.push(
            "opening_hours",
            "invalid_hours",
            "at most 14 entries; day 1 to 7; opens before closes, both HH:MM".to_owned(),
        );
        None
    }
}

fn check_delivery(v: &mut Validation, value: &Value) -> Option<Delivery> {
    match serde_json::from_value::<Delivery>(value.clone()) {
        Ok(d) if (100..=50_000).contains(&d.radius_m) && (0..=1_000_000).contains(&d.fee) => {
            Some(d)
        }
        _ => {
            v.push(
                "delivery",
                "invalid_delivery",
                "radius_m from 100 to 50,000 and a fee from 0 to 1,000,000".to_owned(),
            );
            None
        }
    }
}

/// Change the shop's profile for buyers: phone, description, opening hours, pickup and
/// delivery (owner only).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = PatchProfileRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant", body = MerchantResponse),
        (status = 403, description = "Not the owner (`owner_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/merchants/{id}")]
async fn patch_profile(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    body: web::Json<PatchProfileRequest>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let mut v = Validation::new();
    let mut change = ProfileChange {
        pickup: body.pickup,
        ..ProfileChange::default()
    };
    match &body.phone {
        None => {}
        Some(Value::Null) => change.phone = Some(None),
        Some(Value::String(p)) => change.phone = check_phone(&mut v, "phone", p).map(Some),
        Some(_) => v.push("phone", "invalid_type", "a string or null".to_owned()),
    }
    match &body.description {
        None => {}
        Some(Value::Null) => change.description = Some(None),
        Some(Value::String(d)) => {
            change.description = check_text(&mut v, "description", d, 500).map(Some);
        }
        Some(_) => v.push("description", "invalid_type", "a string or null".to_owned()),
    }
    match &body.opening_hours {
        None => {}
        Some(Value::Null) => change.opening_hours = Some(None),
        Some(hours) => {
            change.opening_hours =
                check_hours(&mut v, hours).map(|h| serde_json::to_string(&h).ok());
        }
    }
    match &body.delivery {
        None => {}
        Some(Value::Null) => change.delivery = Some(None),
        Some(d) => {
            change.delivery = check_delivery(&mut v, d).map(|d| Some((d.radius_m, d.fee)));
        }
    }
    v.finish()?;
    let updated = merchants::change_profile(&state, &auth, &id, change).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffResponse {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub merchant_id: String,
    /// Always `staff`.
    pub merchant_role: String,
}

/// Add a staff user (owner only). Staff manage listings, stock and orders, but not the bank
/// account.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = PersonBody,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 201, description = "Created", body = StaffResponse),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/staff")]
async fn add_staff(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    body: web::Json<PersonBody>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let person = check_person(&mut v, "", &body);
    v.finish()?;
    let person = person.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated")))?;
    let created = merchants::add_staff(&state, &auth, &id, person).await?;
    Ok(HttpResponse::Created().json(StaffResponse {
        id: created.id,
        name: created.name,
        email: created.email,
        merchant_id: created.merchant_id.unwrap_or_default(),
        merchant_role: created.merchant_role.unwrap_or_default(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `owner` or `staff`.
    pub merchant_role: String,
    /// False once removed: the account can no longer log in.
    pub active: bool,
}

/// The people who work for the merchant, owner first (owner and admin only).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "Owner and staff, removed staff included", body = [StaffMember]),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/staff")]
async fn list_staff(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<StaffMember>>> {
    let people = merchants::list_staff(&state, &auth, &id).await?;
    Ok(web::Json(
        people
            .into_iter()
            .map(|u| StaffMember {
                id: u.id,
                name: u.name,
                email: u.email,
                phone: u.phone,
                merchant_role: u.merchant_role.unwrap_or_default(),
                active: u.active,
            })
            .collect(),
    ))
}

/// Remove a staff member (owner only): the account is deactivated and its sessions end at once;
/// what they did stays recorded. Removing someone already removed changes nothing.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("user_id" = String, Path, description = "The staff member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant or staff member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner cannot be removed (owner_not_removable)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/merchants/{id}/staff/{user_id}")]
async fn remove_staff(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    merchants::remove_staff(&state, &auth, &id, &user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the bank account payouts go to (owner only).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = BankAccountBody,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 200, description = "The merchant with its new bank account", body = MerchantResponse),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/merchants/{id}/bank-account")]
async fn set_bank_account(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    body: web::Json<BankAccountBody>,
) -> ApiResult<web::Json<MerchantResponse>> {
    let mut v = Validation::new();
    let bank = check_bank(&mut v, "", &body);
    v.finish()?;
    let bank = bank.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated")))?;
    let updated = merchants::set_bank_account(&state, &auth, &id, bank).await?;
    Ok(web::Json(MerchantResponse::new(
        &state,
        updated,
        Access::Full,
    )))
}
