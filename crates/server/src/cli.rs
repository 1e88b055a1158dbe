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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Openapi => {
            println!("{}", crate::routes::openapi_json());
            Ok(())
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
