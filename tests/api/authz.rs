//! The authorisation matrix: every route of the OpenAPI document, called by every kind of
//! caller, against real resources, compared with ONE table. A route added without a row here
//! fails the test, and so does a row whose route is gone.
//!
//! Columns, in order: anonymous, an ASN (the buyer who owns the order and payment used), a
//! public buyer (another buyer), a merchant (the owner of the shop used), another merchant, an
//! admin, a treasury user, an OPD admin, an OPD staff member of the OPD admin's OPD holding all
//! four duties (buyer, PPK, receiver, treasurer; the OPD order used was placed by another staff
//! member), a staff member of another OPD holding all four, and a camat (of the kecamatan of the
//! shop used). Cells:
//!
//! - `A` allowed: past authentication and authorisation and the resource is visible (any status
//!   but 401, 403 and 404; validation failures and conflicts are fine, the body is `{}`);
//! - `a` allowed, the id is made up (a 404 is fine);
//! - `U` 401 `unauthenticated`; `F` 403 `forbidden`; `N` 404: another party's resource;
//! - `S` 401 `invalid_signature`: the payment provider's callback, checked by signature only.
//!
//! No cell may answer 5xx.

use std::collections::{BTreeSet, HashMap};

use peken_kernel::clock::Clock;
use peken_tests::{TestApp, User, spawn_app};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::console::FormBody;
use crate::fixtures::orders::{any_commodity, paid_order, shop};

const CALLERS: [&str; 11] = [
    "anonymous",
    "asn",
    "public",
    "merchant",
    "other merchant",
    "admin",
    "treasury",
    "opd admin",
    "opd staff",
    "other opd staff",
    "camat",
];

