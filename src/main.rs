//! The `watermark` command: see `watermark --help` and docs/ARCHITECTURE.md, "The command line".

fn main() -> std::process::ExitCode {
    watermark::cli::main()
}
