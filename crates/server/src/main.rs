use clap::Parser;

fn main() -> std::process::ExitCode {
    peken_server::malloc::apply();
    run()
}

#[tokio::main]
async fn run() -> std::process::ExitCode {
    let cli = peken_server::cli::Cli::parse();
    match peken_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peken: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
