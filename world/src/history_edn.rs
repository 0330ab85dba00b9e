//! The import of Jepsen's Kafka workload history (`jepsen.tests.kafka`, the `history.edn` a
//! Jepsen test stores) into Watermark's client history, so the same checkers judge it.
//!
//! Jepsen's operations are maps with `:type` (`:invoke`, `:ok`, `:fail`, `:info`), `:f`,
//! `:value`, `:process` and `:time` (nanoseconds). The file may hold one map per line or one
//! vector of maps; a tagged map (`#jepsen.history.Op{…}`) reads as the map. The mapping
//! (docs/DECISIONS.md, "Checking histories recorded elsewhere"):
//!
//! - **Keys** are partitions: integer key `k` is partition `k` of topic `jepsen`, so reports
//!   name it `jepsen-k`. A key that is not a non-negative integer below 2^32 is refused.
//! - **Values** are the u64 values the checkers follow; each must be a non-negative integer,
//!   sent once in the history (Jepsen's workload sends each value once; the checkers identify
//!   a record by its value). Anything else is refused.
//! - **`:process`** is the client: integer process `p` is client `p` for both its sends and
//!   its polls. Operations of a non-integer process (`:nemesis`) are faults, not client
//!   operations, and are left out.
//! - **`:send`** (and the sends of a `:txn`): each micro-op `[:send k v]` of the invocation is
//!   a `Send` invocation; the completion's `[:send k [offset v]]` (or `[:send k v]`, or the
//!   invocation's when the completion carries no value) completes it with the completion's
//!   type and the offset it names.
//! - **`:poll`** (and the polls of a `:txn`): each `[:poll {k [[offset v] …]}]` of a
//!   completion, whatever its type, is one `Ok` poll per key with those records: the client
//!   was handed them. The polls of a `:txn` that did not complete `:ok` are not: its
//!   consumer rewinds to where the transaction began (Jepsen's "txn abort" rule), so they
//!   stay in the `Transaction` only. Poll invocations carry nothing and are left out.
//! - **`:txn`** is also a `Transaction` (transactional id `jepsen-p`, numbered per process)
//!   with its sends and polls, committed by `:ok`, aborted by `:fail`, indefinite by `:info`.
//! - **`:assign`** and **`:subscribe`** completions (`:ok` or `:info`) with a vector of keys are
//!   assignment changes of group `jepsen` to those keys (Jepsen resets its poll-skip state the
//!   same way); the keys no longer named are revoked.
//! - **`:crash`** and **`:debug-topic-partitions`** operations carry nothing to judge and are
//!   left out. Any other `:f` is refused, naming the ones accepted.

use crate::edn::{read_all, Edn};
use crate::history::{History, OpBody, OpType, TransactionalSend};
use crate::history_file::{
    final_state_from_history, strictest_expectation, HistoryFormat, ImportedHistory,
};
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{
    ClientId, GenerationId, GroupId, Offset, PartitionId, TransactionalId,
};
use watermark_broker_core::topic::{TopicName, TopicPartition};

/// The topic Jepsen's keys become partitions of.
pub const JEPSEN_TOPIC: &str = "jepsen";

/// The group Jepsen's assigning and subscribing clients belong to.
pub const JEPSEN_GROUP: &str = "jepsen";

/// Reads a Jepsen Kafka workload history. Errors name the line of the operation at fault.
pub fn read_edn(text: &str) -> Result<ImportedHistory, String> {
    let forms = read_all(text)?;
    let operations: Vec<(usize, Edn)> = match forms.as_slice() {
        [(line, Edn::Vector(items) | Edn::List(items))] => {
            items.iter().map(|item| (*line, item.clone())).collect()
        }
        _ => forms,
    };
    if operations.is_empty() {
        return Err(
            "the history is empty: a Jepsen history is one operation map per line \
                    ({:type :invoke, :f :send, :value [[:send 0 1]], :process 0, :time 0})"
                .to_string(),
        );
    }
    let mut importer = Importer::default();
    for (line, operation) in &operations {
        importer
            .operation(operation)
            .map_err(|message| format!("line {line}: {message}"))?;
    }
    let history = importer.history;
    let final_state = final_state_from_history(&history);
    Ok(ImportedHistory {
        format: HistoryFormat::Edn,
        scenario: String::new(),
        seed: None,
        expect: strictest_expectation(),
        history,
        final_state,
        has_final_state: false,
    })
}

