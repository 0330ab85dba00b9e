//! Historical Kafka bugs behind explicit switches, all off by default. A switch turns the
//! faithful code path into the historical one and changes nothing else, so a sweep with a
//! switch on shows what the fix was for.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One historical bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BugSwitch {
    /// Before KIP-101 a restarted or demoted follower truncated its log to its own high
    /// watermark before fetching, which can cut committed records a new leader then lacks,
    /// or let replicas diverge at the same offset.
    TruncateToHighWatermark,
    /// The leader answers acks=all as soon as it has appended, before the ISR has the record:
    /// acks=all degrades to acks=1.
    AckBeforeIsr,
    /// Before KIP-595's truncation on fetch (inter-broker protocol 2.7, the only path of
    /// Kafka on KRaft) a follower found where its log diverged with the OffsetsForLeaderEpoch
    /// handshake (KIP-101, KIP-279) before every (re)start of fetching, and its fetches
    /// carried no last fetched epoch.
    OffsetsForLeaderEpochTruncation,
}

impl BugSwitch {
    /// Every switch, in a fixed order.
    pub const ALL: [BugSwitch; 3] = [
        BugSwitch::TruncateToHighWatermark,
        BugSwitch::AckBeforeIsr,
        BugSwitch::OffsetsForLeaderEpochTruncation,
    ];

    /// The name used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            BugSwitch::TruncateToHighWatermark => "truncate-to-high-watermark",
            BugSwitch::AckBeforeIsr => "ack-before-isr",
            BugSwitch::OffsetsForLeaderEpochTruncation => "offsets-for-leader-epoch-truncation",
        }
    }

    /// One line on what the switch does.
    pub fn description(self) -> &'static str {
        match self {
            BugSwitch::TruncateToHighWatermark => {
                "followers truncate to their high watermark on restart or demotion (pre-KIP-101)"
            }
            BugSwitch::AckBeforeIsr => "acks=all is answered once the leader alone has appended",
            BugSwitch::OffsetsForLeaderEpochTruncation => {
                "followers truncate through the OffsetsForLeaderEpoch handshake (KIP-101/KIP-279) \
                 instead of the fetch's diverging epoch (KIP-595, Kafka 2.7 IBP)"
            }
        }
    }
}

impl fmt::Display for BugSwitch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for BugSwitch {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        BugSwitch::ALL
            .into_iter()
            .find(|switch| switch.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = BugSwitch::ALL.iter().map(|switch| switch.name()).collect();
                format!("unknown bug switch `{name}` (known: {})", known.join(", "))
            })
    }
}

/// The set of switches turned on for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BugSwitches {
    pub truncate_to_high_watermark: bool,
    pub ack_before_isr: bool,
    pub offsets_for_leader_epoch_truncation: bool,
}

impl BugSwitches {
    /// Turns one switch on.
    pub fn enable(&mut self, switch: BugSwitch) {
        match switch {
            BugSwitch::TruncateToHighWatermark => self.truncate_to_high_watermark = true,
            BugSwitch::AckBeforeIsr => self.ack_before_isr = true,
            BugSwitch::OffsetsForLeaderEpochTruncation => {
                self.offsets_for_leader_epoch_truncation = true
            }
        }
    }

    /// The switches that are on, in a fixed order.
    pub fn enabled(&self) -> Vec<BugSwitch> {
        BugSwitch::ALL
            .into_iter()
            .filter(|switch| match switch {
                BugSwitch::TruncateToHighWatermark => self.truncate_to_high_watermark,
                BugSwitch::AckBeforeIsr => self.ack_before_isr,
                BugSwitch::OffsetsForLeaderEpochTruncation => {
                    self.offsets_for_leader_epoch_truncation
                }
            })
            .collect()
    }
}
