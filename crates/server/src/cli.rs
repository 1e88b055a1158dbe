//! The `peken` command line.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use peken_kernel::clock::SystemClock;
use peken_kernel::settings::Settings;

use crate::{Application, seed, startup};

#[derive(Debug, Parser)]
#[command(
    name = "peken",
    version,
    about = "The city marketplace for civil servants' staples"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the background workers (the default).
    Serve {
        /// Load the demo city first (only into an empty database).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load data into the database.
    Seed {
        /// A believable small city: OPDs, ASN, merchants of each kind, commodities, listings.
        #[arg(long)]
        demo: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Act as the payment provider: send a signed "paid" callback for a payment, so the flow
    /// can be tried without a provider.
    Pay {
        /// The payment id from the checkout response.
        payment_id: String,
        /// The amount paid, in whole rupiah (the callback is refused if it differs from the bill).
        #[arg(long)]
        amount: i64,
        /// The provider's reference; a new one is made up when absent.
        #[arg(long)]
        reference: Option<String>,
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Ask a running server whether it is alive (`GET /healthz`); exit 0 if so, 1 if not. The
    /// container image has no curl, so its HEALTHCHECK runs this.
    Healthcheck {
        /// The URL to ask; by default `/healthz` on the port of `PEKEN_LISTEN` on this host.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every row's hash and check every link of the chain and the head; exits with
    /// failure, naming each broken row, when a row was edited or deleted.
    Verify,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Openapi => {
            println!("{}", crate::routes::openapi_json());
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let settings = load_settings()?;
            let db = startup::connect(&settings, false).await?;
            audit_verify(&db).await
        }
        Command::Migrate => {
            let settings = load_settings()?;
            startup::connect(&settings, true).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed { demo } => {
            anyhow::ensure!(demo, "say what to seed: --demo");
            let mut settings = load_settings()?;
            settings.auto_migrate = true;
            let state = startup::build_state(settings, Arc::new(SystemClock)).await?;
            seed::demo(&state).await
        }
        Command::Pay {
            payment_id,
            amount,
            reference,
            url,
        } => {
            let settings = load_settings()?;
            let secret = match &settings.payment_webhook_secret {
                Some(secret) => secret.clone(),
                None => {
                    crate::secrets::load_or_create(&settings.data_dir, "payment_webhook_secret")?
                }
            };
            pay(&secret, &url, &payment_id, amount, reference).await
        }
        Command::Healthcheck { url } => healthcheck(url).await,
        Command::Serve { demo } => {
            let mut settings = load_settings()?;
            if demo {
                settings.auto_migrate = true;
            }
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            if demo {
                seed::demo(app.state()).await?;
            }
            tracing::info!(port = app.port(), "listening; API docs at /docs");
            app.run_until_stopped().await
        }
    }
}

fn load_settings() -> anyhow::Result<Settings> {
    let settings = Settings::from_env().context("reading PEKEN_* settings")?;
    peken_kernel::telemetry::init(&settings.log_filter, settings.log_format, std::io::stdout);
    Ok(settings)
}

/// Walks the audit chain and prints what it found; an error when it is broken.
async fn audit_verify(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let report = peken_audit::verify(db)
        .await
        .context("reading the audit log")?;
    for broken in &report.breaks {
        println!("BROKEN {broken}");
    }
    println!(
        "audit log: {} rows read, head at row {} with hash {}",
        report.rows, report.head_seq, report.head_hash
    );
    anyhow::ensure!(
        report.is_intact(),
        "the audit log is broken in {} place(s)",
        report.breaks.len()
    );
    println!("intact");
    Ok(())
}

/// Signs and posts a provider callback, printing the server's answer.
async fn pay(
    secret: &peken_kernel::settings::Secret,
    url: &str,
    payment_id: &str,
    amount: i64,
    reference: Option<String>,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&peken_order::http::CallbackBody {
        payment_id: payment_id.to_owned(),
        provider_reference: reference
            .unwrap_or_else(|| format!("SIM-{}", peken_kernel::db::new_id())),
        amount,
        paid_at: chrono::Utc::now(),
    })?;
    let signature = peken_order::http::sign(secret.expose(), &body);
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/payments/callback",
            url.trim_end_matches('/')
        ))
        .header("content-type", "application/json")
        .header("X-Peken-Signature", signature)
        .body(body)
        .send()
        .await
        .context("sending the callback")?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{status} {text}");
    anyhow::ensure!(status.is_success(), "the server refused the callback");
    Ok(())
}

/// Gets `/healthz` with a short timeout. It reads only `PEKEN_LISTEN` (not every setting), so
/// it works in a container whose other settings are secrets mounted for the server alone.
async fn healthcheck(url: Option<String>) -> anyhow::Result<()> {
    let url = url.unwrap_or_else(|| {
        let listen = std::env::var("PEKEN_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
        healthz_url(&listen)
    });
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("asking {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

/// The local URL of `/healthz` for a listen address: a wildcard host (`0.0.0.0`, `[::]`) is
/// asked on the loopback address.
fn healthz_url(listen: &str) -> String {
    let (host, port) = listen.rsplit_once(':').unwrap_or((listen, "8080"));
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        other => other,
    };
    format!("http://{host}:{port}/healthz")
}

#[cfg(test)]
mod tests {
    use super::healthz_url;

    #[test]
    fn the_healthcheck_asks_the_loopback_for_a_wildcard_listen_address() {
        assert_eq!(healthz_url("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(healthz_url("[::]:9000"), "http://[::1]:9000/healthz");
        assert_eq!(
            healthz_url("127.0.0.1:8081"),
            "http://127.0.0.1:8081/healthz"
        );
        assert_eq!(healthz_url("peken:80"), "http://peken:80/healthz");
    }
}
