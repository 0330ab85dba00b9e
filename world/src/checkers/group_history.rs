//! What the group checkers read from the client history: every record each group's
//! application processed (wrote to the sink, `OpBody::Process`), in history order, and what
//! each group reads and promises (`GroupReads`, from the scenario).

use super::FinalState;
use crate::history::{History, OpBody, OpType, Operation};
use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// What one group's consumers read, and what their processing mode promises.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupReads {
    /// Every partition of the topics the group subscribes to: each acknowledged value of
    /// these must be processed by the group.
    pub partitions: BTreeSet<TopicPartition>,
    /// The processing mode promises at-least-once (process-then-commit, auto-commit with the
    /// processing in the poll loop; consume-transform-produce promises exactly-once): a
    /// commit never passes what was processed.
    pub at_least_once: bool,
}

/// What each consumer group of `scenario` reads (every partition of its consumers'
/// subscribed topics) and whether every member's processing mode promises at-least-once.
pub fn group_reads(scenario: &Scenario) -> BTreeMap<GroupId, GroupReads> {
    let mut groups: BTreeMap<GroupId, GroupReads> = BTreeMap::new();
    for (index, consumer) in scenario.consumers.iter().enumerate() {
        let Some(group) = consumer.group() else {
            continue;
        };
        let promises = matches!(
            consumer.processing_mode(),
            ProcessingMode::ProcessThenCommit
                | ProcessingMode::AutoCommit
                | ProcessingMode::ConsumeTransformProduce
        );
        let reads = groups.entry(group).or_insert_with(|| GroupReads {
            partitions: BTreeSet::new(),
            at_least_once: true,
        });
        reads.at_least_once &= promises;
        reads
            .partitions
            .extend(scenario.subscribed_partitions(index));
    }
    groups
}

/// One record a group's application processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Processed {
    pub time_ms: u64,
    pub client: ClientId,
    pub partition: TopicPartition,
    pub offset: Offset,
    pub value: u64,
}

/// Per group, every processed record in history (so time) order.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupHistory {
    pub processed: BTreeMap<GroupId, Vec<Processed>>,
}

impl GroupHistory {
    /// The processed records of `history`. A consume-transform-produce transaction whose
    /// commit was asked for but never answered (`Info`: the process crashed or was fenced
    /// after asking) processed its polled records if it committed, which the final logs
    /// tell: one of its outputs is visible to read_committed. The world records a committed
    /// transaction's records as `Process`; this is the same for one it could not learn of.
    pub fn from_history(history: &History, final_state: &FinalState) -> GroupHistory {
        let mut processed: BTreeMap<GroupId, Vec<Processed>> = BTreeMap::new();
        for operation in &history.operations {
            if let Some((group, polls)) = committed_unanswered_transaction(operation, final_state) {
                for (partition, records) in polls {
                    for (offset, value) in records {
                        processed.entry(group.clone()).or_default().push(Processed {
                            time_ms: operation.time_ms,
                            client: operation.client,
                            partition: *partition,
                            offset: *offset,
                            value: *value,
                        });
                    }
                }
            }
            if let (
                OpBody::Process {
                    group,
                    partition,
                    offset,
                    value,
                },
                OpType::Ok,
            ) = (&operation.body, operation.op_type)
            {
                processed.entry(group.clone()).or_default().push(Processed {
                    time_ms: operation.time_ms,
                    client: operation.client,
                    partition: *partition,
                    offset: *offset,
                    value: *value,
                });
            }
        }
        GroupHistory { processed }
    }

    /// The records `group` processed, in order.
    pub fn of(&self, group: &GroupId) -> &[Processed] {
        self.processed.get(group).map_or(&[], Vec::as_slice)
    }
}

/// The records a transaction polled, per partition, as (offset, value).
type TransactionPolls = [(TopicPartition, Vec<(Offset, u64)>)];

/// The group and polled records of `operation` if it is a consume-transform-produce
/// transaction that ended `Info` with its commit asked for and an output visible to
/// read_committed in the final logs.
fn committed_unanswered_transaction<'a>(
    operation: &'a Operation,
    final_state: &FinalState,
) -> Option<(&'a GroupId, &'a TransactionPolls)> {
    let OpBody::Transaction {
        sends,
        polls,
        offsets: Some(offsets),
        commit: true,
        ..
    } = &operation.body
    else {
        return None;
    };
    if operation.op_type != OpType::Info {
        return None;
    }
    let committed = sends.iter().any(|send| {
        send.partition.is_some_and(|partition| {
            final_state
                .committed_visible(partition)
                .any(|(_, value)| *value == send.value)
        })
    });
    committed.then_some((&offsets.group, polls.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ConsumerWorkload;
    use watermark_broker_core::config::TopicConfig;
    use watermark_broker_core::topic::TopicName;

    #[test]
    fn a_group_reads_every_partition_of_its_consumers_topics() {
        let topic = |name: &str, partitions: u32| TopicConfig {
            name: TopicName::new(name),
            partitions,
            ..TopicConfig::default()
        };
        let reader = |name: &str| ConsumerWorkload {
            topics: vec![TopicName::new(name)],
            ..ConsumerWorkload::default()
        };
        let mut scenario = Scenario {
            topics: vec![topic("events", 2), topic("other", 1)],
            consumers: vec![reader("events"), reader("other")],
            ..Scenario::default()
        };
        assert!(group_reads(&scenario).is_empty());
        scenario.consumers[0].config.group_id = Some("g".to_string());
        let groups = group_reads(&scenario);
        let partitions: Vec<String> = groups[&GroupId("g".to_string())]
            .partitions
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(partitions, vec!["events-0", "events-1"]);
    }

    /// A pipeline transaction whose commit answer never came (`Info`) processed its polled
    /// records when one of its outputs is visible to read_committed in the final logs, and
    /// not when its outputs were aborted.
    #[test]
    fn an_unanswered_commit_processed_its_records_if_its_output_is_committed() {
        use crate::checkers::test_support::{final_logs, HistoryBuilder};
        use crate::checkers::txn_test_support::{aborted, txn};
        let unanswered = txn(1)
            .poll(0, &[(0, 1)])
            .derive(1, 101, 0, 1)
            .offsets(&[(0, 1)]);
        let mut history = HistoryBuilder::new();
        history.transaction(1, &unanswered, OpType::Info, 10);
        let history = history.build();
        let group = GroupId("g".to_string());
        let mut final_state = final_logs(&[(0, &[(0, 1)]), (1, &[(0, 101)])]);
        let processed = GroupHistory::from_history(&history, &final_state);
        let values: Vec<u64> = processed
            .of(&group)
            .iter()
            .map(|record| record.value)
            .collect();
        assert_eq!(values, vec![1]);
        aborted(&mut final_state, 1, &[0]);
        assert!(GroupHistory::from_history(&history, &final_state)
            .of(&group)
            .is_empty());
    }
}
