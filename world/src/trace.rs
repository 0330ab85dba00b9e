//! The trace: one line per event, nemesis action, finding or note in simulated time, e.g.
//! `t=12.204s b2 orders-0 isr {1,2,3}->{1,2}`, optionally kept for printing (text or JSON
//! lines), and always hashed. The hash is XXH3-64 over every entry — its kind, time, node and
//! every field in postcard's canonical, platform-independent encoding — so the same seed and
//! the same code give the same hash on any machine, with any number of worker threads and
//! whether or not the text is kept; a different hash means the run took a different path.
//! Hashing the encoding rather than the text keeps sweeps from formatting lines nobody reads
//! (that was a tenth of a run's time).

use crate::step_record::NemesisAction;
use crate::violation::Violation;
use serde::Serialize;
use std::fmt::Write as _;
use watermark_broker_core::event::{Event, LogStartOffsetReason, SendFailure};
use watermark_broker_core::ids::{BrokerId, NodeId, ProducerId};
use watermark_broker_core::log::record_batch::ControlRecordType;
use watermark_broker_core::protocol::Acks;
use watermark_broker_core::record::NOT_A_WORKLOAD_VALUE;
use xxhash_rust::xxh3::Xxh3;

/// What to keep besides the hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TraceMode {
    /// Only the hash (sweeps).
    #[default]
    HashOnly,
    /// Keep every line as text.
    Text,
    /// Keep every line as a JSON object.
    Json,
}

/// One trace entry in its JSON form.
#[derive(Serialize)]
struct JsonLine<'a> {
    t_ms: u64,
    node: String,
    #[serde(flatten)]
    what: JsonWhat<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonWhat<'a> {
    Event { event: &'a Event },
    Nemesis { nemesis: &'a NemesisAction },
    Finding { finding: &'a Violation },
    Note { note: &'a str },
}

/// The trace of one run.
pub struct Trace {
    mode: TraceMode,
    hasher: Xxh3,
    /// The encoding of the entry being hashed, reused between entries.
    encoded: Vec<u8>,
    lines: Vec<String>,
    line_count: u64,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Trace")
            .field("mode", &self.mode)
            .field("hash", &self.hash_hex())
            .field("line_count", &self.line_count)
            .finish()
    }
}

/// Entry kinds in the hashed encoding, so entries of different kinds never encode alike.
const ENTRY_EVENT: u8 = 0;
const ENTRY_NOTE: u8 = 1;
const ENTRY_NEMESIS: u8 = 2;
const ENTRY_FINDING: u8 = 3;

/// A postcard output that appends to a borrowed buffer.
struct AppendFlavor<'a> {
    bytes: &'a mut Vec<u8>,
}

impl postcard::ser_flavors::Flavor for AppendFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.bytes.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        // Postcard extends a few bytes at a time (one varint); a plain loop beats a call to
        // the C library's memcpy for each.
        for &byte in bytes {
            self.bytes.push(byte);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl Trace {
    pub fn new(mode: TraceMode) -> Trace {
        Trace {
            mode,
            hasher: Xxh3::new(),
            encoded: Vec::new(),
            lines: Vec::new(),
            line_count: 0,
        }
    }

    /// Records an actor's event.
    pub fn event(&mut self, time_ms: u64, node: NodeId, event: &Event) {
        self.hash_entry(&(ENTRY_EVENT, time_ms, node, event));
        self.line_count += 1;
        match self.mode {
            TraceMode::HashOnly => {}
            TraceMode::Text => {
                let mut line = String::new();
                write_time_and_node(&mut line, time_ms, &node.to_string());
                describe_event(&mut line, event);
                self.lines.push(line);
            }
            TraceMode::Json => self.push_json(time_ms, node.to_string(), JsonWhat::Event { event }),
        }
    }

    /// Records a note from the simulator itself (faults, phases).
    pub fn note(&mut self, time_ms: u64, who: &str, note: &str) {
        self.hash_entry(&(ENTRY_NOTE, time_ms, who, note));
        self.line_count += 1;
        match self.mode {
            TraceMode::HashOnly => {}
            TraceMode::Text => {
                let mut line = String::new();
                write_time_and_node(&mut line, time_ms, who);
                line.push_str(note);
                self.lines.push(line);
            }
            TraceMode::Json => self.push_json(time_ms, who.to_string(), JsonWhat::Note { note }),
        }
    }

    /// Records a nemesis action: its text is the action's own.
    pub fn nemesis(&mut self, time_ms: u64, action: &NemesisAction) {
        self.hash_entry(&(ENTRY_NEMESIS, time_ms, action));
        self.line_count += 1;
        match self.mode {
            TraceMode::HashOnly => {}
            TraceMode::Text => {
                let mut line = String::new();
                write_time_and_node(&mut line, time_ms, "nemesis");
                let _ = write!(line, "{action}");
                self.lines.push(line);
            }
            TraceMode::Json => self.push_json(
                time_ms,
                "nemesis".to_string(),
                JsonWhat::Nemesis { nemesis: action },
            ),
        }
    }

    /// Records a checker's finding.
    pub fn finding(&mut self, time_ms: u64, violation: &Violation) {
        self.hash_entry(&(ENTRY_FINDING, time_ms, violation));
        self.line_count += 1;
        match self.mode {
            TraceMode::HashOnly => {}
            TraceMode::Text => {
                let mut line = String::new();
                write_time_and_node(&mut line, time_ms, "checker");
                let _ = write!(line, "{violation}");
                self.lines.push(line);
            }
            TraceMode::Json => self.push_json(
                time_ms,
                "checker".to_string(),
                JsonWhat::Finding { finding: violation },
            ),
        }
    }

    fn hash_entry(&mut self, entry: &impl Serialize) {
        self.encoded.clear();
        let flavor = AppendFlavor {
            bytes: &mut self.encoded,
        };
        // The flavor never refuses a byte, so encoding cannot fail; if a type ever could not
        // be encoded, the entry would simply not change the hash.
        if postcard::serialize_with_flavor(entry, flavor).is_ok() {
            self.hasher.update(&self.encoded);
        }
    }

    fn push_json(&mut self, time_ms: u64, node: String, what: JsonWhat<'_>) {
        let line = JsonLine {
            t_ms: time_ms,
            node,
            what,
        };
        self.lines.push(
            serde_json::to_string(&line)
                .unwrap_or_else(|error| format!("{{\"t_ms\":{time_ms},\"error\":\"{error}\"}}")),
        );
    }

    /// The hash of every entry so far, as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hasher.digest())
    }

    pub fn line_count(&self) -> u64 {
        self.line_count
    }

    /// The kept lines (empty in `HashOnly` mode).
    pub fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }
}