/// What an invocation started, waiting for its process's completion.
#[derive(Clone, Debug)]
struct Pending {
    f: String,
    /// The invocation's sends, (partition, value).
    sends: Vec<(TopicPartition, u64)>,
    /// The transaction's number, for `:txn`.
    transaction: Option<u64>,
}

#[derive(Default)]
struct Importer {
    history: History,
    pending: BTreeMap<u32, Pending>,
    /// Every value sent, so a second send of one is refused.
    sent: BTreeSet<u64>,
    /// Transactions started, per process.
    transactions: BTreeMap<u32, u64>,
    /// Each process's current assignment.
    assignments: BTreeMap<u32, BTreeSet<TopicPartition>>,
    generation: i32,
    /// The last time seen, for operations without `:time`.
    time_ms: u64,
}

fn keyword(value: Option<&Edn>) -> Option<&str> {
    match value {
        Some(Edn::Keyword(name)) => Some(name),
        _ => None,
    }
}

fn partition(key: &Edn) -> Result<TopicPartition, String> {
    match key {
        Edn::Int(k) if (0..=i128::from(u32::MAX)).contains(k) => Ok(TopicPartition::new(
            TopicName::new(JEPSEN_TOPIC),
            PartitionId(*k as u32),
        )),
        other => Err(format!(
            "key {other} cannot be mapped to a partition: keys must be non-negative integers \
             below 2^32 (key k is partition k of topic `{JEPSEN_TOPIC}`)"
        )),
    }
}

fn value(value: &Edn) -> Result<u64, String> {
    match value {
        Edn::Int(v) if (0..=i128::from(u64::MAX)).contains(v) => Ok(*v as u64),
        other => Err(format!(
            "value {other} cannot be mapped: values must be non-negative integers (the \
             checkers follow each record by its u64 value)"
        )),
    }
}

fn offset(value: &Edn) -> Result<Option<Offset>, String> {
    match value {
        Edn::Nil => Ok(None),
        Edn::Int(o) if (0..=i128::from(u64::MAX)).contains(o) => Ok(Some(Offset(*o as u64))),
        other => Err(format!(
            "offset {other} is not a non-negative integer or nil"
        )),
    }
}

/// A micro-op's name and arguments: `[:send k v]` is `("send", [k, v])`.
fn micro_op(op: &Edn) -> Result<(&str, &[Edn]), String> {
    match op.as_seq() {
        Some([Edn::Keyword(name), rest @ ..]) => Ok((name.as_str(), rest)),
        _ => Err(format!(
            "micro-op {op} is not [:send k v], [:send k [offset v]], [:poll] or [:poll {{k \
             [[offset v] ...]}}]"
        )),
    }
}

/// A completed send micro-op: (partition, offset, value).
fn completed_send(args: &[Edn]) -> Result<(TopicPartition, Option<Offset>, u64), String> {
    let [key, written] = args else {
        return Err("a send micro-op is [:send k v] or [:send k [offset v]]".to_string());
    };
    let partition = partition(key)?;
    match written.as_seq() {
        Some([at, sent]) => Ok((partition, offset(at)?, value(sent)?)),
        Some(_) => Err(format!("send result {written} is not [offset value]")),
        None => Ok((partition, None, value(written)?)),
    }
}

/// One partition's polled records, (offset, value) in the order received.
type PartitionRecords = (TopicPartition, Vec<(Offset, u64)>);

