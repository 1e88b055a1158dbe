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