fn write_time_and_node(out: &mut String, time_ms: u64, who: &str) {
    let _ = write!(out, "t={}.{:03}s {} ", time_ms / 1000, time_ms % 1000, who);
}

/// `{1,2,3}`: a broker set as the trace prints it.
struct Brokers<'a>(&'a [BrokerId]);

impl std::fmt::Display for Brokers<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("{")?;
        for (index, broker) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(",")?;
            }
            write!(formatter, "{}", broker.0)?;
        }
        formatter.write_str("}")
    }
}

fn brokers(list: &[BrokerId]) -> Brokers<'_> {
    Brokers(list)
}

fn send_failure(failure: &SendFailure) -> String {
    let kind = if failure.definite { "fail" } else { "info" };
    format!("{kind} {}", failure.error)
}

/// A record's value as the views print it: `v21`, or `–` for a record that holds no
/// workload value (a transaction marker, a coordinator's record).
pub fn value_name(value: u64) -> String {
    if value == NOT_A_WORKLOAD_VALUE {
        "–".to_string()
    } else {
        format!("v{value}")
    }
}

/// The one-line text form of an event, after the time and node.
pub fn describe_event(out: &mut String, event: &Event) {
    let _ = match event {
        Event::LogRecovered {
            partition,
            log_end_offset,
            high_watermark,
            latest_epoch,
            ..
        } => write!(
            out,
            "{partition} recovered leo={log_end_offset} hw={high_watermark} epoch={}",
            latest_epoch.map_or("-".to_string(), |epoch| epoch.0.to_string())
        ),
        Event::BecameLeader {
            partition,
            leader_epoch,
            isr,
            log_end_offset,
        } => write!(
            out,
            "{partition} leader {leader_epoch} isr {} leo={log_end_offset}",
            brokers(isr)
        ),
        Event::BecameFollower {
            partition,
            leader_epoch,
            leader,
        } => write!(
            out,
            "{partition} follower {leader_epoch} of {}",
            leader.map_or("none".to_string(), |leader| leader.to_string())
        ),
        Event::RecordsAppended {
            partition,
            as_leader,
            records,
        } => {
            let _ = write!(out, "{partition} append");
            if !*as_leader {
                out.push_str(" as follower");
            }
            match records.first() {
                Some(first) => {
                    let _ = write!(out, " {} [", first.leader_epoch);
                }
                None => out.push_str(" - ["),
            }
            for (index, record) in records.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{}:{}", record.offset, value_name(record.value));
            }
            out.push(']');
            Ok(())
        }
        Event::LogTruncated {
            partition,
            from_log_end_offset,
            to_offset,
            reason,
        } => write!(
            out,
            "{partition} truncate leo {from_log_end_offset}->{to_offset} ({reason:?})"
        ),
        Event::HighWatermarkUpdated {
            partition,
            from,
            to,
        } => write!(out, "{partition} hw {from}->{to}"),
        Event::IsrUpdated {
            partition,
            from,
            to,
        } => write!(out, "{partition} isr {}->{}", brokers(from), brokers(to)),
        Event::ProduceAnswered {
            partition,
            acks,
            base_offset,
            last_offset,
            result,
        } => write!(
            out,
            "{partition} produce acks={} offsets {}..{} {}",
            match acks {
                Acks::None => "0",
                Acks::Leader => "1",
                Acks::All => "all",
            },
            base_offset.map_or("-".to_string(), |offset| offset.to_string()),
            last_offset.map_or("-".to_string(), |offset| offset.to_string()),
            match result {
                Ok(()) => "ok".to_string(),
                Err(error) => error.to_string(),
            }
        ),
        Event::BrokerRegistered {
            broker,
            broker_epoch,
        } => write!(out, "registered {broker} {broker_epoch}"),
        Event::BrokerFenced { broker } => write!(out, "fenced {broker}"),
        Event::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            partition_epoch,
            unclean,
        } => write!(
            out,
            "{partition} elect {} {leader_epoch} isr {} {partition_epoch}{}",
            leader.map_or("none".to_string(), |leader| leader.to_string()),
            brokers(isr),
            if *unclean { " UNCLEAN" } else { "" }
        ),
        Event::IsrAltered {
            partition,
            isr,
            partition_epoch,
        } => write!(
            out,
            "{partition} alter-partition isr {} {partition_epoch}",
            brokers(isr)
        ),
        Event::SendCompleted {
            value,
            partition,
            result,
        } => match result {
            Ok(Some(offset)) => write!(out, "send v{value} ok {partition}@{offset}"),
            Ok(None) => write!(out, "send v{value} ok {partition} (acks=0)"),
            Err(failure) => write!(out, "send v{value} {} {partition}", send_failure(failure)),
        },
        Event::Polled { partition, records } => {
            let _ = write!(out, "poll {partition} [");
            for (index, (offset, value)) in records.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{offset}:v{value}");
            }
            out.push(']');
            Ok(())
        }
        Event::PositionReset {
            partition,
            from,
            to,
        } => write!(
            out,
            "{partition} position {}->{to}",
            from.map_or("-".to_string(), |offset| offset.to_string())
        ),
        Event::ProducerIdBlockReceived {
            broker,
            first,
            length,
        } => write!(
            out,
            "producer ids {broker} [{first}..{})",
            ProducerId(first.0 + length)
        ),
        Event::TxnMarkerAppended {
            partition,
            producer,
            producer_epoch,
            result,
            coordinator_epoch,
            offset,
        } => write!(
            out,
            "{partition} txn marker {} {producer} {producer_epoch} coordinator epoch {coordinator_epoch} at {offset}",
            match result {
                ControlRecordType::Commit => "commit",
                ControlRecordType::Abort => "abort",
            }
        ),
        Event::LastStableOffsetAdvanced {
            partition,
            from,
            to,
        } => write!(out, "{partition} lso {from}->{to}"),
        Event::AbortedRecordsSkipped {
            partition,
            producer,
            first_offset,
            count,
        } => write!(
            out,
            "{partition} skipped {count} aborted records of {producer} from {first_offset}"
        ),
        Event::LogStartOffsetIncremented {
            partition,
            from,
            to,
            reason,
            producers_forgotten,
        } => {
            let why = match reason {
                LogStartOffsetReason::ClientRecordDeletion => "delete-records",
                LogStartOffsetReason::LeaderOffsetIncremented => "from leader",
            };
            let _ = write!(out, "{partition} log start {from}->{to} ({why})");
            if producers_forgotten.is_empty() {
                Ok(())
            } else {
                let forgotten: Vec<String> =
                    producers_forgotten.iter().map(ToString::to_string).collect();
                write!(out, " forgot producers [{}]", forgotten.join(" "))
            }
        }
        Event::LogTruncatedFully {
            partition,
            from_log_end_offset,
            start_offset,
        } => write!(
            out,
            "{partition} truncate fully leo {from_log_end_offset} and start at {start_offset}"
        ),
        Event::DeleteRecordsAnswered {
            partition,
            requested_offset,
            result,
        } => match result {
            Ok(low_watermark) => write!(
                out,
                "{partition} delete-records before {requested_offset} answered: low watermark {low_watermark}"
            ),
            Err(error) => write!(
                out,
                "{partition} delete-records before {requested_offset} answered: {error:?}"
            ),
        },
        transaction_event
            if crate::trace_transaction_events::describe_transaction_event(
                out,
                transaction_event,
            ) =>
        {
            Ok(())
        }
        txn_offset_event
            if crate::trace_txn_offset_events::describe_txn_offset_event(
                out,
                txn_offset_event,
            ) =>
        {
            Ok(())
        }
        reason_event if crate::trace_reason_events::describe_reason_event(out, reason_event) => {
            Ok(())
        }
        group_event => {
            crate::trace_group_events::describe_group_event(out, group_event);
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_events_read_as_one_line_each() {
        use watermark_broker_core::ids::{Offset, ProducerEpoch};
        let partition = watermark_broker_core::topic::TopicPartition::new(
            watermark_broker_core::topic::TopicName::new("orders"),
            watermark_broker_core::ids::PartitionId(0),
        );
        let mut trace = Trace::new(TraceMode::Text);
        let node = NodeId::Broker(BrokerId(1));
        trace.event(
            10,
            node,
            &Event::TxnMarkerAppended {
                partition,
                producer: ProducerId(7),
                producer_epoch: ProducerEpoch(2),
                result: ControlRecordType::Abort,
                coordinator_epoch: 3,
                offset: Offset(12),
            },
        );
        trace.event(
            20,
            node,
            &Event::LastStableOffsetAdvanced {
                partition,
                from: Offset(4),
                to: Offset(13),
            },
        );
        trace.event(
            30,
            node,
            &Event::AbortedRecordsSkipped {
                partition,
                producer: ProducerId(7),
                first_offset: Offset(4),
                count: 3,
            },
        );
        assert_eq!(
            trace.take_lines(),
            vec![
                "t=0.010s b1 orders-0 txn marker abort pid7 pepoch2 coordinator epoch 3 at 12",
                "t=0.020s b1 orders-0 lso 4->13",
                "t=0.030s b1 orders-0 skipped 3 aborted records of pid7 from 4",
            ]
        );
    }

    #[test]
    fn isr_change_reads_as_the_architecture_shows() {
        let mut trace = Trace::new(TraceMode::Text);
        trace.event(
            1204,
            NodeId::Broker(BrokerId(2)),
            &Event::IsrUpdated {
                partition: watermark_broker_core::topic::TopicPartition::new(
                    watermark_broker_core::topic::TopicName::new("orders"),
                    watermark_broker_core::ids::PartitionId(0),
                ),
                from: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
                to: vec![BrokerId(1), BrokerId(2)],
            },
        );
        assert_eq!(
            trace.take_lines(),
            vec!["t=1.204s b2 orders-0 isr {1,2,3}->{1,2}"]
        );
    }

    #[test]
    fn a_producer_id_block_reads_as_the_broker_and_its_half_open_range() {
        let mut trace = Trace::new(TraceMode::Text);
        trace.event(
            40,
            NodeId::Broker(BrokerId(2)),
            &Event::ProducerIdBlockReceived {
                broker: BrokerId(2),
                first: ProducerId(1_000),
                length: 1_000,
            },
        );
        assert_eq!(
            trace.take_lines(),
            vec!["t=0.040s b2 producer ids b2 [pid1000..pid2000)"]
        );
    }

    #[test]
    fn hash_depends_on_every_line_and_not_on_the_mode() {
        let mut hashed = Trace::new(TraceMode::HashOnly);
        let mut kept = Trace::new(TraceMode::Json);
        for trace in [&mut hashed, &mut kept] {
            trace.note(0, "nemesis", "crash b1");
            trace.note(5, "nemesis", "restart b1");
        }
        assert_eq!(hashed.hash_hex(), kept.hash_hex());
        let mut other = Trace::new(TraceMode::HashOnly);
        other.note(0, "nemesis", "crash b1");
        other.note(5, "nemesis", "restart b2");
        assert_ne!(hashed.hash_hex(), other.hash_hex());
        assert!(kept.take_lines()[0].contains("\"note\":\"crash b1\""));
    }

    #[test]
    fn hash_sees_every_field_of_an_event() {
        let isr = |to: Vec<u32>, time_ms: u64, broker: u32| {
            let mut trace = Trace::new(TraceMode::HashOnly);
            trace.event(
                time_ms,
                NodeId::Broker(BrokerId(broker)),
                &Event::IsrUpdated {
                    partition: watermark_broker_core::topic::TopicPartition::of_default_topic(0),
                    from: vec![BrokerId(1), BrokerId(2)],
                    to: to.into_iter().map(BrokerId).collect(),
                },
            );
            trace.hash_hex()
        };
        let base = isr(vec![1], 10, 1);
        assert_eq!(base, isr(vec![1], 10, 1));
        assert_ne!(base, isr(vec![2], 10, 1), "a field of the event");
        assert_ne!(base, isr(vec![1], 11, 1), "the time");
        assert_ne!(base, isr(vec![1], 10, 2), "the node");
    }
}
