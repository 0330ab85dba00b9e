//! Why a leader's high watermark stays where it is, reported at the leader's periodic ISR
//! check (Kafka's `maybeShrinkIsr` schedule, every half `replica_lag_time_max_ms`). A
//! teaching view can then say why the high watermark did not move, in the numbers the
//! leader judged by, without re-deriving the rule of `maybeIncrementLeaderHW`. The check's
//! period bounds how often it is said; a hold shorter than one fetch wait
//! (`replica_fetch_wait_max_ms`, a fetch in flight) is the normal pace of replication and
//! is not reported.

use super::leader::HighWatermarkCandidate;
use super::{Context, Partition, Role};
use crate::event::Event;
use crate::reason::{FollowerProgress, HighWatermarkHold};

impl Partition {
    /// Reports what holds this leader's high watermark below its log end offset, if
    /// anything does for longer than a fetch in flight.
    pub(in crate::partition) fn report_held_high_watermark(&self, context: &mut Context<'_>) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        let high_watermark = self.log.high_watermark();
        let leader_log_end_offset = self.log.log_end_offset();
        if high_watermark >= leader_log_end_offset {
            return;
        }
        let HighWatermarkCandidate {
            maximal_isr,
            joining,
            lowest,
        } = self.high_watermark_candidate(context, state);
        let hold = match lowest {
            Some(would_be) if would_be > high_watermark => {
                if !self.holds_high_watermark_under_min_isr(context) {
                    // The next computation moves it: nothing holds it.
                    return;
                }
                HighWatermarkHold::UnderMinIsr {
                    isr: self.isr.clone(),
                    min_insync_replicas: self.effective_min_insync_replicas(),
                    would_be,
                }
            }
            _ => {
                let holding: Vec<FollowerProgress> = maximal_isr
                    .iter()
                    .chain(&joining)
                    .filter(|&&member| member != context.local)
                    .map(|&member| Self::progress_of(state, member))
                    .filter(|follower| {
                        follower
                            .log_end_offset
                            .is_none_or(|offset| offset <= high_watermark)
                    })
                    .collect();
                let fetch_wait_ms = context.config.replica_fetch_wait_max_ms;
                let lagging = holding.iter().any(|follower| {
                    follower.last_caught_up_time_ms.is_none_or(|caught_up_ms| {
                        context.now_ms.saturating_sub(caught_up_ms) > fetch_wait_ms
                    })
                });
                if !lagging {
                    return;
                }
                let joining = joining
                    .into_iter()
                    .filter(|member| holding.iter().any(|follower| follower.broker == *member))
                    .collect();
                HighWatermarkHold::Replicas {
                    holding,
                    joining,
                    replica_lag_time_max_ms: context.config.replica_lag_time_max_ms,
                }
            }
        };
        context.event(Event::HighWatermarkHeld {
            partition: self.id,
            high_watermark,
            leader_log_end_offset,
            hold,
        });
    }
}
