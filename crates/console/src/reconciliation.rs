//! Treasury's reconciliation exceptions: statement lines nothing explains, payouts too long in
//! transit, money no statement confirms, and manual matches of a debit line to a payout item,
//! proposed by one treasurer and approved by another.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use peken_kernel::auth::TreasuryOnly;
use peken_kernel::export::ExportParams;
use peken_kernel::pagination::MAX_LIMIT;
use peken_kernel::{ApiError, AppState};
use peken_payout::reconcile;
use serde::Deserialize;

use crate::page::{self, Frame, Page, wib};
use crate::session::{CsrfForm, posted, signed_in};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/treasury/exceptions", web::get().to(list))
        .route("/treasury/exceptions/export", web::get().to(export))
        .route("/treasury/exceptions/matches", web::post().to(propose))
        .route(
            "/treasury/exceptions/matches/{id}/approval",
            web::post().to(approve),
        )
        .route(
            "/treasury/exceptions/matches/{id}/rejection",
            web::post().to(reject),
        )
        .route(
            "/treasury/exceptions/credit-matches",
            web::post().to(propose_credit),
        )
        .route(
            "/treasury/exceptions/credit-matches/{id}/approval",
            web::post().to(approve_credit),
        )
        .route(
            "/treasury/exceptions/credit-matches/{id}/rejection",
            web::post().to(reject_credit),
        );
}

const PAGE: &str = "/console/treasury/exceptions";

struct Line {
    id: String,
    value_date: String,
    direction: &'static str,
    is_debit: bool,
    amount: String,
    description: String,
    /// What it may be matched to: payout items in transit (a debit) or bills (a credit) of the
    /// same amount, as `(id, label)`.
    choices: Vec<(String, String)>,
}

/// How many choices a line's picker offers.
const CHOICES: u64 = 20;

fn bill_status(status: &str) -> &'static str {
    match status {
        "pending" => "menunggu bayar",
        "paid" => "dibayar",
        "expired" => "kedaluwarsa",
        "cancelled" => "dibatalkan",
        _ => "lainnya",
    }
}

