//! The one-line text form of the reason events (issue 11): the facts behind an ISR
//! proposal, a high watermark (computed, or held), a controller's partition change, a fencing and a divergence,
//! each printed right before (or, for a proposal, instead of) the change it explains.

use std::fmt::Write;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::BrokerId;
use watermark_broker_core::reason::{
    FenceReason, FollowerProgress, HighWatermarkBasis, HighWatermarkHold, LeaderRule,
    PartitionChangeCause,
};

/// `fenced b1`, `alter-partition from b2`, `offline-partition`.
fn cause(cause: &PartitionChangeCause) -> String {
    match cause {
        PartitionChangeCause::AlterPartition { leader } => format!("alter-partition from {leader}"),
        PartitionChangeCause::BrokerFenced { broker } => format!("fenced {broker}"),
        PartitionChangeCause::ControlledShutdown { broker } => {
            format!("controlled-shutdown {broker}")
        }
        PartitionChangeCause::UncleanShutdown { broker } => format!("unclean-shutdown {broker}"),
        PartitionChangeCause::OfflinePartition => "offline-partition".to_string(),
    }
}

/// The leader rule in the trace's kebab case.
fn rule(rule: &LeaderRule) -> &'static str {
    match rule {
        LeaderRule::Kept => "kept",
        LeaderRule::FirstInIsr => "first-in-isr",
        LeaderRule::FirstInElr => "first-in-elr",
        LeaderRule::Preferred => "preferred",
        LeaderRule::LastKnownLeader => "last-known-leader",
        LeaderRule::Unclean => "unclean",
        LeaderRule::NoneEligible => "none-eligible",
    }
}

/// `{1,2}`, as the trace prints a broker set.
fn brokers(list: &[BrokerId]) -> String {
    let names: Vec<String> = list.iter().map(|broker| broker.0.to_string()).collect();
    format!("{{{}}}", names.join(","))
}

/// `b3 leo=40 caught-up=2961ms` (a `-` for what the leader does not know).
fn progress(follower: &FollowerProgress) -> String {
    format!(
        "{} leo={} caught-up={}",
        follower.broker,
        follower
            .log_end_offset
            .map_or("-".to_string(), |offset| offset.to_string()),
        follower
            .last_caught_up_time_ms
            .map_or("-".to_string(), |time_ms| format!("{time_ms}ms"))
    )
}

/// Writes `event` after the time and node; returns false for an event that is not a reason.
pub(crate) fn describe_reason_event(out: &mut String, event: &Event) -> bool {
    let _ = match event {
        Event::IsrShrinkProposed {
            partition,
            isr,
            proposed,
            leader_log_end_offset,
            replica_lag_time_max_ms,
            out_of_sync,
        } => {
            let lagging: Vec<String> = out_of_sync.iter().map(progress).collect();
            write!(
                out,
                "{partition} propose isr {}->{} leo={leader_log_end_offset} \
                 lag-max={replica_lag_time_max_ms}ms out-of-sync [{}]",
                brokers(isr),
                brokers(proposed),
                lagging.join(", ")
            )
        }
        Event::IsrExpandProposed {
            partition,
            isr,
            proposed,
            follower,
            high_watermark,
            leader_epoch_start_offset,
        } => write!(
            out,
            "{partition} propose isr {}->{} {} hw={high_watermark} \
             epoch-start={leader_epoch_start_offset}",
            brokers(isr),
            brokers(proposed),
            progress(follower)
        ),
        Event::HighWatermarkComputed { partition, basis } => match basis {
            HighWatermarkBasis::Leader {
                log_end_offsets,
                joining,
            } => {
                let counted: Vec<String> = log_end_offsets
                    .iter()
                    .map(|(broker, offset)| format!("{broker}={offset}"))
                    .collect();
                let _ = write!(out, "{partition} hw from leos [{}]", counted.join(" "));
                if joining.is_empty() {
                    Ok(())
                } else {
                    write!(out, " joining {}", brokers(joining))
                }
            }
            HighWatermarkBasis::Follower {
                leader_high_watermark,
                log_end_offset,
            } => write!(
                out,
                "{partition} hw from leader hw={leader_high_watermark} leo={log_end_offset}"
            ),
        },
        Event::PartitionChangeStarted {
            partition,
            cause: change_cause,
            rule: leader_rule,
            replicas,
            isr,
            elr,
        } => write!(
            out,
            "{partition} change by {} leader {} replicas {} isr {} elr {}",
            cause(change_cause),
            rule(leader_rule),
            brokers(replicas),
            brokers(isr),
            brokers(elr)
        ),
        Event::BrokerFenceReasoned { broker, reason } => match reason {
            FenceReason::SessionExpired {
                last_heartbeat_ms,
                broker_session_timeout_ms,
            } => write!(
                out,
                "fence {broker}: session expired, last heartbeat {last_heartbeat_ms}ms, \
                 timeout {broker_session_timeout_ms}ms"
            ),
            FenceReason::AskedToBeFenced => write!(out, "fence {broker}: asked to be fenced"),
            FenceReason::ShutdownNow => write!(out, "fence {broker}: shutdown now"),
        },
        Event::DivergenceFound {
            partition,
            divergence,
            truncate_to,
        } => write!(
            out,
            "{partition} diverges: leader {} ends at {}, local {}, truncate to {truncate_to}",
            divergence.leader_epoch,
            divergence.leader_end_offset,
            divergence
                .local_epoch_end
                .map_or("-".to_string(), |(epoch, offset)| format!(
                    "{epoch} ends at {offset}"
                ))
        ),
        Event::HighWatermarkHeld {
            partition,
            high_watermark,
            leader_log_end_offset,
            hold,
        } => {
            let _ = write!(
                out,
                "{partition} hw held at {high_watermark} leo={leader_log_end_offset} "
            );
            match hold {
                HighWatermarkHold::UnderMinIsr {
                    isr,
                    min_insync_replicas,
                    would_be,
                } => write!(
                    out,
                    "under min-isr: isr {} min-insync={min_insync_replicas} would-be={would_be}",
                    brokers(isr)
                ),
                HighWatermarkHold::Replicas {
                    holding,
                    joining,
                    replica_lag_time_max_ms,
                } => {
                    let held_by: Vec<String> = holding.iter().map(progress).collect();
                    let _ = write!(
                        out,
                        "by [{}] lag-max={replica_lag_time_max_ms}ms",
                        held_by.join(", ")
                    );
                    if joining.is_empty() {
                        Ok(())
                    } else {
                        write!(out, " joining {}", brokers(joining))
                    }
                }
            }
        }
        _ => return false,
    };
    true
}
