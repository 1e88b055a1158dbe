//! HTTP routes of the ledger, turnover, payouts and reconciliation.

mod batches;
mod merchant_payouts;
mod reports;
mod statements;

use actix_web::HttpRequest;
use actix_web::http::header;
use peken_kernel::role_set;
use utoipa_actix_web::service_config::ServiceConfig;

role_set!(pub TreasuryOrAdmin = [Treasury, Admin]);
role_set!(pub TurnoverReaders = [Merchant, Treasury, Admin]);
role_set!(pub LedgerReaders = [Merchant, Treasury]);
role_set!(pub PayoutReaders = [Merchant, Treasury, Admin]);

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    reports::configure(cfg);
    batches::configure(cfg);
    statements::configure(cfg);
    merchant_payouts::configure(cfg);
}

/// Whether the client asked for CSV (`Accept: text/csv`).
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}

fn csv_response(body: String, filename: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}