/// The polled records of a poll micro-op's result map, per partition, in key order.
fn polled(args: &[Edn]) -> Result<Vec<PartitionRecords>, String> {
    let Some(result) = args.first() else {
        return Ok(Vec::new());
    };
    let Edn::Map(pairs) = result else {
        return Err(format!(
            "poll result {result} is not a map {{k [[offset v] ...]}}"
        ));
    };
    let mut by_partition: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = BTreeMap::new();
    for (key, records) in pairs {
        let partition = partition(key)?;
        let Some(records) = records.as_seq() else {
            return Err(format!(
                "the records polled from key {key} are not a vector of [offset value]"
            ));
        };
        let list = by_partition.entry(partition).or_default();
        for record in records {
            let Some([at, polled]) = record.as_seq() else {
                return Err(format!("polled record {record} is not [offset value]"));
            };
            let Some(at) = offset(at)? else {
                return Err(format!("polled record {record} has no offset"));
            };
            list.push((at, value(polled)?));
        }
    }
    Ok(by_partition
        .into_iter()
        .filter(|(_, records)| !records.is_empty())
        .collect())
}

impl Importer {
    fn operation(&mut self, operation: &Edn) -> Result<(), String> {
        if !matches!(operation, Edn::Map(_) | Edn::Tagged(_, _)) {
            return Err(format!(
                "{operation} is not an operation map {{:type … :f … :value … :process …}}"
            ));
        }
        let process = match operation.get("process") {
            Some(Edn::Int(process)) => u32::try_from(*process).map_err(|_| {
                format!("process {process} is not a non-negative integer below 2^32")
            })?,
            // The nemesis's operations (`:process :nemesis`) are faults, not client operations.
            Some(Edn::Keyword(_)) => return Ok(()),
            Some(other) => return Err(format!("process {other} is not an integer")),
            None => return Err("the operation has no :process".to_string()),
        };
        let op_type = match keyword(operation.get("type")) {
            Some("invoke") => OpType::Invoke,
            Some("ok") => OpType::Ok,
            Some("fail") => OpType::Fail,
            Some("info") => OpType::Info,
            _ => {
                return Err(format!(
                    "unknown operation type {}: :type must be :invoke, :ok, :fail or :info",
                    operation
                        .get("type")
                        .map_or("(none)".to_string(), Edn::to_string)
                ))
            }
        };
        if let Some(time) = operation.get("time") {
            match time {
                Edn::Int(nanos) if *nanos >= 0 => {
                    self.time_ms = u64::try_from(*nanos / 1_000_000).unwrap_or(u64::MAX);
                }
                other => return Err(format!(":time {other} is not a non-negative integer")),
            }
        }
        let f = match keyword(operation.get("f")) {
            Some(f @ ("send" | "poll" | "txn" | "assign" | "subscribe")) => f.to_string(),
            Some("crash" | "debug-topic-partitions") => return Ok(()),
            _ => {
                return Err(format!(
                    "unknown :f {}: accepted are :send, :poll, :txn, :assign, :subscribe (and \
                     :crash, :debug-topic-partitions, which are left out)",
                    operation
                        .get("f")
                        .map_or("(none)".to_string(), Edn::to_string)
                ))
            }
        };
        let micro_ops = match operation.get("value") {
            None | Some(Edn::Nil) => Vec::new(),
            Some(value) => match value.as_seq() {
                Some(items) => items.to_vec(),
                None => return Err(format!(":value {value} is not a vector")),
            },
        };
        let client = ClientId(process);
        if op_type == OpType::Invoke {
            return self.invoke(process, client, f, &micro_ops);
        }
        let Some(pending) = self.pending.remove(&process) else {
            return Err(format!(
                "a {} completion of process {process} with no invocation before it",
                keyword(operation.get("type")).unwrap_or("?")
            ));
        };
        if pending.f != f {
            return Err(format!(
                "process {process} completes :{f} but invoked :{}",
                pending.f
            ));
        }
        match f.as_str() {
            "assign" | "subscribe" => self.assign(process, client, op_type, &micro_ops),
            _ => self.complete(client, op_type, pending, &micro_ops, process),
        }
    }

