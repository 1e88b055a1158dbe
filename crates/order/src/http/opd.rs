//! OPD purchasing routes: `/opd/checkout`, `/opd/orders…`, `/opd/payments`, the withholding
//! slips and the tax office's table.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use peken_kernel::auth::Auth;
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::export::{self, ExportParams};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, http_cache, idempotency, role_set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::checkout::{CartItem, CheckoutRequest, FulfilmentRequest};
use crate::checkout::PaymentMethod;
use crate::opd::billing::OpdBill;
use crate::opd::withholding::WithholdingView;
use crate::opd::{self, BudgetLine, OpdOrderFilter, OpdOrderView};
use crate::status::OrderStatus;
use crate::views::OrderView;

role_set!(pub OpdStaffOnly = [OpdStaff]);
role_set!(pub OpdReaders = [OpdAdmin, OpdStaff]);
role_set!(pub SlipReaders = [Merchant, Admin, OpdAdmin, OpdStaff]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(opd_checkout)
        .service(list_opd_orders)
        .service(get_opd_order)
        .service(approve_opd_order)
        .service(reject_opd_order)
        .service(issue_opd_bill)
        .service(sign_opd_bast)
        .service(withholding_slip_pdf)
        .service(list_opd_withholdings);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpdCheckoutRequest {
    pub items: Vec<CartItem>,
    pub fulfilment: FulfilmentRequest,
    pub budget: BudgetLine,
}

/// Checks a budget line's codes and purpose.
fn check_budget(v: &mut Validation, budget: &BudgetLine) -> Option<BudgetLine> {
    let sub = budget.sub_kegiatan.trim();
    let account = budget.account_code.trim();
    let sub_ok = opd::valid_sub_kegiatan(sub);
    let account_ok = opd::valid_account_code(account);
    v.require(
        sub_ok,
        "budget.sub_kegiatan",
        "invalid_sub_kegiatan",
        "a sub-kegiatan code looks like 1.02.02.2.01.0001",
    );
    v.require(
        account_ok,
        "budget.account_code",
        "invalid_account_code",
        "an expenditure account code looks like 5.1.02.01.01.0024",
    );
    let purpose = check_text(v, "budget.purpose", &budget.purpose, 500);
    (sub_ok && account_ok).then_some(())?;
    Some(BudgetLine {
        sub_kegiatan: sub.to_owned(),
        account_code: account.to_owned(),
        purpose: purpose?,
    })
}

/// Place an OPD cart (the `buyer` duty): one order per shop, stock reserved, charged to a budget
/// line. Orders above the OPD's approval threshold wait for a PPK (`awaiting_approval`); the
/// others go straight to `awaiting_payment`. No bill yet: the treasurer bills approved orders.
/// Requires `Idempotency-Key` as `POST /checkout` does.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per intended checkout")),
    request_body = OpdCheckoutRequest,
    responses(
        (status = 201, description = "Orders created, stock reserved", body = opd::CheckoutResponse),
        (status = 400, description = "Missing Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks the `buyer` duty (`duty_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Out of stock, not sellable, shop capped, key reused", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cart or budget line (`invalid_sub_kegiatan`, `invalid_account_code`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/checkout")]
async fn opd_checkout(
    state: web::Data<AppState>,
    auth: Auth<OpdStaffOnly>,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let key = idempotency::key_from(&req, true)?.unwrap_or_default();
    let hash = idempotency::request_hash("opd_checkout", &body);
    let request: OpdCheckoutRequest = serde_json::from_value(body.into_inner()).map_err(|e| {
        ApiError::unprocessable("invalid_body", format!("the body does not match: {e}"))
    })?;
    let mut v = Validation::new();
    let budget = check_budget(&mut v, &request.budget);
    v.finish()?;
    let budget = budget.ok_or_else(|| ApiError::internal(anyhow::anyhow!("budget unchecked")))?;
    let cart = CheckoutRequest {
        items: request.items,
        fulfilment: request.fulfilment,
        payment_method: PaymentMethod::Va,
    }
    .into_cart()?;
    let outcome = opd::checkout(&state, &auth, &key, &hash, &cart, budget).await?;
    let status = actix_web::http::StatusCode::from_u16(outcome.status)
        .unwrap_or(actix_web::http::StatusCode::CREATED);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(outcome.body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpdOrderQuery {
    pub status: Option<OrderStatus>,
    /// Orders placed on or after this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Orders placed on or before this day (WIB), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Only shipped orders whose BAST is not signed yet (they never complete by themselves).
    pub awaiting_bast: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The orders of the caller's OPD, newest first (each marked with `opd_purchase`).
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(OpdOrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderView>),
        (status = 422, description = "Bad dates, limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/opd/orders")]
async fn list_opd_orders(
    state: web::Data<AppState>,
    auth: Auth<OpdReaders>,
    query: web::Query<OpdOrderQuery>,
) -> ApiResult<web::Json<Page<OrderView>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let filter = OpdOrderFilter {
        status: query.status,
        from: query.from,
        to: query.to,
        awaiting_bast: query.awaiting_bast.unwrap_or(false),
    };
    Ok(web::Json(opd::list(&state, &auth, &filter, &page).await?))
}

/// One order of the caller's OPD with who did each step and the tax withheld. Another OPD's
/// order is 404.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order")),
    responses(
        (status = 200, description = "The order", body = OpdOrderView),
        (status = 404, description = "No such order of the caller's OPD", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/opd/orders/{id}")]
async fn get_opd_order(
    state: web::Data<AppState>,
    auth: Auth<OpdReaders>,
    id: web::Path<String>,
) -> ApiResult<web::Json<OpdOrderView>> {
    Ok(web::Json(opd::get(&state, &auth, &id).await?))
}

/// The PPK approves an order waiting for approval: it waits for the treasurer's bill.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order")),
    responses(
        (status = 200, description = "Approved", body = OpdOrderView),
        (status = 403, description = "Not a PPK (`duty_required`), or the orderer (`orderer_cannot_approve`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller's OPD", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/orders/{id}/approval")]
async fn approve_opd_order(
    state: web::Data<AppState>,
    auth: Auth<OpdStaffOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<OpdOrderView>> {
    Ok(web::Json(opd::decide(&state, &auth, &id, None).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpdRejectionRequest {
    /// Why (up to 500 characters); required.
    pub reason: String,
}

/// The PPK rejects an order waiting for approval, with a reason: it is cancelled and its stock
/// returns.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order")),
    request_body = OpdRejectionRequest,
    responses(
        (status = 200, description = "Rejected", body = OpdOrderView),
        (status = 403, description = "Not a PPK (`duty_required`), or the orderer (`orderer_cannot_approve`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller's OPD", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/orders/{id}/rejection")]
async fn reject_opd_order(
    state: web::Data<AppState>,
    auth: Auth<OpdStaffOnly>,
    id: web::Path<String>,
    body: web::Json<OpdRejectionRequest>,
) -> ApiResult<web::Json<OpdOrderView>> {
    let mut v = Validation::new();
    let reason = check_text(&mut v, "reason", &body.reason, 500);
    v.finish()?;
    let reason = reason.unwrap_or_default();
    Ok(web::Json(
        opd::decide(&state, &auth, &id, Some(&reason)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpdBillRequest {
    /// Orders of the caller's OPD awaiting payment (1 to 100).
    pub order_ids: Vec<String>,
}

/// The treasurer bills approved orders: one VA bill for their totals less the tax withheld from
/// each (PPh 22, or PP 55/2022 final for a shop with a verified certificate valid today), with
/// one withholding slip per order withheld from.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    request_body = OpdBillRequest,
    responses(
        (status = 201, description = "The bill and what it pays for each order", body = OpdBill),
        (status = 403, description = "Not a treasurer (`duty_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An order is not the caller's OPD's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An order is not awaiting payment or was billed (`orders_not_billable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No orders, or too many", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/payments")]
async fn issue_opd_bill(
    state: web::Data<AppState>,
    auth: Auth<OpdStaffOnly>,
    body: web::Json<OpdBillRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    v.require(
        (1..=100).contains(&body.order_ids.len()),
        "order_ids",
        "invalid_count",
        "from 1 to 100 orders",
    );
    for (i, id) in body.order_ids.iter().enumerate() {
        v.require(
            !id.trim().is_empty() && id.len() <= 64,
            &format!("order_ids[{i}]"),
            "invalid_order_id",
            "not an order id",
        );
    }
    v.finish()?;
    let bill = opd::billing::bill(&state, &auth, &body.order_ids).await?;
    Ok(HttpResponse::Created().json(bill))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BastRequest {
    /// The WIB day the goods were received, `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub receipt_date: NaiveDate,
    /// What the receiver noted (up to 500 characters).
    pub note: Option<String>,
}

/// The receiver signs the BAST of a shipped order: the order completes (the shop is owed its
/// total less fee and the tax withheld).
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order")),
    request_body = BastRequest,
    responses(
        (status = 200, description = "Signed; the order is completed", body = OpdOrderView),
        (status = 403, description = "Not a receiver (`duty_required`), or the treasurer who billed it (`payer_cannot_receive`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller's OPD", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not shipped (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A receipt date outside the order's days", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/orders/{id}/bast")]
async fn sign_opd_bast(
    state: web::Data<AppState>,
    auth: Auth<OpdStaffOnly>,
    id: web::Path<String>,
    body: web::Json<BastRequest>,
) -> ApiResult<web::Json<OpdOrderView>> {
    let mut v = Validation::new();
    let note = match body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => check_text(&mut v, "note", n, 500),
        None => None,
    };
    v.finish()?;
    Ok(web::Json(
        opd::bast::sign(&state, &auth, &id, body.receipt_date, note.as_deref()).await?,
    ))
}

/// The withholding slip (bukti potong) of an order as an A4 PDF, for the OPD that withheld and
/// the shop withheld from.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The order")),
    responses(
        (status = 200, description = "The slip as PDF", content((inline(http_cache::Binary) = "application/pdf"))),
        (status = 404, description = "No withholding of this order for the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}/withholding-slip.pdf")]
async fn withholding_slip_pdf(
    state: web::Data<AppState>,
    auth: Auth<SlipReaders>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    // On the primary: the treasurer downloads the slip of the bill just issued.
    let pdf = opd::slips::pdf(&state, &auth, &id).await?;
    Ok(export::attachment(
        "application/pdf",
        &format!("bukti-potong-{}.pdf", id.as_str()),
        pdf,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WithholdingQuery {
    /// A WIB month, `YYYY-MM`.
    pub period: String,
}

/// The caller's OPD's withholding slips of a WIB month, one row each, for the tax office's bulk
/// upload: `?format=json|csv|xlsx`.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(WithholdingQuery, ExportParams),
    responses(
        (status = 200, description = "The slips (JSON, CSV or XLSX)", content(
            (Vec<WithholdingView> = "application/json"),
            (String = "text/csv"),
            (inline(peken_kernel::http_cache::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "Bad period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/opd/withholdings")]
async fn list_opd_withholdings(
    state: web::Data<AppState>,
    auth: Auth<OpdReaders>,
    request: HttpRequest,
    query: web::Query<WithholdingQuery>,
    params: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let period = Period::parse(&query.period)
        .map_err(|e| ApiError::field("period", "invalid_period", e.to_string()))?;
    // A month's table for the tax office, in every format: it may be seconds stale, so the read
    // replica serves it (the primary while the replica lags or is down).
    let rows = opd::slips::of_month(&state.read_db(), &auth, period).await?;
    export::respond(
        &request,
        &params,
        &format!("bukti-potong-{period}"),
        &rows,
        || opd::slips::table(&rows),
    )
}
