//! Every input a scenario file must be refused for, one file each in `tests/refused/`: the
//! binary exits 2 and prints exactly one line, the one the file expects. The expected line is
//! the file's first comment (`# expect: FILE:LINE: KEY: ...`, `FILE` standing for the path)
//! or, for files that cannot hold a comment (empty, JSON, bytes), a sidecar `NAME.expect`.

mod cli_support;
use cli_support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn refused_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/refused");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("tests/refused exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    files
}

/// The line the file expects, with `FILE` in place of its path.
fn expected_line(file: &Path) -> String {
    let sidecar = file.with_extension("expect");
    let text = if sidecar.exists() {
        std::fs::read_to_string(&sidecar).expect("a readable sidecar")
    } else {
        std::fs::read_to_string(file).expect("a UTF-8 refused file")
    };
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("# expect: ")
        .unwrap_or(line)
        .trim_end()
        .to_string()
}

#[test]
fn every_refused_input_exits_2_with_exactly_its_expected_line() {
    let files = refused_files();
    assert!(files.len() >= 30, "only {} refused inputs", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .expect("under the manifest directory");
        let output = Command::new(WATERMARK)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "run",
                relative.to_str().expect("a UTF-8 path"),
                "--seed",
                "0",
            ])
            .output()
            .expect("the watermark binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let expected = format!(
            "error: {}\n",
            expected_line(file).replacen("FILE", &relative.display().to_string(), 1)
        );
        if output.status.code() != Some(2) || stderr != expected {
            failures.push(format!(
                "{}: exit {:?}\n  expected {expected}  got      {stderr}",
                relative.display(),
                output.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