/// (method, route as in the OpenAPI document, cells). `{…}` in the route is filled from the
/// resources made for the test. The logout row is last: it ends the callers' sessions.
const TABLE: &[(&str, &str, &str)] = &[
    //                                                                          anon asn pub mer oth adm tre opd
    ("POST", "/api/v1/admin/asn", "UFFFFAFFFFF"),
    ("POST", "/api/v1/admin/asn/import", "UFFFFAFFFFF"),
    ("GET", "/api/v1/admin/audit-log", "UFFFFAAFFFF"),
    ("PUT", "/api/v1/admin/category-permissions", "UFFFFAFFFFF"),
    ("GET", "/api/v1/admin/commodities", "UFFFFAFFFFF"),
    ("POST", "/api/v1/admin/commodities", "UFFFFAFFFFF"),
    ("PATCH", "/api/v1/admin/commodities/{id}", "UFFFFAFFFFF"),
    (
        "POST",
        "/api/v1/admin/listings/{id}/takedown",
        "UFFFFAFFFFF",
    ),
    (
        "DELETE",
        "/api/v1/admin/listings/{id}/takedown",
        "UFFFFAFFFFF",
    ),
    ("GET", "/api/v1/admin/mandate-policies", "UFFFFAFFFFF"),
    ("PUT", "/api/v1/admin/mandate-policies", "UFFFFAFFFFF"),
    ("GET", "/api/v1/admin/merchants", "UFFFFAFFFFF"),
    (
        "POST",
        "/api/v1/admin/merchants/{id}/bank-account/confirmation",
        "UFFFFAFFFFF",
    ),
    (
        "POST",
        "/api/v1/admin/merchants/{id}/suspension",
        "UFFFFAFFFFF",
    ),
    (
        "DELETE",
        "/api/v1/admin/merchants/{id}/suspension",
        "UFFFFAFFFFF",
    ),
    (
        "POST",
        "/api/v1/admin/merchants/{id}/verification",
        "UFFFFAFFFFF",
    ),
    ("GET", "/api/v1/admin/opds", "UFFFFAFFFFF"),
    ("POST", "/api/v1/admin/opds", "UFFFFAFFFFF"),
    ("POST", "/api/v1/admin/nik-reclaims", "UFFFFAFFFFF"),
    (
        "POST",
        "/api/v1/admin/orders/{id}/dispute-resolution",
        "UFFFFAFFFFF",
    ),
    ("GET", "/api/v1/admin/outbox", "UFFFFAFFFFF"),
    ("GET", "/api/v1/admin/products", "UFFFFAFFFFF"),
    (
        "POST",
        "/api/v1/admin/products/{id}/moderation",
        "UFFFFAFFFFF",
    ),
    ("POST", "/api/v1/admin/outbox/{id}/retry", "UFFFFAFFFFF"),
    ("GET", "/api/v1/admin/policies", "UFFFFAAFFFF"),
    ("PATCH", "/api/v1/admin/policies", "UFFFFAFFFFF"),
    ("POST", "/api/v1/admin/users", "UFFFFAFFFFF"),
    ("POST", "/api/v1/auth/login", "AAAAAAAAAAA"),
    ("POST", "/api/v1/auth/password-reset", "AAAAAAAAAAA"),
    ("POST", "/api/v1/auth/password-reset/confirm", "AAAAAAAAAAA"),
    ("POST", "/api/v1/auth/refresh", "AAAAAAAAAAA"),
    ("POST", "/api/v1/auth/register", "AAAAAAAAAAA"),
    ("POST", "/api/v1/auth/register/confirm", "AAAAAAAAAAA"),
    ("GET", "/api/v1/categories", "AAAAAAAAAAA"),
    ("POST", "/api/v1/checkout", "UAAFFFFFFFF"),
    ("GET", "/api/v1/commodities", "AAAAAAAAAAA"),
    ("GET", "/api/v1/listings", "AAAAAAAAAAA"),
    ("GET", "/api/v1/listings/{id}", "AAAAAAAAAAA"),
    ("GET", "/api/v1/mandate/me", "UAFFFFFFFFF"),
    ("GET", "/api/v1/mandate/me/suggestion", "UAFFFFFFFFF"),
    ("GET", "/api/v1/me", "UAAAAAAAAAA"),
    ("PATCH", "/api/v1/me", "UAAAAAAAAAA"),
    ("GET", "/api/v1/me/addresses", "UAAFFFFFFFF"),
    ("POST", "/api/v1/me/addresses", "UAAFFFFFFFF"),
    ("GET", "/api/v1/me/addresses/{id}", "UaaFFFFFFFF"),
    ("PATCH", "/api/v1/me/addresses/{id}", "UaaFFFFFFFF"),
    ("DELETE", "/api/v1/me/addresses/{id}", "UaaFFFFFFFF"),
    ("POST", "/api/v1/me/email/confirm", "UAAAAAAAAAA"),
    ("GET", "/api/v1/me/favourites", "UAAFFFFFFFF"),
    ("PUT", "/api/v1/me/favourites/{listing_id}", "UAAFFFFFFFF"),
    (
        "DELETE",
        "/api/v1/me/favourites/{listing_id}",
        "UaaFFFFFFFF",
    ),
    ("POST", "/api/v1/me/password", "UAAAAAAAAAA"),
    ("GET", "/api/v1/me/refund-account", "UaaFFFFFFFF"),
    ("PUT", "/api/v1/me/refund-account", "UAAFFFFFFFF"),
    ("GET", "/api/v1/me/devices", "UAAAAAAAAAA"),
    ("POST", "/api/v1/me/devices", "UAAAAAAAAAA"),
    ("DELETE", "/api/v1/me/devices/{id}", "UANNNNNNNNN"),
    ("GET", "/api/v1/me/notifications", "UAAAAAAAAAA"),
    ("POST", "/api/v1/me/notifications/read-all", "UAAAAAAAAAA"),
    ("POST", "/api/v1/me/notifications/{id}/read", "UANNNNNNNNN"),
    ("POST", "/api/v1/merchants", "AAAAAAAAAAA"),
    ("GET", "/api/v1/merchants/{id}", "AAAAAAAAAAA"),
    ("PATCH", "/api/v1/merchants/{id}", "UFFANFFFFFF"),
    ("PUT", "/api/v1/merchants/{id}/bank-account", "UFFANFFFFFF"),
    ("GET", "/api/v1/merchants/{id}/ledger", "UFFANFAFFFF"),
    ("GET", "/api/v1/merchants/{id}/listings", "UFFANAFFFFF"),
    ("POST", "/api/v1/merchants/{id}/listings", "UFFANFFFFFF"),
    (
        "GET",
        "/api/v1/merchants/{id}/listings/export",
        "UFFANAFFFFF",
    ),
    (
        "POST",
        "/api/v1/merchants/{id}/listings/import",
        "UFFANFFFFFF",
    ),
    (
        "GET",
        "/api/v1/merchants/{id}/listings/{listing_id}",
        "UFFANAFFFFF",
    ),
    (
        "PATCH",
        "/api/v1/merchants/{id}/listings/{listing_id}",
        "UFFANFFFFFF",
    ),
    (
        "GET",
        "/api/v1/merchants/{id}/listings/{listing_id}/stock-movements",
        "UFFANAFFFFF",
    ),
    (
        "POST",
        "/api/v1/merchants/{id}/listings/{listing_id}/stock-movements",
        "UFFANFFFFFF",
    ),
    ("GET", "/api/v1/merchants/{id}/payouts", "UFFANAAFFFF"),
    (
        "GET",
        "/api/v1/merchants/{id}/payouts/{payout_id}",
        "UFFANAAFFFF",
    ),
    (
        "GET",
        "/api/v1/merchants/{id}/payouts/{payout_id}/remittance.pdf",
        "UFFANAAFFFF",
    ),
    ("PUT", "/api/v1/merchants/{id}/photo", "UFFANFFFFFF"),
    ("DELETE", "/api/v1/merchants/{id}/photo", "UFFaNFFFFFF"),
    (
        "POST",
        "/api/v1/merchants/{id}/products/{product_id}/images",
        "UFFANFFFFFF",
    ),
    (
        "PUT",
        "/api/v1/merchants/{id}/products/{product_id}/images/order",
        "UFFANFFFFFF",
    ),
    (
        "DELETE",
        "/api/v1/merchants/{id}/products/{product_id}/images/{image_id}",
        "UFFaNFFFFFF",
    ),
    ("GET", "/api/v1/merchants/{id}/products", "UFFANAFFFFF"),
    ("POST", "/api/v1/merchants/{id}/products", "UFFANFFFFFF"),
    (
        "GET",
        "/api/v1/merchants/{id}/products/{product_id}",
        "UFFANAFFFFF",
    ),
    (
        "PATCH",
        "/api/v1/merchants/{id}/products/{product_id}",
        "UFFANFFFFFF",
    ),
    ("GET", "/api/v1/merchants/{id}/reports/sales", "UFFANAAFFFF"),
    (
        "GET",
        "/api/v1/merchants/{id}/reports/tax-year/{year}",
        "UFFANAAFFFF",
    ),
    ("GET", "/api/v1/merchants/{id}/staff", "UFFANAFFFFF"),
    ("POST", "/api/v1/merchants/{id}/staff", "UFFANFFFFFF"),
    (
        "DELETE",
        "/api/v1/merchants/{id}/staff/{user_id}",
        "UFFaNFFFFFF",
    ),
    ("GET", "/api/v1/merchants/{id}/turnover", "UFFANAAFFFF"),
    // Recorded first, so that it is there to read.
    (
        "PUT",
        "/api/v1/merchants/{id}/tax-certificate",
        "UFFANFFFFFF",
    ),
    (
        "GET",
        "/api/v1/merchants/{id}/tax-certificate",
        "UFFANAFFFFF",
    ),
    (
        "POST",
        "/api/v1/admin/merchants/{id}/tax-certificate/verification",
        "UFFFFAFFFFF",
    ),
    // OPD purchasing: the OPD order was placed by another staff member of the OPD admin's OPD.
    ("POST", "/api/v1/opd/staff", "UFFFFFFAFFF"),
    ("GET", "/api/v1/opd/staff", "UFFFFFFAFFF"),
    ("PUT", "/api/v1/opd/staff/{id}/duties", "UFFFFFFAFFF"),
    ("GET", "/api/v1/opd/purchasing-settings", "UFFFFFFAAAF"),
    ("PUT", "/api/v1/opd/purchasing-settings", "UFFFFFFAFFF"),
    ("POST", "/api/v1/opd/checkout", "UFFFFFFFAAF"),
    ("GET", "/api/v1/opd/orders", "UFFFFFFAAAF"),
    ("GET", "/api/v1/opd/orders/{id}", "UFFFFFFAANF"),
    ("POST", "/api/v1/opd/orders/{id}/approval", "UFFFFFFFANF"),
    ("POST", "/api/v1/opd/orders/{id}/rejection", "UFFFFFFFANF"),
    // Before the bill: the treasurer who bills may not sign.
    ("POST", "/api/v1/opd/orders/{id}/bast", "UFFFFFFFANF"),
    ("POST", "/api/v1/opd/payments", "UFFFFFFFANF"),
    ("GET", "/api/v1/opd/withholdings", "UFFFFFFAAAF"),
    // The ASN's order: nothing was withheld from it, so whoever may read slips gets a 404.
    (
        "GET",
        "/api/v1/orders/{id}/withholding-slip.pdf",
        "UFFaaaFaaaF",
    ),
    ("GET", "/api/v1/orders", "UAAAAAFFFFF"),
    ("GET", "/api/v1/orders/{id}", "UANANAAFFFF"),
    ("GET", "/api/v1/orders/{id}/events", "UANANAAFFFF"),
    ("POST", "/api/v1/orders/{id}/reorder", "UANFFFFFFFF"),
    ("POST", "/api/v1/orders/{id}/accept", "UFFANFFFFFF"),
    ("POST", "/api/v1/orders/{id}/cancel", "UANFFFFFFFF"),
    ("POST", "/api/v1/orders/{id}/dispute", "UANFFFFFFFF"),
    ("POST", "/api/v1/orders/{id}/receipt", "UANFFFFFFFF"),
    ("GET", "/api/v1/orders/{id}/receipt.pdf", "UANANAAFFFF"),
    ("POST", "/api/v1/orders/{id}/reject", "UFFANFFFFFF"),
    ("POST", "/api/v1/orders/{id}/ship", "UFFANFFFFFF"),
    ("POST", "/api/v1/payments/callback", "SSSSSSSSSSS"),
    ("GET", "/api/v1/payments/{id}", "UANFFAAFFFF"),
    ("POST", "/api/v1/payments/{id}/proof", "UANFFFFFFFF"),
    ("GET", "/api/v1/regions", "AAAAAAAAAAA"),
    ("GET", "/api/v1/problem-codes", "AAAAAAAAAAA"),
    ("GET", "/api/v1/reports/mandate-compliance", "UFFFFAFAFFF"),
    ("GET", "/api/v1/reports/turnover", "UFFFFAAFFFF"),
    ("POST", "/api/v1/treasury/bank-statements", "UFFFFFAFFFF"),
    ("GET", "/api/v1/treasury/cash-series", "UFFFFFAFFFF"),
    ("GET", "/api/v1/treasury/daily-close", "UFFFFFAFFFF"),
    ("POST", "/api/v1/treasury/daily-closes", "UFFFFFAFFFF"),
    (
        "POST",
        "/api/v1/treasury/payments/{id}/verification",
        "UFFFFFAFFFF",
    ),
    ("GET", "/api/v1/treasury/payout-batches", "UFFFFFAFFFF"),
    ("POST", "/api/v1/treasury/payout-batches", "UFFFFFAFFFF"),
    ("GET", "/api/v1/treasury/payout-batches/{id}", "UFFFFFAFFFF"),
    (
        "POST",
        "/api/v1/treasury/payout-batches/{id}/approval",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/payout-batches/{id}/cancellation",
        "UFFFFFAFFFF",
    ),
    (
        "GET",
        "/api/v1/treasury/payout-batches/{id}/transfer-file",
        "UFFFFFAFFFF",
    ),
    ("GET", "/api/v1/treasury/payout-holds", "UFFFFFAFFFF"),
    (
        "POST",
        "/api/v1/treasury/payout-holds/{id}/clearance",
        "UFFFFFaFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/payout-items/{id}/failure",
        "UFFFFFAFFFF",
    ),
    ("GET", "/api/v1/treasury/payout-sla", "UFFFFAAFFFF"),
    (
        "POST",
        "/api/v1/treasury/reconciliation/credit-matches",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/reconciliation/credit-matches/{id}/approval",
        "UFFFFFaFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/reconciliation/credit-matches/{id}/rejection",
        "UFFFFFaFFFF",
    ),
    (
        "GET",
        "/api/v1/treasury/reconciliation/exceptions",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/reconciliation/matches",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/reconciliation/matches/{id}/approval",
        "UFFFFFaFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/reconciliation/matches/{id}/rejection",
        "UFFFFFaFFFF",
    ),
    ("GET", "/api/v1/treasury/refunds", "UFFFFFAFFFF"),
    ("POST", "/api/v1/treasury/refund-batches", "UFFFFFAFFFF"),
    ("GET", "/api/v1/treasury/refund-batches", "UFFFFFAFFFF"),
    // Refund batches and items are made up: their cells are `a`.
    ("GET", "/api/v1/treasury/refund-batches/{id}", "UFFFFFaFFFF"),
    (
        "POST",
        "/api/v1/treasury/refund-batches/{id}/approval",
        "UFFFFFaFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/refund-batches/{id}/cancellation",
        "UFFFFFaFFFF",
    ),
    (
        "GET",
        "/api/v1/treasury/refund-batches/{id}/transfer-file",
        "UFFFFFaFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/refund-items/{id}/failure",
        "UFFFFFaFFFF",
    ),
    // Before the proposal below: with none waiting they answer 409, not the proposer's 403.
    (
        "POST",
        "/api/v1/treasury/refunds/{id}/payment/approval",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/refunds/{id}/payment/rejection",
        "UFFFFFAFFFF",
    ),
    (
        "POST",
        "/api/v1/treasury/refunds/{id}/payment",
        "UFFFFFAFFFF",
    ),
    ("GET", "/api/v1/treasury/trial-balance", "UFFFFFAFFFF"),
    ("GET", "/api/v1/treasury/turnover-alerts", "UFFFFAAFFFF"),
    // Public: the code decides, and without one the query is malformed (400).
    ("GET", "/api/v1/verify/orders/{id}", "AAAAAAAAAAA"),
    ("GET", "/healthz", "AAAAAAAAAAA"),
    ("GET", "/media/{key}", "aaaaaaaaaaa"),
    ("GET", "/metrics", "MMMMMMMMMMM"),
    ("GET", "/readyz", "AAAAAAAAAAA"),
    (
        "POST",
        "/api/v1/admin/merchants/{id}/mentoring",
        "UFFFFAFFFFF",
    ),
    ("PUT", "/api/v1/admin/merchants/{id}/nib", "UFFFFAFFFFF"),
    ("PUT", "/api/v1/merchants/{id}/credentials", "UFFANAFFFFF"),
    ("GET", "/api/v1/merchants/{id}/mentoring", "UFFANAFFFFA"),
    (
        "GET",
        "/api/v1/programme/merchants/{id}/classes",
        "UFFFFAFFFFA",
    ),
    ("GET", "/api/v1/programme/reports/buyers", "UFFFFAFFFFA"),
    (
        "GET",
        "/api/v1/programme/reports/class-changes",
        "UFFFFAFFFFA",
    ),
    (
        "GET",
        "/api/v1/programme/reports/dormant-shops",
        "UFFFFAFFFFA",
    ),
    (
        "GET",
        "/api/v1/programme/reports/lkpj/{year}",
        "UFFFFAFFFFA",
    ),
    ("GET", "/api/v1/programme/reports/monthly", "UFFFFAFFFFA"),
    ("GET", "/api/v1/programme/reports/opd-spend", "UFFFFAFAAAA"),
    ("POST", "/api/v1/auth/logout", "UAAAAAAAAAA"),
];