    fn invoke(
        &mut self,
        process: u32,
        client: ClientId,
        f: String,
        micro_ops: &[Edn],
    ) -> Result<(), String> {
        if self.pending.contains_key(&process) {
            return Err(format!(
                "process {process} invokes again before its previous operation completed"
            ));
        }
        let mut sends = Vec::new();
        if f == "send" || f == "txn" {
            for op in micro_ops {
                let (name, args) = micro_op(op)?;
                match name {
                    "send" => {
                        let (partition, _, value) = completed_send(args)?;
                        if !self.sent.insert(value) {
                            return Err(format!(
                                "value {value} is sent a second time: the checkers need every \
                                 sent value unique (Jepsen's workload sends each value once)"
                            ));
                        }
                        sends.push((partition, value));
                    }
                    "poll" => {}
                    other => {
                        return Err(format!(
                            "unknown micro-op :{other}: accepted are :send and :poll"
                        ))
                    }
                }
            }
        }
        let transaction = (f == "txn").then(|| {
            let number = self.transactions.entry(process).or_default();
            *number += 1;
            *number
        });
        if let Some(number) = transaction {
            self.history.push(
                self.time_ms,
                client,
                OpType::Invoke,
                OpBody::Transaction {
                    transactional_id: TransactionalId(format!("jepsen-{process}")),
                    number,
                    sends: Vec::new(),
                    polls: Vec::new(),
                    offsets: None,
                    commit: true,
                    error: None,
                },
            );
        }
        for (partition, value) in &sends {
            self.history.push(
                self.time_ms,
                client,
                OpType::Invoke,
                OpBody::Send {
                    value: *value,
                    partition: Some(*partition),
                    offset: None,
                    error: None,
                },
            );
        }
        self.pending.insert(
            process,
            Pending {
                f,
                sends,
                transaction,
            },
        );
        Ok(())
    }

    fn complete(
        &mut self,
        client: ClientId,
        op_type: OpType,
        pending: Pending,
        micro_ops: &[Edn],
        process: u32,
    ) -> Result<(), String> {
        let mut written: BTreeMap<u64, (TopicPartition, Option<Offset>)> = BTreeMap::new();
        let mut polls = Vec::new();
        for op in micro_ops {
            let (name, args) = micro_op(op)?;
            match name {
                "send" => {
                    let (partition, at, value) = completed_send(args)?;
                    written.insert(value, (partition, at));
                }
                "poll" => polls.extend(polled(args)?),
                other => {
                    return Err(format!(
                        "unknown micro-op :{other}: accepted are :send and :poll"
                    ))
                }
            }
        }
        for value in written.keys() {
            if !pending.sends.iter().any(|(_, sent)| sent == value) {
                return Err(format!(
                    "the completion names value {value}, which its invocation did not send"
                ));
            }
        }
        // A transaction that did not commit rewinds its consumer to where the transaction
        // began (Jepsen's poll-skip "txn abort" rule): its polls are no step of the
        // consumer's position, only part of the transaction.
        let rewound = pending.transaction.is_some() && op_type != OpType::Ok;
        for (partition, records) in polls.iter().filter(|_| !rewound) {
            self.history.push(
                self.time_ms,
                client,
                OpType::Ok,
                OpBody::Poll {
                    partition: *partition,
                    records: records.clone(),
                },
            );
        }
        let mut transactional = Vec::new();
        for (partition, value) in &pending.sends {
            let (partition, at) = written.get(value).copied().unwrap_or((*partition, None));
            // A definitely failed send was never written: it has no offset.
            let at = if op_type == OpType::Fail { None } else { at };
            self.history.push(
                self.time_ms,
                client,
                op_type,
                OpBody::Send {
                    value: *value,
                    partition: Some(partition),
                    offset: at,
                    error: None,
                },
            );
            transactional.push(TransactionalSend {
                value: *value,
                source: None,
                partition: Some(partition),
                offset: at,
            });
        }
        if let Some(number) = pending.transaction {
            self.history.push(
                self.time_ms,
                client,
                op_type,
                OpBody::Transaction {
                    transactional_id: TransactionalId(format!("jepsen-{process}")),
                    number,
                    sends: transactional,
                    polls,
                    offsets: None,
                    commit: true,
                    error: None,
                },
            );
        }
        Ok(())
    }

