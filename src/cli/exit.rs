//! Exit codes, and the one kind of error the CLI reports itself: bad input.
//!
//! 0 the expectation was met, 1 it was not, 2 bad input or usage, 3 a run panicked. A panic
//! outranks a failure because a panicked run never reached its checkers: its verdict says
//! nothing about the guarantee, only that the simulator or an actor broke.

use std::process::ExitCode;
use watermark_sim::runner::RunReport;

/// What the process exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Met,
    NotMet,
    BadInput,
    Panicked,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Met => 0,
            Exit::NotMet => 1,
            Exit::BadInput => 2,
            Exit::Panicked => 3,
        }
    }

    /// The exit for one run.
    pub fn for_report(report: &RunReport) -> Exit {
        if report.panic.is_some() {
            Exit::Panicked
        } else if report.passed {
            Exit::Met
        } else {
            Exit::NotMet
        }
    }

    /// The exit for many runs: 3 if any panicked, else 1 if any failed, else 0.
    pub fn for_reports<'a>(reports: impl IntoIterator<Item = &'a RunReport>) -> Exit {
        reports
            .into_iter()
            .map(Exit::for_report)
            .max()
            .unwrap_or(Exit::Met)
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Input the CLI cannot act on. Printed as one line, `error: <message>`, with exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadInput(pub String);

impl BadInput {
    /// The line printed on stderr. Newlines are folded so the error stays one line even when
    /// a message from elsewhere carries one.
    pub fn line(&self) -> String {
        format!("error: {}", self.0.replace(['\r', '\n'], " "))
    }
}

impl From<String> for BadInput {
    fn from(message: String) -> BadInput {
        BadInput(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_outranks_a_failure_which_outranks_a_pass() {
        assert!(Exit::Panicked > Exit::NotMet);
        assert!(Exit::NotMet > Exit::Met);
        assert_eq!(Exit::for_reports([]), Exit::Met);
    }

    #[test]
    fn bad_input_is_one_line_starting_with_error() {
        let line = BadInput("a\nb".to_string()).line();
        assert_eq!(line, "error: a b");
    }
}
