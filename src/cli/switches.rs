//! `watermark switches`: every switch `--bug` accepts — its name, whether it plants a bug or
//! restores older Kafka behaviour, the KIP or JIRA that changed it, the releases that had
//! it (the first with it up to the first without it), and what it does.

use crate::cli::exit::Exit;
use std::fmt::Write as _;
use watermark_broker_core::bugs::{BugSwitch, SwitchKind};

pub fn switches_command() -> Exit {
    let width = BugSwitch::ALL
        .iter()
        .map(|switch| switch.name().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for switch in BugSwitch::ALL {
        let kind = match switch.kind() {
            SwitchKind::Bug => "bug",
            SwitchKind::OlderBehaviour => "older behaviour",
        };
        let origin = match (
            switch.changed_by(),
            switch.affected_since(),
            switch.fixed_in(),
        ) {
            (Some(change), Some(since), Some(release)) => {
                format!("{change}: Kafka {since} up to {release}, which changed it")
            }
            _ => "planted: no Kafka release behaved so".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {kind}; {origin}\n{:<width$}  {}",
            switch.name(),
            "",
            switch.description()
        );
    }
    crate::cli::print(&out);
    Exit::Met
}
