//! trailwhy: explains failed GitHub Actions OIDC role assumptions and ECR calls from
//! CloudTrail logs. The binary is thin glue; see ARCHITECTURE.md for the data flow
//! source → decode → select → correlate → explain → render.

use std::io;
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod command;

use command::Exit;
use trailwhy::report;

/// mimalloc: small allocations (jq values in `query`) cost a fraction of glibc malloc's.
/// (`--features system-alloc` keeps the system allocator, for heap profilers.)
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Err(e) = trailwhy::interrupt::install() {
        eprintln!("trailwhy: warning: cannot install the Ctrl-C handler: {e}");
    }
    let result = match &cli.command {
        cli::Command::Explain(a) => command::explain::run(a),
        cli::Command::Check(a) => command::check::run(a),
        cli::Command::Simulate(a) => command::simulate::run(a),
        cli::Command::Report(a) => command::report::run(a),
        cli::Command::Query(a) => command::query::run(a),
        cli::Command::Verify(a) => command::verify::run(a),
        cli::Command::Watch(a) => command::watch::run(a),
        cli::Command::Athena(cli::AthenaCommand::Ddl(a)) => command::athena::ddl(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) if e.is::<command::pipeline::DryRun>() => ExitCode::from(Exit::Ok as u8),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(Exit::Ok as u8);
            }
            let msg: Vec<String> = e
                .chain()
                .map(|c| report::sanitize::terminal_safe(&c.to_string()).into_owned())
                .collect();
            eprintln!("trailwhy: error: {}", msg.join(": "));
            ExitCode::from(Exit::Fatal as u8)
        }
    }
}
