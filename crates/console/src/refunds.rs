//! Refunds owed to buyers: the list by status, and a refund paid by hand (outside a refund
//! batch): one treasurer records the bank's reference, another approves it.

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::error::check_text;
use peken_kernel::pagination::PageParams;
use peken_kernel::{ApiError, AppState, Validation};
use peken_order::refunds;
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/refunds", web::get().to(list))
        .route("/treasury/refunds/{id}/payment", web::post().to(propose))
        .route(
            "/treasury/refunds/{id}/payment/approval",
            web::post().to(approve),
        )
        .route(
            "/treasury/refunds/{id}/payment/rejection",
            web::post().to(reject),
        );
}

const PAGE: &str = "/console/treasury/refunds";

fn status_label(status: &str) -> &'static str {
    match status {
        "due" => "Harus dibayar",
        "batched" => "Dalam batch",
        "in_transit" => "Dalam perjalanan",
        "payment_proposed" => "Pembayaran menunggu persetujuan",
        "paid" => "Dibayar",
        _ => "Lainnya",
    }
}

struct Row {
    id: String,
    amount: String,
    reason: String,
    status: String,
    status_label: &'static str,
    created: String,
    reference: String,
    proposed_by_me: bool,
}

#[derive(Template)]
#[template(path = "refunds.html")]
struct Refunds {
    frame: Frame,
    status: String,
    rows: Vec<Row>,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Query {
    status: Option<String>,
    pesan: Option<String>,
}

async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Query>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let status = query.status.as_deref().unwrap_or("due");
            if !refunds::STATUSES.contains(&status) {
                return Err(ApiError::field(
                    "status",
                    "invalid_status",
                    "due, batched, in_transit, payment_proposed or paid",
                )
                .into());
            }
            let found = refunds::list(
                &state,
                Some(status),
                &PageParams {
                    limit: Some(200),
                    cursor: None,
                },
            )
            .await?;
            let me = &session.caller.user_id;
            page::ok(&Refunds {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                status: status.to_owned(),
                rows: found
                    .items
                    .into_iter()
                    .map(|r| Row {
                        proposed_by_me: r.proposed_by.as_ref() == Some(me),
                        amount: r.amount.format_idr(),
                        reason: r.reason,
                        status_label: status_label(&r.status),
                        status: r.status,
                        created: wib(r.created_at),
                        reference: r.payment_reference.unwrap_or_default(),
                        id: r.id,
                    })
                    .collect(),
                message: match query.pesan.as_deref() {
                    Some("diusulkan") => {
                        Some("Pembayaran dicatat. Bendahara lain harus menyetujuinya.")
                    }
                    Some("disetujui") => Some("Pembayaran refund disetujui."),
                    Some("ditolak") => {
                        Some("Pembayaran refund ditolak; refund kembali harus dibayar.")
                    }
                    _ => None,
                },
            })
        }
        .await,
    )
}

#[derive(Deserialize)]
struct PaymentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reference: String,
}

async fn propose(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<PaymentForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let reference = refunds::check_reference(&form.reference)?;
            refunds::propose_payment(&state, &id, reference, &session.caller).await?;
            Ok(page::see_other(&format!(
                "{PAGE}?status=payment_proposed&pesan=diusulkan"
            )))
        }
        .await,
    )
}

/// Approval by a treasurer other than the one who recorded the payment.
async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            refunds::approve_payment(&state, &id, &session.caller).await?;
            Ok(page::see_other(&format!(
                "{PAGE}?status=paid&pesan=disetujui"
            )))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct RejectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<RejectionForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let mut v = Validation::new();
            let reason = check_text(&mut v, "reason", &form.reason, 500);
            v.finish()?;
            let reason = reason.unwrap_or_default();
            refunds::reject_payment(&state, &id, &reason, &session.caller).await?;
            Ok(page::see_other(&format!("{PAGE}?status=due&pesan=ditolak")))
        }
        .await,
    )
}
