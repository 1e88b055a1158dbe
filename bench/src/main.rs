//! `peken-bench`: generates a city-sized data set and drives the real HTTP API with a fixed
//! number of concurrent clients, printing throughput, latency percentiles and the server's peak
//! memory next to the machine's own limits (pgbench and `/healthz`).

mod checks;
mod compare;
mod image;
mod load;
mod programme;
mod ratio;
mod rng;
mod seed;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "peken-bench", about = "City-scale data and load for peken")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScaleArg {
    /// 5,000 merchants, ~40,000 listings, 15,000 ASN in 60 OPDs, 5,000 residents.
    City,
    /// A tenth of that or less, for trying the tools.
    Town,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate an empty database and fill it with a city and its order history.
    Seed {
        #[arg(long, value_enum, default_value = "city")]
        scale: ScaleArg,
        /// Completed orders in the history.
        #[arg(long, default_value_t = seed::ORDERS_PER_MONTH)]
        orders: u64,
        /// Months the history covers (default: 300,000 orders a month).
        #[arg(long)]
        months: Option<u32>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Units left on each of the hot listings.
        #[arg(long, default_value_t = 100)]
        hot_stock: i64,
        #[arg(long, env = "PEKEN_DATABASE_URL")]
        database_url: String,
    },
    /// Drive a running server and print the figures.
    Run(load::RunArgs),
    /// Compare the checkout figure of runs with different order histories (their `--json`).
    Compare {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// The same scenarios measured two ways (their `--json`, rows matched by name) side by side:
    /// throughput and p99 of `--other` as a ratio to `--base`.
    Ratio {
        /// What the ratio is, e.g. `replica ÷ primary`.
        #[arg(long)]
        title: String,
        #[arg(long, required = true)]
        base: Vec<std::path::PathBuf>,
        #[arg(long, required = true)]
        other: Vec<std::path::PathBuf>,
    },
    /// Time each of the programme's reports (city-wide and for one kecamatan) on a seeded
    /// database and print their figures.
    Programme {
        #[arg(long, env = "PEKEN_DATABASE_URL")]
        database_url: String,
        /// The camat's kecamatan to time the reports for.
        #[arg(long, default_value = "35.78.01")]
        kecamatan: String,
        /// How many times to run each report.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Time the processing of one ~4 MB 12-megapixel product photo (`peken_media::process`).
    Image {
        /// How many times to process it.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = number.parse().map_err(|_| format!("not a duration: {s}"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("unknown unit in {s}: use s, m or ms")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Seed {
            scale,
            orders,
            months,
            seed,
            hot_stock,
            database_url,
        } => {
            seed::run(&seed::SeedArgs {
                scale: match scale {
                    ScaleArg::City => seed::city::Scale::CITY,
                    ScaleArg::Town => seed::city::Scale::TOWN,
                },
                orders,
                months,
                seed,
                database_url,
                hot_stock,
            })
            .await
        }
        Command::Run(args) => load::run(args).await,
        Command::Compare { files } => compare::run(&files),
        Command::Ratio { title, base, other } => ratio::run(&title, &base, &other),
        Command::Programme {
            database_url,
            kecamatan,
            runs,
        } => programme::run(&database_url, &kecamatan, runs).await,
        Command::Image {
            runs,
            width,
            height,
        } => image::run(runs, width, height),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("soon").is_err());
    }
}

#[cfg(test)]
mod seed_tests {
    /// The generator writes every table with the columns the migrations made: a town with a small
    /// history, seeded into a fresh database (PostgreSQL through `COPY` when
    /// `PEKEN_TEST_DATABASE_URL` is set, else SQLite), passes the seed's own checks.
    #[tokio::test]
    async fn a_town_seeds_into_the_current_schema_and_passes_its_checks() {
        let scratch = match std::env::var("PEKEN_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => Some(
                peken_kernel::scratch::ScratchDatabase::create(&base, "seed")
                    .await
                    .expect("PostgreSQL reachable"),
            ),
            _ => None,
        };
        let file =
            std::env::temp_dir().join(format!("peken-seed-{}.db", uuid::Uuid::new_v4().simple()));
        let database_url = scratch.as_ref().map_or_else(
            || format!("sqlite://{}?mode=rwc", file.display()),
            |s| s.url.clone(),
        );
        let args = crate::seed::SeedArgs {
            scale: crate::seed::city::Scale::TOWN,
            orders: 200,
            months: None,
            seed: 7,
            database_url,
            hot_stock: 100,
        };
        crate::seed::run(&args).await.expect("the town seeds");
        std::fs::remove_file(&file).ok();
    }
}
