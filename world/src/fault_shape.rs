//! How a scenario file spells fault targets, partitions and swarm fault kinds. Each is read
//! from the value as written ([`Written`]) by hand, so a mistake is a sentence listing the
//! accepted forms (`{ broker = 2 }`, `"controller"`, `{ leader = 0 }`, ...) and the closest
//! name, never serde's "expected newtype variant" or "did not match any variant".

use crate::fault::{FaultKind, PartitionRef, Target};
use crate::scenario::FlushPolicy;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use watermark_broker_core::ids::{BrokerId, PartitionId};
use watermark_broker_core::spelling::closest;
use watermark_broker_core::topic::TopicName;
use watermark_broker_core::written::Written;

/// Every way to write a target, for error messages and the documentation.
pub const TARGET_FORMS: &str = "{ broker = 1 }, \"controller\", \"all-brokers\", \
     \"event-source\", { leader = 0 }, { followers = 0 }, { newest-isr-member = 0 }, \
     { lagging-follower = 0 }, { struck = \"label\" }, { producer = 0 }, { consumer = 0 }, \
     { coordinator = \"group\" }, { transaction-coordinator = \"transactional-id\" }";

/// Every way to write a partition.
pub const PARTITION_FORMS: &str =
    "0 (an index into the first topic) or { topic = \"orders\", partition = 0 }";

const TARGET_WORDS: [&str; 3] = ["controller", "all-brokers", "event-source"];
const TARGET_TABLES: [&str; 10] = [
    "broker",
    "leader",
    "followers",
    "newest-isr-member",
    "lagging-follower",
    "struck",
    "producer",
    "consumer",
    "coordinator",
    "transaction-coordinator",
];

/// Each swarm fault kind's name, then the older names it is also read under.
const FAULT_KIND_NAMES: [(FaultKind, &str, &[&str]); 11] = [
    (FaultKind::Crash, "crash", &[]),
    (FaultKind::PowerLoss, "power-loss", &[]),
    (FaultKind::Pause, "pause", &[]),
    (FaultKind::Partition, "partition-away", &["partition"]),
    (FaultKind::OneWayCut, "cut-one-way", &["one-way-cut"]),
    (FaultKind::SlowFollower, "slow-links", &["slow-follower"]),
    (FaultKind::SlowDisk, "slow-disk", &[]),
    (FaultKind::Shutdown, "shutdown", &[]),
    (FaultKind::QuickLeaderRestart, "quick-leader-restart", &[]),
    (FaultKind::UnsyncedPowerLoss, "unsynced-power-loss", &[]),
    (FaultKind::SlowProcessing, "slow-processing", &[]),
];

/// Each older name a swarm fault kind is still read under, with the name it means:
/// `("one-way-cut", "cut-one-way")`.
pub fn fault_kind_older_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    FAULT_KIND_NAMES
        .iter()
        .flat_map(|(_, name, older)| older.iter().map(move |older| (*older, *name)))
}

impl FaultKind {
    /// The name files and reports use.
    pub fn name(self) -> &'static str {
        FAULT_KIND_NAMES
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map(|(_, name, _)| *name)
            .unwrap_or("unknown")
    }
}

fn fault_kind(written: &Written) -> Result<FaultKind, String> {
    let names = || FAULT_KIND_NAMES.iter().map(|(_, name, _)| *name);
    let Written::Text(text) = written else {
        return Err(format!(
            "a swarm fault kind is a name, not {}; allowed: {}",
            written.describe(),
            names().collect::<Vec<_>>().join(", ")
        ));
    };
    FAULT_KIND_NAMES
        .iter()
        .find(|(_, name, aliases)| name == text || aliases.contains(&text.as_str()))
        .map(|(kind, _, _)| *kind)
        .ok_or_else(|| {
            watermark_broker_core::spelling::unknown_name("swarm fault kind", text, names())
        })
}

fn whole_number(what: &str, written: &Written) -> Result<u32, String> {
    written.as_u32().ok_or_else(|| {
        format!(
            "{what} is a whole number from 0, not {}",
            written.describe()
        )
    })
}

fn partition_ref(written: &Written) -> Result<PartitionRef, String> {
    let wrong = || {
        format!(
            "{} is not a partition; allowed: {PARTITION_FORMS}",
            written.describe()
        )
    };
    match written {
        Written::Integer(_) => Ok(PartitionRef::Index(PartitionId(whole_number(
            "a partition",
            written,
        )?))),
        Written::Table(entries) => {
            let mut topic = None;
            let mut partition = None;
            for (key, value) in entries {
                match (key.as_str(), value) {
                    ("topic", Written::Text(name)) => topic = Some(TopicName::new(name)),
                    ("partition", value) => {
                        partition = Some(PartitionId(whole_number("partition", value)?))
                    }
                    (other, _) => {
                        let suggestion = closest(other, ["topic", "partition"])
                            .map(|close| format!(" (did you mean `{close}`?)"))
                            .unwrap_or_default();
                        return Err(format!(
                            "unknown key `{other}` in a partition{suggestion}; allowed: {PARTITION_FORMS}"
                        ));
                    }
                }
            }
            match (topic, partition) {
                (Some(topic), Some(partition)) => Ok(PartitionRef::Named { topic, partition }),
                _ => Err(wrong()),
            }
        }
        _ => Err(wrong()),
    }
}

