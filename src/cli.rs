//! Command line: `osprey serve | check-config | print-config`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "osprey",
    version,
    about = "Watches Kafka clusters and keeps their history in SQL."
)]
struct Cli {
    /// TOML configuration file; `OSPREY__SECTION__KEY` environment variables override it.
    #[arg(long, short, global = true, env = "OSPREY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Poll the configured clusters and serve the dashboard and the JSON API.
    Serve,
    /// Read and validate the configuration, then exit (non-zero on an error).
    CheckConfig,
    /// Print the effective configuration, every key with its value and a comment; secrets redacted.
    PrintConfig,
}

fn load(path: Option<&std::path::Path>) -> Result<Config, crate::config::ConfigError> {
    Config::load(path, std::env::vars())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("osprey: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::PrintConfig => {
            print!("{}", config.render_commented());
            ExitCode::SUCCESS
        }
        Command::CheckConfig => match crate::app::connect_clusters(&config).map(drop) {
            Ok(()) => {
                println!("configuration is valid: {} cluster(s)", config.clusters.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("osprey: {e}");
                ExitCode::from(2)
            }
        },
        Command::Serve => serve(config),
    }
}

fn serve(config: Config) -> ExitCode {
    crate::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("osprey: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::app::run(config, crate::shutdown::signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Osprey stopped on an error");
            eprintln!("osprey: {e}");
            ExitCode::FAILURE
        }
    }
}
