//! Nemesis triggers: which protocol events fire which trigger conditions, and how a
//! condition reads in the trace. Triggers make a demonstration exact on every seed ("crash the
//! leader right after it acks offset 20").

use crate::fault::Condition;
use watermark_broker_core::coordinator::GroupState;
use watermark_broker_core::event::{Event, TruncationReason};
use watermark_broker_core::ids::{ClientId, NodeId};
use watermark_broker_core::topic::TopicName;

/// Whether `event`, an effect of `node`, meets `condition`; a partition given by index alone
/// is one of `default_topic`.
pub fn condition_matches(
    condition: &Condition,
    default_topic: TopicName,
    node: NodeId,
    event: &Event,
) -> bool {
    let named = |partition: &crate::fault::PartitionRef| partition.resolve(default_topic);
    match (condition, event) {
        (
            Condition::LeaderAcked {
                partition,
                offset_at_least,
            },
            Event::ProduceAnswered {
                partition: answered,
                last_offset: Some(last_offset),
                result: Ok(()),
                ..
            },
        ) => named(partition) == *answered && last_offset >= offset_at_least,
        (
            Condition::IsrShrunkTo { partition, size },
            Event::IsrUpdated {
                partition: updated,
                from,
                to,
            },
        ) => named(partition) == *updated && to.len() == *size && to.len() < from.len(),
        (
            Condition::HighWatermarkReached { partition, offset },
            Event::HighWatermarkUpdated {
                partition: updated,
                to,
                ..
            },
        ) => named(partition) == *updated && to >= offset,
        // The controller's first election gives epoch 1; a change is any later election of
        // an actual leader.
        (
            Condition::LeaderChanged { partition },
            Event::LeaderElected {
                partition: elected,
                leader: Some(_),
                leader_epoch,
                ..
            },
        ) => named(partition) == *elected && leader_epoch.0 > 1,
        (
            Condition::IsrExpanded { partition },
            Event::IsrUpdated {
                partition: updated,
                from,
                to,
            },
        ) => named(partition) == *updated && to.iter().any(|member| !from.contains(member)),
        (
            Condition::FetchTruncated { partition },
            Event::LogTruncated {
                partition: truncated,
                reason,
                ..
            },
        ) => named(partition) == *truncated && *reason != TruncationReason::Recovery,
        (
            Condition::MemberCommitted { consumer },
            Event::OffsetCommitCompleted { result: Ok(()), .. },
        ) => node == NodeId::Consumer(ClientId(*consumer)),
        (
            Condition::RebalanceStarted { group },
            Event::GroupStateChanged {
                group: changed,
                from,
                to: GroupState::PreparingRebalance,
                ..
            },
        ) => changed.0 == *group && *from != GroupState::PreparingRebalance,
        (
            Condition::TransactionState {
                transactional_id,
                state,
            },
            Event::TransactionStateChanged {
                transactional_id: changed,
                to,
                ..
            },
        ) => changed.0 == *transactional_id && *to == state.state(),
        _ => false,
    }
}