/// Which resource fills the `{id}` of a route: the part of the path before it says.
fn fill(route: &str, ids: &HashMap<&str, String>) -> String {
    let id_of = |key: &str| ids[key].clone();
    let (id, listing) = match route {
        r if r.starts_with("/api/v1/admin/commodities/") => (id_of("commodity"), None),
        r if r.starts_with("/api/v1/admin/listings/") || r.starts_with("/api/v1/listings/") => {
            (id_of("listing"), None)
        }
        r if r.starts_with("/api/v1/admin/merchants/")
            || r.starts_with("/api/v1/merchants/")
            || r.starts_with("/api/v1/programme/merchants/") =>
        {
            (id_of("merchant"), Some(id_of("listing")))
        }
        r if r.starts_with("/api/v1/admin/orders/")
            || r.starts_with("/api/v1/orders/")
            || r.starts_with("/api/v1/verify/orders/") =>
        {
            (id_of("order"), None)
        }
        r if r.starts_with("/api/v1/admin/outbox/") => (id_of("mail"), None),
        r if r.starts_with("/api/v1/opd/orders/") => (id_of("opd_order"), None),
        r if r.starts_with("/api/v1/opd/staff/") => (id_of("opd_staff"), None),
        r if r.starts_with("/api/v1/me/favourites/") => (String::new(), Some(id_of("listing"))),
        // The ASN's own entry and device: everyone else's 404.
        r if r.starts_with("/api/v1/me/notifications/") => (id_of("notification"), None),
        r if r.starts_with("/api/v1/me/devices/") => (id_of("device"), None),
        r if r.starts_with("/api/v1/admin/products/") => (id_of("product"), None),
        r if r.starts_with("/api/v1/payments/") || r.starts_with("/api/v1/treasury/payments/") => {
            (id_of("payment"), None)
        }
        r if r.starts_with("/api/v1/treasury/payout-batches/") => (id_of("batch"), None),
        r if r.starts_with("/api/v1/treasury/payout-items/") => (id_of("item"), None),
        r if r.starts_with("/api/v1/treasury/refunds/") => (id_of("refund"), None),
        // Holds and manual matches are made up: their cells are `a`.
        _ => ("01a00000-0000-7000-8000-000000000000".to_owned(), None),
    };
    let mut path = route.replace("{id}", &id);
    if let Some(listing) = listing {
        path = path.replace("{listing_id}", &listing);
    }
    path = path.replace("{product_id}", &ids["product"]);
    // The shop's payout: the item of the approved batch.
    path = path.replace("{payout_id}", &ids["item"]);
    // A photo to delete is made up: the owner's cell is `a`.
    path = path.replace("{image_id}", "01a00000-0000-7000-8000-000000000002");
    // A stored photo is made up (a well-formed content-addressed key): its cells are `a`.
    path = path.replace("{key}", &format!("img/00/{}.jpg", "0".repeat(64)));
    // A staff member to remove is made up: the owner's cell is `a`.
    path = path.replace("{user_id}", "01a00000-0000-7000-8000-000000000001");
    path = path.replace("{year}", "2026");
    assert!(!path.contains('{'), "no resource for {route}");
    path
}

