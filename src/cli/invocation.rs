//! How the user started this process, so that a replay line can be pasted as it is printed:
//! the binary's own path as it was typed (`./target/release/watermark`, or `watermark` from
//! the `PATH`), or `cargo run --release --` when cargo started it. TigerBeetle's rule says a
//! failure prints the command that replays it; a command for a different entry point than
//! the user's is one more thing to translate.

use crate::cli::output::shell_quote;
use std::path::Path;

/// The words a replay line starts with, before `run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    program: String,
}

impl Invocation {
    /// How this process was started. cargo sets `CARGO` and `CARGO_MANIFEST_DIR` for the
    /// programs it runs (`cargo run`, and the tests that run the binary), and a shell does
    /// not.
    pub fn current() -> Invocation {
        let argv0 = std::env::args_os()
            .next()
            .map(|word| word.to_string_lossy().into_owned())
            .unwrap_or_default();
        let executable = std::env::current_exe().unwrap_or_default();
        let through_cargo =
            std::env::var_os("CARGO").is_some() && std::env::var_os("CARGO_MANIFEST_DIR").is_some();
        Invocation::detect(&argv0, &executable, through_cargo)
    }

    /// The invocation of a binary at `executable`, typed as `argv0`. Through cargo the
    /// profile is read from the directory the binary was built into: `target/debug` is
    /// `cargo run --`, `target/release` is `cargo run --release --`, any other directory a
    /// custom profile of that name. A binary outside any profile directory is named as typed.
    pub fn detect(argv0: &str, executable: &Path, through_cargo: bool) -> Invocation {
        let profile = executable
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str());
        let program = match (through_cargo, profile) {
            (true, Some("debug")) => "cargo run --".to_string(),
            (true, Some("release")) => "cargo run --release --".to_string(),
            (true, Some(profile)) if is_profile_name(profile) => {
                format!("cargo run --profile {profile} --")
            }
            _ if argv0.is_empty() => "watermark".to_string(),
            _ => shell_quote(argv0),
        };
        Invocation { program }
    }

    /// The words before the subcommand, quoted for a POSIX shell.
    pub fn program(&self) -> &str {
        &self.program
    }
}

/// Whether a directory name can be a cargo profile (cargo allows letters, digits, `-` and
/// `_`). Anything else means the binary is not where cargo builds, so it is named as typed.
fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(argv0: &str, executable: &str, through_cargo: bool) -> String {
        Invocation::detect(argv0, Path::new(executable), through_cargo)
            .program()
            .to_string()
    }

    #[test]
    fn a_binary_run_from_a_shell_is_named_as_typed() {
        assert_eq!(
            program(
                "./target/release/watermark",
                "/work/w/target/release/watermark",
                false
            ),
            "./target/release/watermark"
        );
        assert_eq!(
            program("watermark", "/usr/local/bin/watermark", false),
            "watermark"
        );
        assert_eq!(
            program("/tmp/my dir/watermark", "/tmp/my dir/watermark", false),
            "'/tmp/my dir/watermark'"
        );
        assert_eq!(program("", "/x/watermark", false), "watermark");
    }

    #[test]
    fn a_binary_cargo_ran_is_replayed_with_cargo_in_the_same_profile() {
        assert_eq!(
            program(
                "target/release/watermark",
                "/w/target/release/watermark",
                true
            ),
            "cargo run --release --"
        );
        assert_eq!(
            program("target/debug/watermark", "/w/target/debug/watermark", true),
            "cargo run --"
        );
        assert_eq!(
            program(
                "target/profiling/watermark",
                "/w/target/profiling/watermark",
                true
            ),
            "cargo run --profile profiling --"
        );
    }
}