/// The choices of each unmatched line, asked once per direction and amount.
async fn choices(
    state: &AppState,
    lines: &[reconcile::LineView],
) -> Result<HashMap<(bool, i64), Vec<(String, String)>>, ApiError> {
    let mut out: HashMap<(bool, i64), Vec<(String, String)>> = HashMap::new();
    for l in lines {
        let key = (l.direction == "debit", l.amount.get());
        if out.contains_key(&key) {
            continue;
        }
        let found = if key.0 {
            let items = reconcile::payout_candidates(&state.db, l.amount, CHOICES).await?;
            let mut ids: Vec<String> = items.iter().map(|i| i.merchant_id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            let names: HashMap<String, String> = peken_merchant::facts::facts(&state.db, &ids)
                .await?
                .into_iter()
                .map(|(id, f)| (id, f.name))
                .collect();
            items
                .into_iter()
                .map(|i| {
                    let shop = names.get(&i.merchant_id).map_or("?", String::as_str);
                    let label = format!(
                        "{} · {} · {} · disetujui {}",
                        i.reference,
                        shop,
                        i.amount.format_idr(),
                        crate::page::wib_opt(i.approved_at)
                    );
                    (i.id, label)
                })
                .collect()
        } else {
            peken_order::credit::bill_candidates(&state.db, key.1, CHOICES)
                .await?
                .into_iter()
                .map(|b| {
                    let label = format!(
                        "{} · {}{} · {} · dibuat {}",
                        b.payment_id,
                        b.method,
                        b.va_number.map(|va| format!(" {va}")).unwrap_or_default(),
                        bill_status(&b.status),
                        wib(b.created_at)
                    );
                    (b.payment_id, label)
                })
                .collect()
        };
        out.insert(key, found);
    }
    Ok(out)
}

struct Overdue {
    reference: String,
    amount: String,
    approved_at: String,
    days: i64,
}

struct Proposal {
    id: String,
    line_id: String,
    /// The payout item (a debit's match) or the bill's payment (a credit's).
    item_id: String,
    note: String,
    proposed_at: String,
    mine: bool,
}

struct Unconfirmed {
    payment_id: String,
    source: String,
    amount: String,
    paid_at: String,
    days: i64,
}

#[derive(Template)]
#[template(path = "exceptions.html")]
struct Exceptions {
    frame: Frame,
    lines: Vec<Line>,
    overdue: Vec<Overdue>,
    proposals: Vec<Proposal>,
    credit_proposals: Vec<Proposal>,
    unconfirmed: Vec<Unconfirmed>,
    truncated: bool,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<Notice>) -> Page {
    Page(
        async {
            let session = signed_in::<TreasuryOnly>(&state, &req).await?;
            let found = reconcile::exceptions(
                &state.db,
                &state.calendar,
                None,
                u64::from(MAX_LIMIT),
                state.settings.receipt_unconfirmed_working_days,
                state.now(),
            )
            .await?;
            let me = &session.caller.user_id;
            let choices = choices(&state, &found.unmatched_lines).await?;
            page::ok(&Exceptions {
                frame: Frame::of(&session.caller, &session.csrf, PAGE),
                lines: found
                    .unmatched_lines
                    .into_iter()
                    .map(|l| Line {
                        choices: choices
                            .get(&(l.direction == "debit", l.amount.get()))
                            .cloned()
                            .unwrap_or_default(),
                        is_debit: l.direction == "debit",
                        direction: if l.direction == "debit" {
                            "Debit"
                        } else {
                            "Kredit"
                        },
                        id: l.id,
                        value_date: l.value_date,
                        amount: l.amount.format_idr(),
                        description: l.description,
                    })
                    .collect(),
                overdue: found
                    .overdue_items
                    .into_iter()
                    .map(|o| Overdue {
                        reference: o.item.reference,
                        amount: o.item.amount.format_idr(),
                        approved_at: crate::page::wib_opt(o.item.approved_at),
                        days: o.working_days_in_transit,
                    })
                    .collect(),
                proposals: found
                    .pending_matches
                    .into_iter()
                    .map(|p| Proposal {
                        mine: &p.proposed_by == me,
                        id: p.id,
                        line_id: p.statement_line_id,
                        item_id: p.payout_item_id,
                        note: p.note.unwrap_or_default(),
                        proposed_at: wib(p.proposed_at),
                    })
                    .collect(),
                credit_proposals: found
                    .pending_credit_matches
                    .into_iter()
                    .map(|p| Proposal {
                        mine: &p.proposed_by == me,
                        id: p.id,
                        line_id: p.statement_line_id,
                        item_id: p.payment_id,
                        note: p.note.unwrap_or_default(),
                        proposed_at: wib(p.proposed_at),
                    })
                    .collect(),
                unconfirmed: found
                    .unconfirmed_receipts
                    .into_iter()
                    .map(|u| Unconfirmed {
                        payment_id: u.payment_id,
                        source: u.source,
                        amount: u.amount.format_idr(),
                        paid_at: wib(u.paid_at),
                        days: u.working_days_unconfirmed,
                    })
                    .collect(),
                truncated: found.truncated,
                message: match query.pesan.as_deref() {
                    Some("diusulkan") => {
                        Some("Pencocokan diusulkan. Bendahara lain harus menyetujuinya.")
                    }
                    Some("disetujui") => Some("Pencocokan disetujui; item pembayaran lunas."),
                    Some("kredit-disetujui") => {
                        Some("Pencocokan disetujui; tagihan dibayar oleh baris kredit ini.")
                    }
                    Some("ditolak") => Some("Usulan pencocokan ditolak; tidak ada yang berubah."),
                    _ => None,
                },
            })
        }
        .await,
    )
}

/// The exceptions of the page (every direction) as the API's download: `format=csv` one table
/// with a `kind` column, `format=xlsx` one sheet per list.
async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ExportParams>,
) -> Page {
    Page(
        async {
            signed_in::<TreasuryOnly>(&state, &req).await?;
            let found = reconcile::exceptions(
                &state.db,
                &state.calendar,
                None,
                u64::from(MAX_LIMIT),
                state.settings.receipt_unconfirmed_working_days,
                state.now(),
            )
            .await?;
            let mut params = params.into_inner();
            if params.format.is_none() {
                params.format = Some(peken_kernel::export::Format::Csv);
            }
            Ok(reconcile::exceptions_download(
                &req,
                &params,
                &found,
                state.now(),
            )?)
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ProposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    statement_line_id: String,
    #[serde(default)]
    payout_item_id: String,
    #[serde(default)]
    note: String,
}

/// Proposes a manual match as the API does (`reconcile::propose`: same amount, the line
/// unmatched, the item in transit, no other proposal pending).
async fn propose(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ProposeForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let note = Some(form.note.trim())
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(500).collect());
            reconcile::propose(
                &state.db,
                form.statement_line_id.trim(),
                form.payout_item_id.trim(),
                note,
                &session.caller,
                state.now(),
            )
            .await?;
            Ok(page::see_other(&format!("{PAGE}?pesan=diusulkan")))
        }
        .await,
    )
}

/// Approval by a treasurer other than the proposer (`four_eyes_required` otherwise).
async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            reconcile::approve_match(&state.db, &id, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!("{PAGE}?pesan=disetujui")))
        }
        .await,
    )
}

async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            reconcile::reject_match(&state.db, &id, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!("{PAGE}?pesan=ditolak")))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CreditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    statement_line_id: String,
    #[serde(default)]
    payment_id: String,
    #[serde(default)]
    note: String,
}

/// Proposes that a credit line paid a bill (`reconcile::propose_credit`: same amount, the
/// line unmatched, no other proposal pending).
async fn propose_credit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CreditForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            let note = Some(form.note.trim())
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(500).collect());
            reconcile::propose_credit(
                &state.db,
                form.statement_line_id.trim(),
                form.payment_id.trim(),
                note,
                &session.caller,
                state.now(),
            )
            .await?;
            Ok(page::see_other(&format!("{PAGE}?pesan=diusulkan")))
        }
        .await,
    )
}

/// Approval by a treasurer other than the proposer; it has the automatic match's effect.
async fn approve_credit(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            reconcile::approve_credit_match(&state.db, &id, &session.caller, state.now(), None)
                .await?
                .done()?;
            Ok(page::see_other(&format!("{PAGE}?pesan=kredit-disetujui")))
        }
        .await,
    )
}

async fn reject_credit(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Page {
    Page(
        async {
            let session = posted::<TreasuryOnly>(&state, &req, &form.csrf).await?;
            reconcile::reject_credit_match(&state.db, &id, &session.caller, state.now()).await?;
            Ok(page::see_other(&format!("{PAGE}?pesan=ditolak")))
        }
        .await,
    )
}
