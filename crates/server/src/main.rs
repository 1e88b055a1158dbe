use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = peken_server::cli::Cli::parse();
    match peken_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peken: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
