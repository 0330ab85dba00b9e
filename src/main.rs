//! The `watermark` command: see `watermark --help` and DESIGN.md, "The CLI: watermark".

fn main() -> std::process::ExitCode {
    watermark::cli::main()
}
