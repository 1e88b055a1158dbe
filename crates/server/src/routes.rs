//! The route table and the OpenAPI document, built from the same registrations so they cannot
//! disagree.

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, Error, HttpResponse, get, web};
use peken_kernel::{ApiError, AppState};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{AppExt, scope};

use crate::middleware;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "peken",
        description = "The city marketplace for civil servants' staples: catalog, checkout, \
                       payments, ledger, payouts and reconciliation.\n\nEvery error is \
                       `application/problem+json` with a stable `code`. Its `title`, `detail` \
                       and field `message`s are Indonesian unless `Accept-Language` prefers \
                       English (`en`); `code` never changes. `GET /api/v1/problem-codes` lists \
                       every code with its meaning in both languages.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login, sessions and registration"),
        (name = "me", description = "The caller's own profile, password, addresses and favourites"),
        (name = "users", description = "Staff users, OPDs and ASN"),
        (name = "regions", description = "Official region codes"),
        (name = "policies", description = "City policies changed at run time"),
        (name = "merchants", description = "Merchant registration, verification, staff, listings and stock"),
        (name = "catalog", description = "Commodities, categories, HET ceilings, browse and search"),
        (name = "checkout", description = "Placing a cart"),
        (name = "orders", description = "The order lifecycle"),
        (name = "payments", description = "Provider callbacks, transfer proofs and their verification"),
        (name = "mandate", description = "The ASN monthly purchase mandate and its compliance report"),
        (name = "mail", description = "The outbox of outgoing mail"),
        (name = "notifications", description = "The caller's in-app inbox and push devices"),
        (name = "turnover", description = "Merchant turnover, UMKM class, turnover alerts and the city report"),
        (name = "ledger", description = "The double-entry journal and the trial balance"),
        (name = "programme", description = "The programme's reports for the cooperatives office and the camat: shops without sales, turnover, orders and buyers since launch, UMKM classes, the LKPJ workbook"),
        (name = "payouts", description = "Payout batches, transfer files, failures, holds, the payout service level, and a shop's own payouts with their remittance advice"),
        (name = "reconciliation", description = "Bank statements, matching, exceptions and the daily close"),
        (name = "audit", description = "The audit log of money, stock, status and policy changes"),
        (name = "media", description = "Stored photos, public and cached for good"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The application's routes and the OpenAPI document they describe.
pub fn app() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(healthz)
        .service(readyz)
        .service(metrics)
        .configure(peken_media::configure)
        .service(
            scope::scope("/api/v1")
                .configure(peken_identity::http::configure)
                .configure(crate::policies::configure)
                .configure(crate::problem_codes::configure)
                .configure(peken_catalog::http::configure)
                .configure(peken_merchant::http::configure)
                .configure(peken_order::http::configure)
                .configure(peken_mail::http::configure)
                .configure(peken_payout::http::configure)
                .configure(peken_audit::http::configure),
        )
        .split_for_parts();
    // The web console is HTML for people, not part of the JSON API: registered after the
    // document is taken, so it stays out of it.
    let app = app.service(web::scope("/console").configure(peken_console::configure));
    (app, api)
}

/// The OpenAPI document as served and committed.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = app().1;
    crate::openapi::add_common_responses(&mut api);
    api
}

pub fn openapi_json() -> String {
    openapi().to_pretty_json().unwrap_or_default()
}

/// Liveness: the process answers. Depends on nothing.
#[utoipa::path(tag = "ops", responses((status = 200, description = "Alive", body = String)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: 200 when this process can serve, which needs only the database. Redis is optional
/// (cache, rate limits and revocations fall back to in-process stores when it does not answer),
/// so a Redis outage is reported in the body (`redis: unavailable`) but keeps the process in
/// service; failing readiness there would take every replica out of the load balancer at once.
/// The same holds for the read replica (`read replica: …`): its reads fall back to the primary.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Ready; the body names the state of optional dependencies (`ready`, then `redis: ok` or `redis: unavailable` when Redis is configured, then `read replica: ok`, `read replica: lagging, reads on the primary` or `read replica: unavailable, reads on the primary` when a read replica is configured)", body = String),
        (status = 503, description = "The database does not answer (database_unavailable)", body = peken_kernel::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !peken_kernel::db::ping(&state.db).await {
        return Err(ApiError::unavailable("database_unavailable"));
    }
    let mut body = String::from("ready");
    if let Some(redis) = &state.stores.redis {
        let redis_state = if redis.ping().await {
            "ok"
        } else {
            "unavailable"
        };
        body.push_str("\nredis: ");
        body.push_str(redis_state);
    }
    // The replica is optional too: lagging or down, its reads go to the primary.
    if let Some(replica) = &state.replica {
        body.push_str("\nread replica: ");
        body.push_str(replica.state().as_str());
    }
    Ok(HttpResponse::Ok().content_type("text/plain").body(body))
}

/// Prometheus metrics in the text exposition format. When `PEKEN_METRICS_TOKEN` is set, only
/// for requests bearing it (`Authorization: Bearer <token>`); otherwise open, for a network
/// that keeps it internal.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Metrics", body = String),
        (status = 401, description = "PEKEN_METRICS_TOKEN is set and the request does not bear it (metrics_token_required)", body = peken_kernel::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
async fn metrics(
    state: web::Data<AppState>,
    request: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.settings.metrics_token {
        let presented = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !token.matches(presented) {
            return Err(ApiError::unauthorized(
                "metrics_token_required",
                "this server's metrics need its metrics token as a bearer token",
            ));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}

/// Answer for any path that matches no route.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(
        ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found")
            .with_detail("no such route"),
    )
}

pub(crate) fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(middleware::json_error)
}