fn target(written: &Written) -> Result<Target, String> {
    let allowed = format!("allowed: {TARGET_FORMS}");
    if let Written::Text(word) = written {
        return match word.as_str() {
            "controller" => Ok(Target::Controller),
            "all-brokers" => Ok(Target::AllBrokers),
            "event-source" => Ok(Target::EventSource),
            table if TARGET_TABLES.contains(&table) => Err(format!(
                "\"{table}\" needs its argument, as in {{ {table} = {} }}; {allowed}",
                if table == "struck" {
                    "\"label\""
                } else if table == "coordinator" {
                    "\"group\""
                } else if table == "transaction-coordinator" {
                    "\"transactional-id\""
                } else if table == "broker" {
                    "1"
                } else {
                    "0"
                }
            )),
            other => Err(unknown_target(other, &allowed)),
        };
    }
    let Some((name, value)) = written.single_entry() else {
        return Err(format!("{} is not a target; {allowed}", written.describe()));
    };
    let client = |what: &str| whole_number(what, value);
    Ok(match name {
        "broker" => Target::Broker(BrokerId(client("a broker")?)),
        "leader" => Target::Leader(partition_ref(value)?),
        "followers" => Target::Followers(partition_ref(value)?),
        "newest-isr-member" => Target::NewestIsrMember(partition_ref(value)?),
        "lagging-follower" => Target::LaggingFollower(partition_ref(value)?),
        "struck" => match value {
            Written::Text(label) => Target::Struck(label.clone()),
            other => return Err(format!("struck names a label, not {}", other.describe())),
        },
        "producer" => Target::Producer(client("a producer")?),
        "consumer" => Target::Consumer(client("a consumer")?),
        "coordinator" => match value {
            Written::Text(group) => Target::Coordinator(group.clone()),
            other => {
                return Err(format!(
                    "coordinator names a consumer group, as in {{ coordinator = \"orders\" }}, \
                     not {}",
                    other.describe()
                ))
            }
        },
        "transaction-coordinator" => match value {
            Written::Text(id) => Target::TransactionCoordinator(id.clone()),
            other => {
                return Err(format!(
                    "transaction-coordinator names a transactional id, as in \
                     {{ transaction-coordinator = \"payments\" }}, not {}",
                    other.describe()
                ))
            }
        },
        word if TARGET_WORDS.contains(&word) => {
            return Err(format!(
                "{word} takes no argument: write \"{word}\"; {allowed}"
            ))
        }
        other => return Err(unknown_target(other, &allowed)),
    })
}

fn unknown_target(name: &str, allowed: &str) -> String {
    match closest(name, TARGET_WORDS.into_iter().chain(TARGET_TABLES)) {
        Some(close) => format!("unknown target `{name}`; did you mean `{close}`? {allowed}"),
        None => format!("unknown target `{name}`; {allowed}"),
    }
}

fn flush_policy(written: &Written) -> Result<FlushPolicy, String> {
    let allowed = "allowed: { every = N } or \"never\"";
    match (written, written.single_entry()) {
        (Written::Text(word), _) if word == "never" => Ok(FlushPolicy::Never),
        (_, Some(("every", value))) => {
            Ok(FlushPolicy::Every(u64::from(whole_number("every", value)?)))
        }
        _ => Err(format!(
            "{} is not a flush policy; {allowed}",
            written.describe()
        )),
    }
}

/// Reads `T` from the written value with `read`, its sentence as the error.
fn read<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    read: fn(&Written) -> Result<T, String>,
) -> Result<T, D::Error> {
    let written = Written::deserialize(deserializer)?;
    read(&written).map_err(D::Error::custom)
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        read(deserializer, target)
    }
}

impl<'de> Deserialize<'de> for PartitionRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PartitionRef, D::Error> {
        read(deserializer, partition_ref)
    }
}

impl<'de> Deserialize<'de> for FaultKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FaultKind, D::Error> {
        read(deserializer, fault_kind)
    }
}

impl<'de> Deserialize<'de> for FlushPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FlushPolicy, D::Error> {
        read(deserializer, flush_policy)
    }
}

#[cfg(test)]
#[path = "fault_shape_tests.rs"]
mod tests;
