//! The `trifecta` binary: parse the command line, set up tracing, run.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use trifecta::cli::LogFormat;

fn main() -> ExitCode {
    let cli = trifecta::cli::Cli::parse();
    // refinery narrates every migration at info; its warnings and errors still show.
    let directives = format!("refinery_core=warn,{}", cli.log);
    let filter = match EnvFilter::try_new(directives) {
        Ok(filter) => filter,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: --log {:?} is not a valid log filter ({err}); use a level such as `info` or directives such as `trifecta=debug,info`",
                cli.log
            );
            return ExitCode::FAILURE;
        }
    };
    // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(colour).init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line that says what to fix, never a panic or a backtrace.
            let line = format!("{err:#}").replace('\n', " ");
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: trifecta::cli::Cli) -> anyhow::Result<()> {
    let runtime = trifecta::server::runtime().context("cannot start the async runtime")?;
    let mut out = std::io::stdout();
    runtime.block_on(trifecta::cli::run(cli, &mut out))?;
    Ok(())
}
