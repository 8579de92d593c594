use clap::Parser;
use driftwatch::config::LogFormat;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = driftwatch::cli::Cli::parse();
    if !matches!(cli.command, driftwatch::cli::Command::Run) {
        // A listing piped into `head` ends quietly, as other Unix tools do,
        // instead of panicking on a closed stdout. The service keeps Rust's
        // default: it writes to no pipe a reader may close.
        // SAFETY: called before any thread is started; SIG_DFL is a valid
        // disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("driftwatch=info,warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files or
        // a log collector.
        .with_ansi(std::io::stderr().is_terminal());
    match driftwatch::cli::log_format(&cli) {
        LogFormat::Json => logs.json().with_current_span(true).init(),
        LogFormat::Human => logs.init(),
    }
    match driftwatch::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("driftwatch: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