/// A body that passes validation, for routes whose ownership check comes after it: a stranger
/// must get its 404 for a well-formed request. Other routes get `{}`.
fn body_for(route: &str, ids: &HashMap<&str, String>) -> serde_json::Value {
    match route.rsplit('/').next().unwrap_or("") {
        "bank-account" | "refund-account" => {
            json!({"bank_code": "008", "account_number": "1234567890", "account_name": "UJI"})
        }
        "listings" => json!({"commodity_id": ids["commodity"], "price": 9_000, "stock": 1}),
        "products" => json!({"name": "Sabun Uji", "category": "kebutuhan_harian", "unit": "pcs"}),
        "order" => json!({"image_ids": []}),
        "stock-movements" => json!({"kind": "restock", "quantity_delta": 1}),
        "staff" => {
            json!({"name": "Staf", "email": format!("staf{}@authz.test", uuid::Uuid::new_v4().simple()),
                          "phone": "081234567890", "password": "correct-horse-battery"})
        }
        "dispute" | "reject" | "rejection" => json!({"reason": "uji otorisasi"}),
        // Before the order's day: refused (422) after the ownership check.
        "bast" => json!({"receipt_date": "2000-01-01"}),
        "payments" => json!({"order_ids": [ids["opd_order"]]}),
        "tax-certificate" => {
            json!({"number": "S-1/PP55/2026", "valid_from": "2026-01-01", "valid_until": "2026-12-31"})
        }
        "proof" => json!({"transfer_reference": "TRF-AUTHZ", "paid_at": chrono::Utc::now()}),
        _ => json!({}),
    }
}

