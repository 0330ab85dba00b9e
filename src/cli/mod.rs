//! The `watermark` command line. Each command lives in its own file; this one parses the
//! arguments, dispatches, and turns the outcome into an exit code. Nothing here panics on
//! user input: every bad input is one `error:` line and exit code 2.

pub mod args;
pub mod bench;
pub mod bench_detect;
pub mod check_history;
pub mod checkers;
pub mod exit;
pub mod explain;
pub mod explain_filter;
pub mod explain_mermaid;
pub mod explain_text;
pub mod invocation;
pub mod list;
pub mod matrix;
pub mod matrix_render;
pub mod merge;
pub mod new;
pub mod outcomes;
pub mod output;
pub mod progress;
pub mod report;
pub mod report_html;
pub mod run;
pub mod schema;
pub mod shrink;
pub mod source;
pub mod sweep;
pub mod sweep_summary;
pub mod switches;
#[cfg(test)]
pub mod test_support;
pub mod tour;
pub mod versions;
pub mod violation_groups;

use crate::cli::args::{Cli, Command};
use crate::cli::exit::{BadInput, Exit};
use clap::Parser;
use std::io::Write as _;
use std::process::ExitCode;

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help and --version, as documented.
    let cli = Cli::parse();
    install_tracing();
    let outcome = match cli.command {
        None => tour::tour_command(&cli.tour),
        Some(Command::List) => Ok(list::list_command()),
        Some(Command::Checkers(args)) => Ok(checkers::checkers_command(args.marks)),
        Some(Command::Switches) => Ok(switches::switches_command()),
        Some(Command::Run(args)) => run::run_command(&args),
        Some(Command::Versions(args)) => versions::versions_command(&args),
        Some(Command::Matrix(args)) => matrix::matrix_command(&args),
        Some(Command::Sweep(args)) => sweep::sweep_command(&args),
        Some(Command::Merge(args)) => merge::merge_command(&args),
        Some(Command::Bench(args)) => bench::bench_command(&args),
        Some(Command::Schema(args)) => Ok(schema::schema_command(args.markdown)),
        Some(Command::New(args)) => new::new_command(&args.name, args.output.as_deref()),
        Some(Command::Report(args)) => report::report_command(&args),
        Some(Command::Explain(args)) => explain::explain_command(&args),
        Some(Command::Shrink(args)) => shrink::shrink_command(&args),
        Some(Command::CheckHistory(args)) => check_history::check_history_command(&args),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(bad_input) => {
            eprintln!("{}", bad_input.line());
            Exit::BadInput.into()
        }
    }
}

/// With `RUST_LOG` set, every step record is also a `tracing` event (one span per node,
/// simulated time as a field), written to stderr; the hashed trace stays the source of truth.
fn install_tracing() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::from_default_env();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

/// Writes to stdout. A closed pipe (`watermark sweep … | head`) is not an error worth a
/// panic, so write errors are ignored.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Worker threads: the `--jobs` value, else every core.
pub fn jobs(requested: Option<u64>) -> usize {
    requested
        .and_then(|jobs| usize::try_from(jobs).ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()))
}

/// Parses a seed range with the simulator's parser, as bad input.
pub fn seed_range(text: &str) -> Result<std::ops::Range<u64>, BadInput> {
    watermark_sim::sweep::parse_seed_range(text).map_err(BadInput)
}
