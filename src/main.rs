use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("driftwatch=info,warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = driftwatch::cli::Cli::parse();
    match driftwatch::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("driftwatch: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
