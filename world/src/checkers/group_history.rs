//! What the group checkers read from the client history: every record each group's
//! application processed (wrote to the sink, `OpBody::Process`), in history order, and what
//! each group reads and promises (`GroupReads`, from the scenario).

use crate::history::{History, OpBody, OpType};
use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// What one group's consumers read, and what their processing mode promises.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    pub fn from_history(history: &History) -> GroupHistory {
        let mut processed: BTreeMap<GroupId, Vec<Processed>> = BTreeMap::new();
        for operation in &history.operations {
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
}
