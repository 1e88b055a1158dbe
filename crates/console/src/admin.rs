//! The cooperatives office (admins): the merchant verification queue.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::AdminOnly;
use peken_kernel::{AppState, Validation};
use peken_merchant::http::{MerchantResponse, check_reason};
use peken_merchant::service::merchants::{self, Access, PENDING};
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/merchants", web::get().to(queue))
        .route("/admin/merchants/{id}/verification", web::post().to(verify));
}

const QUEUE: &str = "/console/admin/merchants";

/// An applicant as the office reads it before checking the papers in person.
struct Applicant {
    id: String,
    name: String,
    kind: String,
    nib: String,
    owner_nik_masked: String,
    region: String,
    address: String,
    registered: String,
    /// The shop's photo as uploaded: (thumbnail, largest size).
    photo: Option<(String, String)>,
    /// The licences and numbers the applicant gave, `(label, value)`, only those given.
    papers: Vec<(&'static str, String)>,
}

impl From<MerchantResponse> for Applicant {
    fn from(m: MerchantResponse) -> Self {
        Applicant {
            region: format!("{} / {}", m.kecamatan_code, m.kelurahan_code),
            id: m.id,
            name: m.name,
            kind: m.kind,
            nib: m.nib.unwrap_or_default(),
            owner_nik_masked: m.owner_nik_masked.unwrap_or_default(),
            address: m.address,
            registered: wib(m.created_at),
            photo: m.photo.map(|p| (p.thumbnail_url, p.url)),
            papers: [
                ("NPWP", m.npwp),
                ("Sertifikat halal", m.halal_number),
                ("Izin PIRT", m.pirt_number),
                ("Merek", m.trademark_name),
                ("Nomor merek", m.trademark_number),
                ("Modal usaha", m.capital_band),
            ]
            .into_iter()
            .filter_map(|(label, value)| Some((label, value?)))
            .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "merchants.html")]
struct Queue {
    frame: Frame,
    applicants: Vec<Applicant>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

async fn queue(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            let found = merchants::list(&state, Some(PENDING), None, 200).await?;
            page::ok_with_media(
                &state.settings,
                &Queue {
                    frame: Frame::of(&session.caller, &session.csrf, QUEUE),
                    applicants: found
                        .items
                        .into_iter()
                        .map(|m| MerchantResponse::new(&state, m, Access::Full).into())
                        .collect(),
                    message: match query.pesan.as_deref() {
                        Some("disetujui") => Some("Toko diverifikasi dan kini aktif."),
                        Some("ditolak") => {
                            Some("Pendaftaran toko ditolak; alasannya dikirim ke toko.")
                        }
                        _ => None,
                    },
                },
            )
        }
        .await,
    )
}

#[derive(Deserialize)]
struct VerificationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Approve or reject a registration with the API's own checks (a rejection needs a reason).
async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<VerificationForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            let approve = form.decision == "approve";
            let mut v = Validation::new();
            v.require(
                approve || form.decision == "reject",
                "decision",
                "invalid_decision",
                "approve or reject",
            );
            let reason = check_reason(&mut v, Some(form.reason.as_str()), !approve);
            v.finish()?;
            merchants::verify(&state, &session.caller, &id, approve, reason).await?;
            let word = if approve { "disetujui" } else { "ditolak" };
            Ok(page::see_other(&format!("{QUEUE}?pesan={word}")))
        }
        .await,
    )
}
