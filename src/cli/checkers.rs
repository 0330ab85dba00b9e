//! `watermark checkers`: the checker registry — every property a run is judged by, the name
//! its source gives it, where the definition comes from, what it reads and its file — and,
//! with `--marks`, every coverage mark a scenario can require.

use crate::cli::exit::Exit;
use std::fmt::Write as _;
use watermark_broker_core::mark::Mark;
use watermark_sim::checkers::{CheckerKind, GuaranteeEffect, REGISTRY};

pub fn checkers_command(marks: bool) -> Exit {
    let mut out = String::new();
    if marks {
        let width = Mark::ALL
            .iter()
            .map(|mark| mark.name().len())
            .max()
            .unwrap_or(0);
        for mark in Mark::ALL {
            let _ = writeln!(out, "{:<width$}  {}", mark.name(), mark.description());
        }
        crate::cli::print(&out);
        return Exit::Met;
    }
    for info in REGISTRY {
        let kind = match info.kind {
            CheckerKind::ClientHistory => "client history and final logs, after the run",
            CheckerKind::ReplicaState => "replica state, after every broker or controller event",
            CheckerKind::GroupCommits => {
                "offset commits the group coordinators accepted, and the history, after the run"
            }
            CheckerKind::Liveness => "convergence, at the end of the liveness phase",
        };
        let judges = match (info.informational, info.effect) {
            (true, _) => "informational: never fails a run on its own",
            (false, GuaranteeEffect::Loss) => "breaks at-least-once",
            (false, GuaranteeEffect::Duplication) => "breaks at-most-once",
            (false, GuaranteeEffect::Integrity) => {
                "breaks at-least-once, and so exactly-once: the log itself cannot be trusted"
            }
            (false, GuaranteeEffect::Ordering) => {
                "makes the ordering verdict `violated` (judged if the scenario expects one)"
            }
            (false, GuaranteeEffect::None) if info.kind == CheckerKind::ClientHistory => {
                "reported; fails a run only if the scenario requires its absence"
            }
            (false, GuaranteeEffect::None) => "fails the run unless the scenario allows it",
        };
        if info.name == info.file_name {
            let _ = writeln!(out, "{}", info.name);
        } else {
            let _ = writeln!(out, "{}  ({} in scenario files)", info.name, info.file_name);
        }
        let _ = writeln!(out, "  finds:   {}", info.definition);
        let _ = writeln!(out, "  source:  {}", info.source);
        let _ = writeln!(out, "  reads:   {kind}");
        let _ = writeln!(out, "  verdict: {judges}");
        let _ = writeln!(out, "  file:    {}", info.file);
    }
    crate::cli::print(&out);
    Exit::Met
}