/// `M`: `/metrics` answers by its token, not by role: open in the embedded mode without one,
/// `metrics_token_required` to every caller (whose JWT is not the token) when one is set.
fn judge(cell: char, status: u16, code: &str, metrics_token: bool) -> bool {
    match cell {
        'M' if metrics_token => status == 401 && code == "metrics_token_required",
        'M' => status == 200,
        'A' => !matches!(status, 401 | 403 | 404),
        'a' => !matches!(status, 401 | 403),
        'U' => status == 401 && code == "unauthenticated",
        'F' => status == 403 && code == "forbidden",
        'N' => status == 404,
        'S' => status == 401 && code == "invalid_signature",
        _ => panic!("unknown cell {cell}"),
    }
}

/// Callers' tokens (index as in `CALLERS`) and the resources the routes are called on.
async fn world(app: &TestApp) -> (Vec<Option<User>>, HashMap<&'static str, String>) {
    let admin = app.admin().await;
    let opd = app.create_opd("AUTHZ").await;
    let (asn, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let public = app.public_buyer("35.78.03.1002").await;
    let own = shop(app, "toko_kelontong", "35.78.03.1001").await;
    let other = shop(app, "toko_kelontong", "35.78.03.1001").await;
    let treasury = app.staff("treasury", None).await;
    let batch_maker = app.staff("treasury", None).await;
    let opd_admin = app.staff("opd_admin", Some(&opd)).await;
    let camat = app.camat("35.78.03").await;
    let opd_people = crate::fixtures::opd::Opd {
        id: opd.clone(),
        admin: opd_admin.clone(),
    };
    let all_duties = ["buyer", "ppk", "receiver", "treasurer"];
    let opd_staff = opd_people.staff(app, &all_duties).await;
    let opd_buyer = opd_people.staff(app, &["buyer"]).await;
    let other_opd_staff = crate::fixtures::opd::opd(app)
        .await
        .staff(app, &all_duties)
        .await;
    let commodity_id = any_commodity(app, None, None).await;
    let listing_id = own.list(app, &commodity_id, 10_000, 100).await;

    // One order completed (so the shop is owed and an approved batch has an item), one cancelled after
    // payment (a refund is due), one paid: the order the routes are called on.
    let (done, _, _) = paid_order(app, &asn, &listing_id, 1).await;
    for (step, token) in [
        ("accept", &own.owner.token),
        ("ship", &own.owner.token),
        ("receipt", &asn.token),
    ] {
        app.post(
            &format!("/api/v1/orders/{done}/{step}"),
            Some(token),
            &json!({}),
        )
        .await
        .expect(200);
    }
    let (cancelled, _, _) = paid_order(app, &asn, &listing_id, 1).await;
    app.post(
        &format!("/api/v1/orders/{cancelled}/cancel"),
        Some(&asn.token),
        &json!({}),
    )
    .await
    .expect(200);
    let (order, payment, _) = paid_order(app, &asn, &listing_id, 1).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let batch = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&batch_maker.token),
            &json!({"cutoff": app.clock.now().to_rfc3339()}),
        )
        .await
        .expect(201);
    // Approved, so that the shop sees its payout.
    app.post(
        &format!(
            "/api/v1/treasury/payout-batches/{}/approval",
            batch.body["id"].as_str().unwrap()
        ),
        Some(&treasury.token),
        &json!({}),
    )
    .await
    .expect(200);
    let refunds = app
        .get("/api/v1/treasury/refunds?status=due", Some(&treasury.token))
        .await
        .expect(200);
    let db = &app.state.db;
    let mail: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM mail_outbox ORDER BY id LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    let notification: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id FROM notifications WHERE user_id = '{}' ORDER BY id LIMIT 1",
                asn.id
            ),
        ))
        .await
        .unwrap()
        .expect("the buyer's order wrote an inbox entry")
        .try_get("", "id")
        .unwrap();
    let device = app
        .post(
            "/api/v1/me/devices",
            Some(&asn.token),
            &json!({"platform": "android", "token": format!("authz-{}", "t".repeat(40))}),
        )
        .await
        .expect(201);
    let product: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT product_id FROM listings WHERE id = '{listing_id}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "product_id")
        .unwrap();

    // Waiting for approval (the threshold is 0).
    let opd_order = crate::fixtures::opd::ordered(app, &opd_buyer, &listing_id, 1).await;
    let ids = HashMap::from([
        ("opd_order", opd_order),
        ("opd_staff", opd_staff.id.clone()),
        ("product", product),
        ("commodity", commodity_id),
        ("listing", listing_id),
        ("merchant", own.id.clone()),
        ("order", order),
        ("payment", payment),
        ("mail", mail),
        ("notification", notification),
        ("device", device.body["id"].as_str().unwrap().to_owned()),
        ("batch", batch.body["id"].as_str().unwrap().to_owned()),
        (
            "item",
            batch.body["items"][0]["id"].as_str().unwrap().to_owned(),
        ),
        (
            "refund",
            refunds.body["items"][0]["id"].as_str().unwrap().to_owned(),
        ),
    ]);
    let users = vec![
        None,
        Some(asn),
        Some(public),
        Some(own.owner),
        Some(other.owner),
        Some(admin),
        Some(treasury),
        Some(opd_admin),
        Some(opd_staff),
        Some(other_opd_staff),
        Some(camat),
    ];
    (users, ids)
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    // The table covers exactly the routes of the OpenAPI document.
    let spec = peken_server::routes::openapi();
    let mut documented = BTreeSet::new();
    for (path, item) in &spec.paths.paths {
        let value = serde_json::to_value(item).unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if value.get(method).is_some() {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    let tabled: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, r, _)| ((*m).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(TABLE.len(), tabled.len(), "a route has two rows");
    let missing: Vec<_> = documented.difference(&tabled).collect();
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in the authorisation table: {missing:?}; rows for routes that \
         no longer exist: {stale:?}"
    );

    let app = spawn_app().await;
    let (users, ids) = world(&app).await;
    let tokens: Vec<Option<String>> = users
        .iter()
        .map(|u| u.as_ref().map(|u| u.token.clone()))
        .collect();
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (method, route, cells) in TABLE {
        assert_eq!(
            cells.len(),
            CALLERS.len(),
            "{method} {route}: one cell per caller"
        );
        let path = fill(route, &ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for ((cell, caller), token) in cells.chars().zip(CALLERS).zip(&tokens) {
            let body = body_for(route, &ids);
            let sends_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            let reply = app
                .send(
                    method.clone(),
                    &path,
                    token.as_deref(),
                    sends_body.then_some(&body),
                    &[],
                )
                .await;
            calls += 1;
            let status = reply.status.as_u16();
            let metrics_token = app.state.settings.metrics_token.is_some();
            if status >= 500 || !judge(cell, status, reply.code(), metrics_token) {
                wrong.push(format!(
                    "{method} {route} as {caller}: expected {cell}, got {status} {}",
                    reply.code()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls differ from the table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!(
        "authorisation matrix: {} routes × {} callers = {calls} calls, all as the table says",
        TABLE.len(),
        CALLERS.len()
    );
}

/// The web console's routes (not in the OpenAPI document), with the same callers, signed in
/// with the console's session cookie. Cells: `R` the browser is sent to the sign-in page (303 to
/// `/console/masuk`); `F` 403; `N` 404 (another OPD); `A` allowed (any status but 401, 403, 404
/// and the sign-in redirect; `a` the same with a made-up id, so 404 is fine; signing out is a 303 to `/console/masuk?pesan=keluar`). The
/// sign-out row is last: it ends the callers' sessions.
const CONSOLE: &[(&str, &str, &str)] = &[
    //                                                          anon asn pub mer oth adm tre opd
    ("GET", "/console", "RAAAAAAAAAA"),
    ("GET", "/console/masuk", "AAAAAAAAAAA"),
    ("GET", "/console/treasury/batches", "RFFFFFAFFFF"),
    ("POST", "/console/treasury/batches", "RFFFFFAFFFF"),
    ("GET", "/console/treasury/batches/export", "RFFFFFAFFFF"),
    ("GET", "/console/treasury/batches/{id}", "RFFFFFAFFFF"),
    (
        "POST",
        "/console/treasury/batches/{id}/approval",
        "RFFFFFAFFFF",
    ),
    (
        "POST",
        "/console/treasury/batches/{id}/cancellation",
        "RFFFFFAFFFF",
    ),
    (
        "GET",
        "/console/treasury/batches/{id}/transfer-file",
        "RFFFFFAFFFF",
    ),
    ("GET", "/console/treasury/statements", "RFFFFFAFFFF"),
    ("POST", "/console/treasury/statements", "RFFFFFAFFFF"),
    ("GET", "/console/treasury/exceptions", "RFFFFFAFFFF"),
    ("GET", "/console/treasury/exceptions/export", "RFFFFFAFFFF"),
    (
        "POST",
        "/console/treasury/exceptions/matches",
        "RFFFFFAFFFF",
    ),
    (
        "POST",
        "/console/treasury/exceptions/matches/{id}/approval",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/exceptions/matches/{id}/rejection",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/exceptions/credit-matches",
        "RFFFFFAFFFF",
    ),
    (
        "POST",
        "/console/treasury/exceptions/credit-matches/{id}/approval",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/exceptions/credit-matches/{id}/rejection",
        "RFFFFFaFFFF",
    ),
    ("GET", "/console/treasury/ledger", "RFFFFFAFFFF"),
    ("GET", "/console/treasury/ledger/cash", "RFFFFFAFFFF"),
    (
        "POST",
        "/console/treasury/ledger/daily-closes",
        "RFFFFFAFFFF",
    ),
    ("GET", "/console/treasury/holds", "RFFFFFAFFFF"),
    (
        "POST",
        "/console/treasury/holds/{id}/clearance",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/items/{id}/failure",
        "RFFFFFAFFFF",
    ),
    ("GET", "/console/treasury/refunds", "RFFFFFAFFFF"),
    (
        "POST",
        "/console/treasury/refunds/{id}/payment",
        "RFFFFFAFFFF",
    ),
    (
        "POST",
        "/console/treasury/refunds/{id}/payment/approval",
        "RFFFFFAFFFF",
    ),
    (
        "POST",
        "/console/treasury/refunds/{id}/payment/rejection",
        "RFFFFFAFFFF",
    ),
    ("GET", "/console/treasury/refund-batches", "RFFFFFAFFFF"),
    ("POST", "/console/treasury/refund-batches", "RFFFFFAFFFF"),
    // Refund batches and items are made up: their treasury cells are `a`.
    (
        "GET",
        "/console/treasury/refund-batches/{id}",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/refund-batches/{id}/approval",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/refund-batches/{id}/cancellation",
        "RFFFFFaFFFF",
    ),
    (
        "GET",
        "/console/treasury/refund-batches/{id}/transfer-file",
        "RFFFFFaFFFF",
    ),
    (
        "GET",
        "/console/treasury/refund-batches/{id}/items",
        "RFFFFFaFFFF",
    ),
    (
        "POST",
        "/console/treasury/refund-items/{id}/failure",
        "RFFFFFaFFFF",
    ),
    ("GET", "/console/treasury/sla", "RFFFFAAFFFF"),
    ("GET", "/console/treasury/sla/export", "RFFFFAAFFFF"),
    ("GET", "/console/admin/merchants", "RFFFFAFFFFF"),
    (
        "POST",
        "/console/admin/merchants/{id}/verification",
        "RFFFFAFFFFF",
    ),
    ("GET", "/console/admin/products", "RFFFFAFFFFF"),
    (
        "POST",
        "/console/admin/products/{id}/moderation",
        "RFFFFAFFFFF",
    ),
    ("GET", "/console/admin/bank-accounts", "RFFFFAFFFFF"),
    // No new account waits: the admin's confirmation is 409.
    (
        "POST",
        "/console/admin/merchants/{id}/bank-account/confirmation",
        "RFFFFAFFFFF",
    ),
    ("GET", "/console/admin/nik-reclaims", "RFFFFAFFFFF"),
    // Without a NIK the admin's form is 422.
    ("POST", "/console/admin/nik-reclaims", "RFFFFAFFFFF"),
    ("GET", "/console/admin/listings", "RFFFFAFFFFF"),
    (
        "POST",
        "/console/admin/listings/{id}/takedown",
        "RFFFFAFFFFF",
    ),
    (
        "POST",
        "/console/admin/listings/{id}/restoration",
        "RFFFFAFFFFF",
    ),
    ("GET", "/console/admin/mandate-policies", "RFFFFAFFFFF"),
    ("POST", "/console/admin/mandate-policies", "RFFFFAFFFFF"),
    ("GET", "/console/admin/outbox", "RFFFFAFFFFF"),
    ("POST", "/console/admin/outbox/{id}/retry", "RFFFFaFFFFF"),
    ("GET", "/console/compliance", "RFFFFAFAFFF"),
    ("GET", "/console/compliance/export", "RFFFFAFAFFF"),
    // An OPD admin asking for another OPD's figures.
    (
        "GET",
        "/console/compliance?opd_id=01a00000-0000-7000-8000-000000000000",
        "RFFFFAFNFFF",
    ),
    ("POST", "/console/keluar", "RAAAAAAAAAA"),
];

#[tokio::test]
async fn every_console_page_answers_every_caller_as_its_table_says() {
    let app = spawn_app().await;
    let (users, ids) = world(&app).await;
    let mut wrong = Vec::new();
    for (method, route, cells) in CONSOLE {
        assert_eq!(cells.len(), CALLERS.len(), "{method} {route}");
        // Manual matches, refund batches and items and outbox messages are made up: their
        // treasury and admin cells are `a`.
        let made_up = "01a00000-0000-7000-8000-000000000000";
        let path = route
            .replace("/batches/{id}", &format!("/batches/{}", ids["batch"]))
            .replace(
                "/merchants/{id}",
                &format!("/merchants/{}", ids["merchant"]),
            )
            .replace("/products/{id}", &format!("/products/{}", ids["product"]))
            .replace("/refunds/{id}", &format!("/refunds/{}", ids["refund"]))
            .replace("/listings/{id}", &format!("/listings/{}", ids["listing"]))
            .replace("matches/{id}", &format!("matches/{made_up}"))
            .replace("refund-batches/{id}", &format!("refund-batches/{made_up}"))
            .replace("refund-items/{id}", &format!("refund-items/{made_up}"))
            .replace("/outbox/{id}", &format!("/outbox/{made_up}"))
            .replace("/holds/{id}", &format!("/holds/{made_up}"))
            .replace("/items/{id}", &format!("/items/{}", ids["item"]));
        assert!(!path.contains('{'), "no resource for {route}");
        for ((cell, caller), user) in cells.chars().zip(CALLERS).zip(&users) {
            let mut req = app.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            );
            if let Some(user) = user {
                req = req.header(
                    "cookie",
                    format!("{}={}", crate::console::COOKIE, user.refresh),
                );
                if *method == "POST" {
                    // The session's own token, from one of its pages.
                    let home = app
                        .client
                        .get(app.url("/console"))
                        .header(
                            "cookie",
                            format!("{}={}", crate::console::COOKIE, user.refresh),
                        )
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    let csrf = crate::console::csrf_in(&home);
                    req = req.form_body(&[("csrf", csrf.as_str()), ("decision", "approve")]);
                }
            } else if *method == "POST" {
                req = req.form_body(&[("csrf", "")]);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let to_sign_in = status == 303
                && res.headers().get("location").and_then(|v| v.to_str().ok())
                    == Some("/console/masuk");
            let ok = match cell {
                'R' => to_sign_in,
                'F' => status == 403,
                'N' => status == 404,
                'A' => !matches!(status, 401 | 403 | 404) && !to_sign_in,
                'a' => !matches!(status, 401 | 403) && !to_sign_in,
                _ => panic!("unknown cell {cell}"),
            };
            if status >= 500 || !ok {
                wrong.push(format!(
                    "{method} {route} as {caller}: expected {cell}, got {status}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "console pages differ from the table:\n{}",
        wrong.join("\n")
    );
}
