//! The cooperatives office's settings and mail: the ASN mandate's minimums per position class,
//! and the outbox of outgoing mail with a retry for failed messages.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::AdminOnly;
use peken_kernel::{ApiError, AppState};
use peken_mail::http::OutboxMessage;
use peken_order::mandate;
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib, wib_opt};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/mandate-policies", web::get().to(policies))
        .route("/admin/mandate-policies", web::post().to(set_policy))
        .route("/admin/outbox", web::get().to(outbox))
        .route("/admin/outbox/{id}/retry", web::post().to(retry));
}

const POLICIES: &str = "/console/admin/mandate-policies";
const OUTBOX: &str = "/console/admin/outbox";

struct PolicyRow {
    class: String,
    minimum: String,
    from: String,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    frame: Frame,
    policies: Vec<PolicyRow>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
    status: Option<String>,
}

async fn policies(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            let found = mandate::list_policies(&state.db).await?;
            page::ok(&PoliciesPage {
                frame: Frame::of(&session.caller, &session.csrf, POLICIES),
                policies: found
                    .into_iter()
                    .map(|p| PolicyRow {
                        class: p.position_class,
                        minimum: p.min_amount.format_idr(),
                        from: p.effective_from.to_string(),
                    })
                    .collect(),
                message: (query.pesan.as_deref() == Some("disimpan"))
                    .then_some("Batas minimum disimpan."),
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    position_class: String,
    #[serde(default)]
    min_amount: String,
    #[serde(default)]
    effective_from: String,
}

/// Sets a minimum with the API's checks (`mandate::policy_from`); the amount is typed as whole
/// rupiah, dots as thousands separators allowed.
async fn set_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<PolicyForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            let typed: String = form
                .min_amount
                .trim()
                .trim_start_matches("Rp")
                .chars()
                .filter(|c| *c != '.')
                .collect();
            let amount = typed.parse::<i64>().map_err(|_| {
                ApiError::field(
                    "min_amount",
                    "invalid_amount",
                    "a whole number of rupiah, zero or more",
                )
            })?;
            let policy =
                mandate::policy_from(&form.position_class, amount, form.effective_from.trim())?;
            mandate::set_policy(&state, &policy, &session.caller).await?;
            Ok(page::see_other(&format!("{POLICIES}?pesan=disimpan")))
        }
        .await,
    )
}

struct MailRow {
    id: String,
    template: String,
    to: String,
    subject: String,
    attempts: i32,
    created: String,
    sent: String,
    error: String,
    failed: bool,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct Outbox {
    frame: Frame,
    status: &'static str,
    mails: Vec<MailRow>,
    message: Option<&'static str>,
}

/// The newest messages of one status (pending by default).
async fn outbox(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<AdminOnly>(&state, &req).await?;
            let status = match query.status.as_deref() {
                None | Some("" | "pending") => peken_mail::outbox::PENDING,
                Some("sent") => peken_mail::outbox::SENT,
                Some("failed") => peken_mail::outbox::FAILED,
                Some(_) => {
                    return Err(ApiError::field(
                        "status",
                        "unknown_status",
                        "one of pending, sent, failed",
                    )
                    .into());
                }
            };
            let rows = peken_mail::service::list(&state, status, None, 100).await?;
            page::ok(&Outbox {
                frame: Frame::of(&session.caller, &session.csrf, OUTBOX),
                status,
                mails: rows
                    .into_iter()
                    .map(OutboxMessage::from)
                    .map(|m| MailRow {
                        failed: m.status == peken_mail::outbox::FAILED,
                        id: m.id,
                        template: m.template,
                        to: m.to,
                        subject: m.subject,
                        attempts: m.attempts,
                        created: wib(m.created_at),
                        sent: wib_opt(m.sent_at),
                        error: m.last_error.unwrap_or_default(),
                    })
                    .collect(),
                message: (query.pesan.as_deref() == Some("diulang"))
                    .then_some("Pesan dijadwalkan untuk dikirim lagi sekarang."),
            })
        }
        .await,
    )
}

async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<AdminOnly>(&state, &req, &form.csrf).await?;
            peken_mail::service::retry(&state, &session.caller, &id).await?;
            Ok(page::see_other(&format!(
                "{OUTBOX}?status=pending&pesan=diulang"
            )))
        }
        .await,
    )
}
