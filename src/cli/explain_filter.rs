//! `explain`'s filters: `--partition`, `--node`, `--from`/`--to` (simulated time) and
//! `--only` (kinds). Each value is parsed here into a [`Filter`], with one error line naming
//! the argument and what it accepts; a partition or node the run never had is an error too,
//! never an empty story.

use crate::cli::exit::BadInput;
use std::collections::BTreeSet;
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::topic::TopicPartition;
use watermark_sim::teaching::explain_story::{EntryKind, Line, Story, StoryStep};

/// The `--only` kinds, as typed.
const KINDS: [(&str, EntryKind); 7] = [
    ("isr", EntryKind::Isr),
    ("hw", EntryKind::HighWatermark),
    ("leader", EntryKind::Leader),
    ("truncation", EntryKind::Truncation),
    ("log", EntryKind::Log),
    ("client", EntryKind::Client),
    ("fault", EntryKind::Fault),
];

/// What to keep of a story. Everything when nothing was asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub partition: Option<String>,
    pub node: Option<String>,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    pub only: Option<BTreeSet<EntryKind>>,
}

impl Filter {
    /// Parses the filter arguments (`--partition` and `--node` are checked against the run
    /// later, by [`Filter::check_against`]).
    pub fn parse(
        partition: Option<&str>,
        node: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        only: Option<&str>,
    ) -> Result<Filter, BadInput> {
        let from_ms = from.map(|text| parse_time("--from", text)).transpose()?;
        let to_ms = to.map(|text| parse_time("--to", text)).transpose()?;
        if let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms) {
            if from_ms > to_ms {
                return Err(BadInput(format!(
                    "--from {from_ms}ms is after --to {to_ms}ms: the window must not be empty"
                )));
            }
        }
        Ok(Filter {
            partition: partition.map(str::to_string),
            node: node.map(str::to_string),
            from_ms,
            to_ms,
            only: only.map(parse_only).transpose()?,
        })
    }

    /// Fails on a partition or node the run never had, listing those it had.
    pub fn check_against(&self, story: &Story, nodes: &BTreeSet<NodeId>) -> Result<(), BadInput> {
        if let Some(partition) = &self.partition {
            let known: Vec<String> = story
                .end
                .partitions
                .keys()
                .map(ToString::to_string)
                .collect();
            if !known.contains(partition) {
                return Err(BadInput(format!(
                    "--partition `{partition}`: not a partition of this run; it has {}",
                    known.join(", ")
                )));
            }
        }
        if let Some(node) = &self.node {
            let known: Vec<String> = nodes.iter().map(ToString::to_string).collect();
            if !known.contains(node) {
                return Err(BadInput(format!(
                    "--node `{node}`: not a node of this run; it has {}",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether a time falls in the window.
    pub fn keeps_time(&self, time_ms: u64) -> bool {
        self.from_ms.is_none_or(|from_ms| time_ms >= from_ms)
            && self.to_ms.is_none_or(|to_ms| time_ms <= to_ms)
    }

    /// Whether `node` passes `--node`.
    pub fn keeps_node(&self, node: NodeId) -> bool {
        self.node
            .as_ref()
            .is_none_or(|wanted| *wanted == node.to_string())
    }

    fn keeps_partition(&self, partition: TopicPartition) -> bool {
        self.partition
            .as_ref()
            .is_none_or(|wanted| *wanted == partition.to_string())
    }

    fn keeps_line(&self, line: &Line) -> bool {
        let kind_kept = self
            .only
            .as_ref()
            .is_none_or(|only| only.contains(&line.kind));
        let partition_kept = line
            .partition
            .is_none_or(|partition| self.keeps_partition(partition));
        kind_kept && partition_kept
    }

    /// The step with only what the filter keeps, or `None` if nothing is left.
    pub fn apply(&self, step: &StoryStep) -> Option<StoryStep> {
        if !self.keeps_time(step.time_ms) {
            return None;
        }
        let node_kept = match step.node {
            Some(node) => self.keeps_node(node),
            None => {
                self.node.is_none() || step.fault_nodes.iter().any(|node| self.keeps_node(*node))
            }
        };
        if !node_kept {
            return None;
        }
        let lines: Vec<Line> = step
            .lines
            .iter()
            .filter(|line| self.keeps_line(line))
            .cloned()
            .collect();
        if lines.is_empty() {
            return None;
        }
        let tables = step
            .tables
            .iter()
            .filter(|(partition, _)| self.keeps_partition(**partition))
            .map(|(partition, state)| (*partition, state.clone()))
            .collect();
        Some(StoryStep {
            lines,
            tables,
            ..step.clone()
        })
    }
}

/// `2.5s`, `2500ms` (whole milliseconds; seconds with up to three decimals).
fn parse_time(argument: &str, text: &str) -> Result<u64, BadInput> {
    let bad = || {
        BadInput(format!(
            "{argument} `{text}`: expected a simulated time in seconds or milliseconds, \
             like 2.5s or 2500ms"
        ))
    };
    let trimmed = text.trim();
    if let Some(millis) = trimmed.strip_suffix("ms") {
        return millis.parse::<u64>().map_err(|_| bad());
    }
    let seconds = trimmed.strip_suffix('s').ok_or_else(bad)?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    if whole.is_empty() || fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let fraction_ms: u64 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(fraction_ms))
        .ok_or_else(bad)
}

fn parse_only(text: &str) -> Result<BTreeSet<EntryKind>, BadInput> {
    text.split(',')
        .map(|word| {
            let word = word.trim();
            KINDS
                .iter()
                .find(|(name, _)| *name == word)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| {
                    let names: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
                    BadInput(format!(
                        "--only `{word}`: unknown kind; the kinds are {}",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_seconds_or_milliseconds() {
        assert_eq!(parse_time("--from", "2.5s").ok(), Some(2500));
        assert_eq!(parse_time("--from", "2500ms").ok(), Some(2500));
        assert_eq!(parse_time("--from", "3s").ok(), Some(3000));
        assert_eq!(parse_time("--from", "0.125s").ok(), Some(125));
        for bad in ["2.5", "abc", "1.2345s", "-1s", "ms", "s", ".5s"] {
            let error = parse_time("--from", bad).err().map(|error| error.line());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|line| line.contains("--from") && line.contains("2500ms")),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        let error = Filter::parse(None, None, Some("3s"), Some("2s"), None).err();
        assert!(error.is_some_and(|error| error.line().contains("--from")));
    }

    #[test]
    fn only_names_each_kind_and_refuses_others() {
        let filter = Filter::parse(None, None, None, None, Some("isr,hw")).ok();
        let only = filter.and_then(|filter| filter.only);
        assert_eq!(
            only,
            Some(BTreeSet::from([EntryKind::Isr, EntryKind::HighWatermark]))
        );
        let error = Filter::parse(None, None, None, None, Some("isr,lag")).err();
        assert!(error.is_some_and(|error| error.line().contains("--only `lag`")));
    }
}
