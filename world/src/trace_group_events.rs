//! The one-line text form of the consumer-group events: the coordinator's (groups loaded and
//! unloaded, state changes, members removed, commits answered) and the group consumer's
//! (assignments, revocations, commits, positions from committed offsets).

use std::fmt::Write;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{MemberId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// Writes `event` after the time and node; events that are not about groups write nothing.
pub(crate) fn describe_group_event(out: &mut String, event: &Event) {
    let _ = match event {
        Event::GroupsLoaded { partition, groups } => {
            write!(out, "{partition} groups loaded [{}]", joined(groups))
        }
        Event::GroupsUnloaded { partition, groups } => {
            write!(out, "{partition} groups unloaded [{}]", joined(groups))
        }
        Event::GroupStateChanged {
            group,
            from,
            to,
            generation,
            members,
        } => write!(
            out,
            "group {group} {from}->{to} {generation} members [{}]",
            joined(members)
        ),
        Event::GroupLoaded {
            group,
            state,
            generation,
            members,
        } => write!(
            out,
            "group {group} loaded {state} {generation} members [{}]",
            joined(members)
        ),
        Event::GroupMemberRemoved {
            group,
            member,
            reason,
        } => write!(out, "group {group} removed {member} ({reason:?})"),
        Event::OffsetCommitAnswered {
            group,
            member,
            request_generation,
            group_generation,
            group_state,
            member_in_group,
            offsets,
            result,
        } => write!(
            out,
            "group {group} commit from {member} {request_generation} (group {group_generation} {group_state}{}) {} {}",
            if *member_in_group { "" } else { ", not a member" },
            positions(offsets),
            outcome(result)
        ),
        Event::PartitionsRevoked {
            group,
            partitions,
            lost,
        } => write!(
            out,
            "group {group} {} [{}]",
            if *lost { "lost" } else { "revoked" },
            joined(partitions)
        ),
        Event::PartitionsAssigned {
            group,
            generation,
            member,
            added,
            assignment,
        } => write!(
            out,
            "group {group} {generation} {} assigned [{}] added [{}]",
            member_name(member),
            joined(assignment),
            joined(added)
        ),
        Event::OffsetCommitStarted {
            group,
            commit,
            generation,
            offsets,
            automatic,
        } => write!(
            out,
            "group {group} commit#{} {generation} {}{}",
            commit.0,
            positions(offsets),
            if *automatic { " (auto)" } else { "" }
        ),
        Event::OffsetCommitCompleted {
            group,
            commit,
            offsets,
            result,
        } => write!(
            out,
            "group {group} commit#{} {} {}",
            commit.0,
            positions(offsets),
            outcome(result)
        ),
        Event::PositionFromCommitted {
            group,
            partition,
            committed,
        } => write!(
            out,
            "group {group} {partition} committed {}",
            committed.map_or("none".to_string(), |offset| offset.to_string())
        ),
        _ => Ok(()),
    };
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn positions(offsets: &[(TopicPartition, Offset)]) -> String {
    let listed: Vec<String> = offsets
        .iter()
        .map(|(partition, offset)| format!("{partition}@{offset}"))
        .collect();
    format!("[{}]", listed.join(" "))
}

fn outcome<E: std::fmt::Display>(result: &Result<(), E>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(error) => error.to_string(),
    }
}

fn member_name(member: &MemberId) -> String {
    member.to_string()
}
