//! The `greenlight` command.
#![expect(clippy::print_stderr, reason = "a runtime that cannot start is reported on stderr")]

mod cli;
mod commands;
#[cfg(test)]
mod config_docs;
#[cfg(test)]
mod examples;
mod flags;
mod output;
mod printer;
mod registry;
mod reproduce;
mod shared;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(greenlight_report::ExitCode::Usage as u8),
            };
        }
    };
    // The only read of the process environment: everything below reads this snapshot.
    let env = greenlight_env::Env::capture();
    cli::init_tracing(cli.verbosity(), &env);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(greenlight_report::ExitCode::Errored as u8);
        }
    };
    let code = runtime.block_on(commands::dispatch(cli, &env));
    // A stuck task must not keep the process alive after the report is written.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(code.code() as u8)
}