    fn assign(
        &mut self,
        process: u32,
        client: ClientId,
        op_type: OpType,
        keys: &[Edn],
    ) -> Result<(), String> {
        if op_type == OpType::Fail {
            return Ok(());
        }
        let assignment: BTreeSet<TopicPartition> =
            keys.iter().map(partition).collect::<Result<_, _>>()?;
        let previous = self
            .assignments
            .insert(process, assignment.clone())
            .unwrap_or_default();
        self.generation += 1;
        self.history.push(
            self.time_ms,
            client,
            OpType::Ok,
            OpBody::Assign {
                group: GroupId(JEPSEN_GROUP.to_string()),
                generation: GenerationId(self.generation),
                assignment: assignment.iter().copied().collect(),
                revoked: previous.difference(&assignment).copied().collect(),
                lost: false,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_and_polls_become_watermark_operations() {
        let text = "{:type :invoke, :f :send, :value [[:send 0 1] [:send 1 2]], :process 0, :time 1000000}\n\
                    {:type :ok, :f :send, :value [[:send 0 [0 1]] [:send 1 [5 2]]], :process 0, :time 2000000}\n\
                    {:type :invoke, :f :poll, :value [[:poll]], :process 1, :time 3000000}\n\
                    {:type :ok, :f :poll, :value [[:poll {0 [[0 1]], 1 []}]], :process 1, :time 4000000}\n\
                    {:type :info, :f :kill, :value nil, :process :nemesis}\n";
        let imported = read_edn(text).unwrap();
        let bodies: Vec<(OpType, &OpBody)> = imported
            .history
            .operations
            .iter()
            .map(|operation| (operation.op_type, &operation.body))
            .collect();
        assert_eq!(bodies.len(), 5, "{bodies:?}");
        assert!(matches!(
            bodies[2],
            (
                OpType::Ok,
                OpBody::Send {
                    value: 1,
                    offset: Some(Offset(0)),
                    ..
                }
            )
        ));
        assert!(matches!(
            bodies[4],
            (OpType::Ok, OpBody::Poll { records, .. }) if records == &vec![(Offset(0), 1)]
        ));
        assert_eq!(imported.history.operations[4].time_ms, 4);
        assert_eq!(imported.final_state.assigned_partitions.len(), 2);
    }

    #[test]
    fn what_cannot_be_mapped_is_refused_with_its_line() {
        let refuse = |text: &str| read_edn(text).unwrap_err();
        assert!(
            refuse("{:type :invoke, :f :send, :value [[:send :x 1]], :process 0}")
                .starts_with("line 1: key :x cannot be mapped")
        );
        assert!(
            refuse("{:type :invoke, :f :send, :value [[:send 0 :a]], :process 0}")
                .starts_with("line 1: value :a cannot be mapped")
        );
        assert!(refuse(
            "{:type :invoke, :f :poll, :process 0}\n{:type :weird, :f :poll, :process 0}"
        )
        .starts_with("line 2: unknown operation type :weird"));
        assert!(refuse("{:type :ok, :f :poll, :process 3}").contains("no invocation"));
        assert!(refuse("{:type :invoke, :f :cas, :process 3}").contains("unknown :f :cas"));
        assert!(refuse(
            "{:type :invoke, :f :send, :value [[:send 0 1]], :process 0}\n\
             {:type :invoke, :f :send, :value [[:send 0 1]], :process 1}"
        )
        .contains("sent a second time"));
    }
}