/// A trigger's condition as a trace reads it.
pub fn describe_condition(condition: &Condition, default_topic: TopicName) -> String {
    let named = |partition: &crate::fault::PartitionRef| partition.resolve(default_topic);
    match condition {
        Condition::LeaderAcked {
            partition,
            offset_at_least,
        } => format!(
            "leader-acked {} offset>={offset_at_least}",
            named(partition)
        ),
        Condition::IsrShrunkTo { partition, size } => {
            format!("isr-shrunk-to {} size={size}", named(partition))
        }
        Condition::HighWatermarkReached { partition, offset } => {
            format!(
                "high-watermark-reached {} offset>={offset}",
                named(partition)
            )
        }
        Condition::LeaderChanged { partition } => {
            format!("leader-changed {}", named(partition))
        }
        Condition::IsrExpanded { partition } => format!("isr-expanded {}", named(partition)),
        Condition::FetchTruncated { partition } => {
            format!("fetch-truncated {}", named(partition))
        }
        Condition::MemberCommitted { consumer } => format!("member-committed consumer {consumer}"),
        Condition::RebalanceStarted { group } => format!("rebalance-started group {group}"),
        Condition::TransactionState {
            transactional_id,
            state,
        } => format!(
            "transaction-state {transactional_id} reached {}",
            state.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::PartitionRef;
    use watermark_broker_core::ids::{BrokerId, LeaderEpoch, Offset, PartitionEpoch, PartitionId};
    use watermark_broker_core::protocol::Acks;
    use watermark_broker_core::topic::TopicPartition;

    const P0: TopicPartition = TopicPartition::of_default_topic(0);
    const INDEX0: PartitionRef = PartitionRef::Index(PartitionId(0));

    fn matches(condition: &Condition, event: &Event) -> bool {
        condition_matches(
            condition,
            TopicName::default(),
            NodeId::Broker(BrokerId(1)),
            event,
        )
    }

    fn answered(last_offset: u64, result: Result<(), watermark_broker_core::ErrorCode>) -> Event {
        Event::ProduceAnswered {
            partition: P0,
            acks: Acks::Leader,
            base_offset: Some(Offset(last_offset)),
            last_offset: Some(Offset(last_offset)),
            result,
        }
    }

    fn elected(leader: Option<u32>, epoch: u32) -> Event {
        Event::LeaderElected {
            partition: P0,
            leader: leader.map(BrokerId),
            leader_epoch: LeaderEpoch(epoch),
            isr: vec![BrokerId(1)],
            partition_epoch: PartitionEpoch(epoch),
            unclean: false,
        }
    }

    #[test]
    fn leader_acked_fires_only_on_a_successful_answer_reaching_the_offset() {
        let condition = Condition::LeaderAcked {
            partition: INDEX0,
            offset_at_least: Offset(20),
        };
        assert!(!matches(&condition, &answered(19, Ok(()))));
        assert!(matches(&condition, &answered(20, Ok(()))));
        assert!(!matches(
            &condition,
            &answered(25, Err(watermark_broker_core::ErrorCode::NotEnoughReplicas))
        ));
    }

    #[test]
    fn isr_shrunk_to_fires_on_a_shrink_to_that_size_not_on_a_growth() {
        let condition = Condition::IsrShrunkTo {
            partition: INDEX0,
            size: 2,
        };
        let change = |from: &[u32], to: &[u32]| Event::IsrUpdated {
            partition: P0,
            from: from.iter().copied().map(BrokerId).collect(),
            to: to.iter().copied().map(BrokerId).collect(),
        };
        assert!(matches(&condition, &change(&[1, 2, 3], &[1, 2])));
        assert!(!matches(&condition, &change(&[1], &[1, 2])));
        assert!(!matches(&condition, &change(&[1, 2, 3], &[1])));
    }

    #[test]
    fn leader_changed_ignores_the_first_election_and_offline_partitions() {
        let condition = Condition::LeaderChanged { partition: INDEX0 };
        assert!(!matches(&condition, &elected(Some(1), 1)));
        assert!(!matches(&condition, &elected(None, 2)));
        assert!(matches(&condition, &elected(Some(2), 2)));
    }

    #[test]
    fn isr_expanded_fires_when_a_member_joins_even_if_another_leaves() {
        let condition = Condition::IsrExpanded { partition: INDEX0 };
        let change = |from: &[u32], to: &[u32]| Event::IsrUpdated {
            partition: P0,
            from: from.iter().copied().map(BrokerId).collect(),
            to: to.iter().copied().map(BrokerId).collect(),
        };
        assert!(matches(&condition, &change(&[1], &[1, 2])));
        assert!(matches(&condition, &change(&[1, 3], &[1, 2])));
        assert!(!matches(&condition, &change(&[1, 2, 3], &[1, 2])));
        assert!(!matches(&condition, &change(&[1, 2], &[1, 2])));
    }

    #[test]
    fn fetch_truncated_fires_on_a_divergence_cut_not_on_recovery() {
        let condition = Condition::FetchTruncated { partition: INDEX0 };
        let cut = |reason| Event::LogTruncated {
            partition: P0,
            from_log_end_offset: Offset(9),
            to_offset: Offset(5),
            reason,
        };
        assert!(matches(&condition, &cut(TruncationReason::DivergingEpoch)));
        assert!(matches(
            &condition,
            &cut(TruncationReason::LeaderEpochDivergence)
        ));
        assert!(matches(&condition, &cut(TruncationReason::HighWatermark)));
        assert!(!matches(&condition, &cut(TruncationReason::Recovery)));
    }

    #[test]
    fn high_watermark_reached_fires_at_the_offset() {
        let condition = Condition::HighWatermarkReached {
            partition: INDEX0,
            offset: Offset(5),
        };
        let moved = |to: u64| Event::HighWatermarkUpdated {
            partition: P0,
            from: Offset(0),
            to: Offset(to),
        };
        assert!(!matches(&condition, &moved(4)));
        assert!(matches(&condition, &moved(5)));
    }

    #[test]
    fn member_committed_fires_on_that_consumer_s_accepted_commit_only() {
        use watermark_broker_core::event::CommitId;
        use watermark_broker_core::ids::GroupId;
        let condition = Condition::MemberCommitted { consumer: 1 };
        let completed = |result| Event::OffsetCommitCompleted {
            group: GroupId("g".to_string()),
            commit: CommitId(3),
            offsets: vec![(P0, Offset(4))],
            result,
        };
        let consumer = |index| NodeId::Consumer(ClientId(index));
        let fires =
            |node, event: &Event| condition_matches(&condition, TopicName::default(), node, event);
        assert!(fires(consumer(1), &completed(Ok(()))));
        assert!(!fires(consumer(0), &completed(Ok(()))));
        assert!(!fires(
            consumer(1),
            &completed(Err(watermark_broker_core::ErrorCode::IllegalGeneration))
        ));
    }

    #[test]
    fn rebalance_started_fires_when_its_group_enters_preparing_rebalance() {
        use watermark_broker_core::ids::{GenerationId, GroupId};
        let condition = Condition::RebalanceStarted {
            group: "g".to_string(),
        };
        let change = |group: &str, from, to| Event::GroupStateChanged {
            group: GroupId(group.to_string()),
            from,
            to,
            generation: GenerationId(2),
            members: Vec::new(),
        };
        assert!(matches(
            &condition,
            &change("g", GroupState::Stable, GroupState::PreparingRebalance)
        ));
        assert!(matches(
            &condition,
            &change("g", GroupState::Empty, GroupState::PreparingRebalance)
        ));
        assert!(!matches(
            &condition,
            &change("h", GroupState::Stable, GroupState::PreparingRebalance)
        ));
        assert!(!matches(
            &condition,
            &change(
                "g",
                GroupState::PreparingRebalance,
                GroupState::CompletingRebalance
            )
        ));
    }

    #[test]
    fn transaction_state_fires_when_its_transactional_id_reaches_that_state() {
        use crate::fault::TransactionStep;
        use watermark_broker_core::ids::{ProducerEpoch, ProducerId, TransactionalId};
        use watermark_broker_core::transaction::TransactionState;
        let condition = Condition::TransactionState {
            transactional_id: "payments".to_string(),
            state: TransactionStep::PrepareCommit,
        };
        let changed = |id: &str, from, to| Event::TransactionStateChanged {
            transactional_id: TransactionalId(id.to_string()),
            producer_id: ProducerId(7),
            producer_epoch: ProducerEpoch(0),
            from,
            to,
        };
        use TransactionState::*;
        assert!(matches(
            &condition,
            &changed("payments", Ongoing, PrepareCommit)
        ));
        assert!(!matches(
            &condition,
            &changed("payments", Ongoing, PrepareAbort)
        ));
        assert!(!matches(
            &condition,
            &changed("payments", PrepareCommit, CompleteCommit)
        ));
        assert!(!matches(
            &condition,
            &changed("refunds", Ongoing, PrepareCommit)
        ));
        assert_eq!(
            describe_condition(&condition, TopicName::default()),
            "transaction-state payments reached prepare-commit"
        );
    }

    #[test]
    fn a_named_partition_matches_only_its_topic() {
        let condition = Condition::HighWatermarkReached {
            partition: PartitionRef::Named {
                topic: TopicName::new("orders"),
                partition: PartitionId(0),
            },
            offset: Offset(1),
        };
        let moved = |partition| Event::HighWatermarkUpdated {
            partition,
            from: Offset(0),
            to: Offset(1),
        };
        assert!(!matches(&condition, &moved(P0)));
        let orders = TopicPartition::new(TopicName::new("orders"), PartitionId(0));
        assert!(matches(&condition, &moved(orders)));
    }
}
