//! A violation explained with the run's numbers: for a lost value, whether its offset was
//! ever below the high watermark and which elected leader lacked it; for a duplicate, the
//! offsets holding it. Every fact comes from the story's run-wide facts (what the records
//! showed), never from a broker rule.

use super::explain_story::RunFacts;
use super::explain_words::{offsets_list, seconds};
use crate::checkers::Checker;
use crate::violation::Violation;
use watermark_broker_core::ids::BrokerId;

/// One or more sentences that explain `violation`, or `None` for a kind this view does not
/// explain beyond the checker's own description.
pub fn explain_violation(violation: &Violation, facts: &RunFacts) -> Option<String> {
    let partition = violation.partition?;
    match violation.checker {
        Checker::LostWrite | Checker::FinalLogLoss => {
            let (&value, &offset) = (violation.values.first()?, violation.offsets.first()?);
            let key = (partition, value);
            let committed = match facts.committed.get(&key) {
                Some(committed) => format!(
                    "offset {} was below {}'s high watermark {} at {}, so it was committed",
                    committed.offset,
                    committed.broker,
                    committed.high_watermark,
                    seconds(committed.time_ms)
                ),
                None => format!(
                    "offset {offset} was never below the high watermark: no replica holding \
                     v{value} reported a high watermark above {offset}"
                ),
            };
            let appended_ms = facts
                .first_appended_ms
                .get(&key)
                .copied()
                .unwrap_or_default();
            let holders = facts.holders.get(&(partition, value));
            let lacking: Vec<String> = facts
                .elections
                .iter()
                .filter(|election| election.partition == partition)
                .filter(|election| election.time_ms >= appended_ms)
                .filter(|election| election.log_end_offset <= offset)
                .filter(|election| {
                    !holders.is_some_and(|holders| holders.contains(&election.leader))
                })
                .map(|election| {
                    format!(
                        "{}, elected at {} ({}) with log end offset {}, never had it",
                        election.leader,
                        seconds(election.time_ms),
                        election.leader_epoch,
                        election.log_end_offset
                    )
                })
                .collect();
            let held_by: Vec<BrokerId> = holders
                .map(|holders| holders.iter().copied().collect())
                .unwrap_or_default();
            let held = if held_by.is_empty() {
                "no replica ever appended it".to_string()
            } else {
                format!("only {} ever appended it", offsets_list(&held_by))
            };
            let lacking = if lacking.is_empty() {
                String::new()
            } else {
                format!(", and {}", lacking.join("; "))
            };
            Some(format!("v{value} is lost: {committed}{lacking}; {held}"))
        }
        Checker::Duplicate => {
            let value = violation.values.first()?;
            let offsets: Vec<String> = violation.offsets.iter().map(ToString::to_string).collect();
            Some(format!(
                "v{value} is in {partition} {} times, at offsets {}",
                violation.offsets.len(),
                offsets.join(", ")
            ))
        }
        _ => None,
    }
}
