//! Building the application: settings → state → HTTP server (+ workers), bound to a port that
//! tests can ask for as 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{HttpServer, web};
use anyhow::Context;
use peken_kernel::AppState;
use peken_kernel::auth::{JwtKeys, PasswordHasherConfig};
use peken_kernel::cache::Stores;
use peken_kernel::clock::Clock;
use peken_kernel::media::MediaStore;
use peken_kernel::metrics::Metrics;
use peken_kernel::period::WorkingCalendar;
use peken_kernel::policy::PolicyStore;
use peken_kernel::replica::ReadReplica;
use peken_kernel::settings::Settings;
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use utoipa_swagger_ui::SwaggerUi;

use crate::workers::Workers;
use crate::{guard, middleware, routes, secrets};

/// Connects to the database and applies pending migrations.
pub async fn connect(settings: &Settings, migrate: bool) -> anyhow::Result<DatabaseConnection> {
    if settings.is_embedded() && settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    }
    let db = peken_kernel::db::connect(
        &settings.effective_database_url(),
        settings.db_max_connections,
    )
    .await
    .context("connecting to the database")?;
    if migrate {
        Migrator::up(&db, None)
            .await
            .context("applying migrations")?;
    }
    Ok(db)
}

/// Everything the handlers share, from settings.
pub async fn build_state(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let mut db = connect(&settings, settings.auto_migrate).await?;
    let metrics = Arc::new(Metrics::new().context("registering metrics")?);
    peken_kernel::db::count_statements(&mut db, metrics.db_statements.clone());
    let jwt_secret = match &settings.jwt_secret {
        Some(secret) => secret.clone(),
        None => secrets::load_or_create(&settings.data_dir, "jwt_secret")?,
    };
    let webhook_secret = match &settings.payment_webhook_secret {
        Some(secret) => secret.clone(),
        None => secrets::load_or_create(&settings.data_dir, "payment_webhook_secret")?,
    };
    let document_secret = match &settings.document_secret {
        Some(secret) => secret.clone(),
        None => secrets::load_or_create(&settings.data_dir, "document_secret")?,
    };
    let stores = match &settings.redis_url {
        Some(url) => {
            Stores::redis_within(url.expose(), &settings.redis_prefix, settings.cache_budget)
                .context("PEKEN_REDIS_URL is not a valid Redis URL")?
        }
        None => Stores::memory_within(settings.cache_budget),
    };
    let media = MediaStore::from_settings(&settings).context("opening the media store")?;
    let regions = peken_identity::service::load_regions(&db)
        .await
        .context("loading regions")?;
    let replica = match &settings.database_read_url {
        Some(url) => Some(read_replica(&db, url.expose(), &settings, &metrics).await?),
        None => None,
    };
    let state = AppState {
        db,
        replica,
        jwt: Arc::new(JwtKeys::new(&jwt_secret, &settings.jwt_previous_secrets)),
        passwords: PasswordHasherConfig::with_concurrency(
            settings.password_hash_memory_kib,
            settings.password_hash_concurrency as usize,
        ),
        calendar: Arc::new(WorkingCalendar::new(settings.holidays.iter().copied())),
        regions: Arc::new(regions),
        metrics,
        settings: Arc::new(settings),
        clock,
        stores,
        webhook_secret,
        document_secret,
        policies: Arc::new(PolicyStore::new()),
        media,
        locals: Arc::default(),
    };
    peken_identity::service::bootstrap_admin(&state).await?;
    Ok(state)
}

/// The read replica's connection, probed once now (a replica that is down leaves reads on the
/// primary and fails nothing) and then in the background.
async fn read_replica(
    primary: &DatabaseConnection,
    url: &str,
    settings: &Settings,
    metrics: &Metrics,
) -> anyhow::Result<Arc<ReadReplica>> {
    let mut db = peken_kernel::db::connect_replica(url, settings.db_max_connections)
        .await
        .context("PEKEN_DATABASE_READ_URL is not a usable database URL")?;
    peken_kernel::db::count_statements(&mut db, metrics.db_statements.clone());
    let replica = Arc::new(ReadReplica::new(
        db,
        settings.database_read_max_lag,
        metrics,
    ));
    let state = replica.probe(primary).await;
    tracing::info!(state = state.as_str(), "read replica configured");
    replica.spawn_probe(primary.clone(), settings.database_read_probe_interval);
    Ok(replica)
}

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// The OpenAPI document as served at [`ApiDocument::PATH`]: its JSON and that JSON's `ETag`.
struct ApiDocument {
    body: web::Bytes,
    etag: String,
}

impl ApiDocument {
    const PATH: &'static str = "/api-docs/openapi.json";

    fn new(api: &utoipa::openapi::OpenApi) -> anyhow::Result<Self> {
        let body = api.to_json().context("serialising the OpenAPI document")?;
        Ok(Self {
            etag: peken_kernel::http_cache::etag_of(body.as_bytes()),
            body: web::Bytes::from(body),
        })
    }
}

/// The OpenAPI document, or `304` when `If-None-Match` names it.
async fn api_document(
    request: actix_web::HttpRequest,
    doc: web::Data<ApiDocument>,
) -> actix_web::HttpResponse {
    use peken_kernel::http_cache::{Audience, tagged};
    tagged(
        &request,
        doc.body.clone(),
        &doc.etag,
        "application/json",
        Audience::Public,
        300,
    )
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let state = build_state(settings, clock).await?;
        Self::with_state(listener, state)
    }

    pub fn with_state(listener: TcpListener, state: AppState) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        // Made once and shared by the workers, which serve its bytes: each worker's routes
        // would otherwise keep a copy of the whole document to serialise on every request.
        let spec = web::Data::new(ApiDocument::new(&routes::openapi())?);
        let data = web::Data::new(state.clone());
        let settings = state.settings.clone();
        let server = HttpServer::new(move || {
            let (app, _) = routes::app();
            app.app_data(data.clone())
                .app_data(routes::json_config(settings.max_body_bytes))
                .app_data(web::PayloadConfig::new(settings.max_upload_bytes))
                .app_data(web::QueryConfig::default().error_handler(middleware::query_error))
                .app_data(web::PathConfig::default().error_handler(middleware::path_error))
                .app_data(spec.clone())
                .route(ApiDocument::PATH, web::get().to(api_document))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .config(utoipa_swagger_ui::Config::new([ApiDocument::PATH])),
                )
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(guard::refuse_control_characters))
                .wrap(from_fn(middleware::observe))
                .wrap(from_fn(middleware::language))
        })
        .listen(listener)?
        .workers(state.settings.http_workers)
        .shutdown_timeout(state.settings.shutdown_timeout.as_secs())
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs until SIGTERM or Ctrl-C: then stops accepting, lets in-flight requests finish within
    /// the shutdown timeout, and stops the workers.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let workers = Workers::start(&self.state)?;
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        shutdown_signal().await;
        tracing::info!("shutting down");
        let ((), ()) = tokio::join!(
            handle.stop(true),
            workers.stop(self.state.settings.shutdown_timeout)
        );
        server.await.context("server task")?.context("server")?;
        Ok(())
    }

    /// Runs until the process ends; for tests, which drop the runtime instead of signalling.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
