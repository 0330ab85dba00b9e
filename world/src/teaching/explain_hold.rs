//! Why a leader's high watermark stays where it is, in words: the numbers of the
//! `HighWatermarkHeld` reason event a leader reports at its periodic ISR check.

use super::explain_words::{brokers, caught_up_phrase, thousands};
use watermark_broker_core::ids::{BrokerId, Offset};
use watermark_broker_core::reason::{FollowerProgress, HighWatermarkHold};

/// "the ISR {1} has 1 member, fewer than min.insync.replicas 2 …" or "b3's log end offset
/// is 40 and b3 is in the ISR: it last caught up …".
pub(super) fn held_sentence(
    leader: BrokerId,
    high_watermark: Offset,
    hold: &HighWatermarkHold,
    now_ms: u64,
) -> String {
    match hold {
        HighWatermarkHold::UnderMinIsr {
            isr,
            min_insync_replicas,
            would_be,
        } => {
            let members = if isr.len() == 1 { "member" } else { "members" };
            format!(
                "the ISR {} has {} {members}, fewer than min.insync.replicas \
                 {min_insync_replicas}, so nothing becomes committed (KAFKA-15583); the log end \
                 offsets of {leader} and its ISR alone would put it at {would_be}",
                brokers(isr),
                isr.len()
            )
        }
        HighWatermarkHold::Replicas {
            holding,
            joining,
            replica_lag_time_max_ms,
        } => {
            let each: Vec<String> = holding
                .iter()
                .map(|follower| {
                    holder_sentence(
                        follower,
                        joining.contains(&follower.broker),
                        high_watermark,
                        now_ms,
                    )
                })
                .collect();
            format!(
                "{} (`replica_lag_time_max_ms` is {})",
                each.join("; "),
                thousands(*replica_lag_time_max_ms)
            )
        }
    }
}

/// One replica that holds the high watermark, and how long since it was caught up.
fn holder_sentence(
    follower: &FollowerProgress,
    joining: bool,
    high_watermark: Offset,
    now_ms: u64,
) -> String {
    let broker = follower.broker;
    let position = match follower.log_end_offset {
        Some(offset) if offset == high_watermark => {
            format!("{broker}'s log end offset is {offset}")
        }
        Some(offset) => {
            format!("{broker}'s log end offset is {offset}, at most the high watermark")
        }
        None => {
            format!("{broker} has not fetched from this leader, so its log end offset is unknown")
        }
    };
    let membership = if joining {
        format!("{broker} is caught up and about to rejoin the ISR, so it counts")
    } else {
        format!("{broker} is in the ISR")
    };
    let caught_up = caught_up_phrase(follower.last_caught_up_time_ms, now_ms);
    format!("{position} and {membership}: {caught_up}")
}

#[cfg(test)]
#[path = "explain_hold_tests.rs"]
mod tests;
