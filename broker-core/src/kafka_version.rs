//! Kafka version profiles: which of the model's switches and defaults a Kafka release had.
//! The model follows Kafka 4.1; a profile names an older release and turns on every
//! historical switch whose behaviour that release still had (introduced at or before it,
//! fixed after it), and gives the defaults that changed since (acks, idempotence, retries,
//! unclean leader election, eligible leader replicas). A profile stands for the first
//! release of its line (`2.8` is 2.8.0): a fix backported to a later patch release is not
//! in the profile.
//!
//! Every profile runs on the model's KRaft controller: releases before 2.8 had ZooKeeper,
//! whose controller elected leaders from the same ISR with the same rules, so the
//! replication protocol's differences (what the switches model) are what tell the versions
//! apart.

use crate::bugs::{BugSwitch, BugSwitches};
use crate::protocol::Acks;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Kafka release number, `major.minor.patch`, ordered as releases are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KafkaRelease {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

impl KafkaRelease {
    pub const fn new(major: u8, minor: u8, patch: u8) -> KafkaRelease {
        KafkaRelease {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for KafkaRelease {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for KafkaRelease {
    type Err = String;

    /// `2.8.0`, or `2.8` for its first release.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let numbers: Option<Vec<u8>> = text.split('.').map(|part| part.parse().ok()).collect();
        match numbers.as_deref() {
            Some(&[major, minor]) => Ok(KafkaRelease::new(major, minor, 0)),
            Some(&[major, minor, patch]) => Ok(KafkaRelease::new(major, minor, patch)),
            _ => Err(format!(
                "`{text}` is not a Kafka release number (as in 2.8.0)"
            )),
        }
    }
}

macro_rules! versions {
    ($($variant:ident = $name:literal ($major:literal, $minor:literal),)+) => {
        /// A Kafka version profile.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            schemars::JsonSchema,
        )]
        pub enum KafkaVersion {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl KafkaVersion {
            /// Every profile, oldest first.
            pub const ALL: &'static [KafkaVersion] = &[$(KafkaVersion::$variant,)+];

            /// The name the command line and scenario files use (`2.8`).
            pub fn name(self) -> &'static str {
                match self {
                    $(KafkaVersion::$variant => $name,)+
                }
            }

            /// The release the profile stands for: the first of its line.
            pub fn release(self) -> KafkaRelease {
                match self {
                    $(KafkaVersion::$variant => KafkaRelease::new($major, $minor, 0),)+
                }
            }
        }
    };
}

versions! {
    V0_8 = "0.8" (0, 8),
    V0_10_2 = "0.10.2" (0, 10),
    V0_11 = "0.11" (0, 11),
    V2_0 = "2.0" (2, 0),
    V2_1 = "2.1" (2, 1),
    V2_8 = "2.8" (2, 8),
    V3_0 = "3.0" (3, 0),
    V3_6 = "3.6" (3, 6),
    V3_7 = "3.7" (3, 7),
    V4_0 = "4.0" (4, 0),
    V4_1 = "4.1" (4, 1),
}

/// The release that brought the idempotent and transactional producer, read_committed and
/// leader epochs (KIP-98, KIP-101).
pub const IDEMPOTENCE_SINCE: KafkaRelease = KafkaRelease::new(0, 11, 0);
/// The release that made acks=all and enable.idempotence=true the producer's defaults
/// (KIP-679).
pub const STRONG_PRODUCER_DEFAULTS_SINCE: KafkaRelease = KafkaRelease::new(3, 0, 0);
/// The release that made `retries` default to Integer.MAX_VALUE, bounded by
/// delivery.timeout.ms (KIP-91); before it a producer did not retry unless told to.
pub const RETRIES_BY_DEFAULT_SINCE: KafkaRelease = KafkaRelease::new(2, 1, 0);
/// The release that turned unclean.leader.election.enable off by default (KIP-106).
pub const CLEAN_ELECTION_BY_DEFAULT_SINCE: KafkaRelease = KafkaRelease::new(0, 11, 0);
/// The first release with eligible leader replicas (KIP-966, a preview in 4.0).
pub const ELIGIBLE_LEADER_REPLICAS_SINCE: KafkaRelease = KafkaRelease::new(4, 0, 0);
/// The release that turns eligible leader replicas on for new clusters.
pub const ELIGIBLE_LEADER_REPLICAS_BY_DEFAULT_SINCE: KafkaRelease = KafkaRelease::new(4, 1, 0);
/// Static group membership (KIP-345).
pub const STATIC_MEMBERSHIP_SINCE: KafkaRelease = KafkaRelease::new(2, 3, 0);
/// Incremental cooperative rebalancing (KIP-429).
pub const COOPERATIVE_REBALANCING_SINCE: KafkaRelease = KafkaRelease::new(2, 4, 0);
/// Fetch from follower: `replica.selector.class` and `client.rack` (KIP-392).
pub const FETCH_FROM_FOLLOWER_SINCE: KafkaRelease = KafkaRelease::new(2, 4, 0);
/// The consumer's group coordinator protocol (JoinGroup, SyncGroup, OffsetCommit to the
/// broker): before it, 0.8's consumer kept its group and offsets in ZooKeeper.
pub const GROUP_COORDINATOR_SINCE: KafkaRelease = KafkaRelease::new(0, 9, 0);

impl KafkaVersion {
    /// Whether the release had this switch's behaviour: introduced at or before it and fixed
    /// after it. Planted switches (no Kafka release had them) are in no profile.
    pub fn has(self, switch: BugSwitch) -> bool {
        let (Some(since), Some(fixed)) = (switch.affected_since(), switch.fixed_release()) else {
            return false;
        };
        since <= self.release() && self.release() < fixed
    }

    /// The historical switches the release had, on.
    pub fn switches(self) -> BugSwitches {
        let mut switches = BugSwitches::default();
        for switch in BugSwitch::ALL {
            if self.has(switch) {
                switches.enable(switch);
            }
        }
        switches
    }

    /// The historical switches the release had, in the fixed order.
    pub fn switch_list(self) -> Vec<BugSwitch> {
        self.switches().enabled()
    }

    /// The producer's default acks.
    pub fn default_acks(self) -> Acks {
        if self.release() >= STRONG_PRODUCER_DEFAULTS_SINCE {
            Acks::All
        } else {
            Acks::Leader
        }
    }

    /// Whether a producer that does not set enable.idempotence is idempotent.
    pub fn idempotence_by_default(self) -> bool {
        self.release() >= STRONG_PRODUCER_DEFAULTS_SINCE
    }

    /// The producer's default `retries`.
    pub fn default_retries(self) -> u32 {
        if self.release() >= RETRIES_BY_DEFAULT_SINCE {
            u32::MAX
        } else {
            0
        }
    }

    /// The broker's default unclean.leader.election.enable.
    pub fn unclean_leader_election_by_default(self) -> bool {
        self.release() < CLEAN_ELECTION_BY_DEFAULT_SINCE
    }

    /// Whether the release can run eligible leader replicas at all.
    pub fn has_eligible_leader_replicas(self) -> bool {
        self.release() >= ELIGIBLE_LEADER_REPLICAS_SINCE
    }

    /// Whether a new cluster of this release has eligible leader replicas on.
    pub fn eligible_leader_replicas_by_default(self) -> bool {
        self.release() >= ELIGIBLE_LEADER_REPLICAS_BY_DEFAULT_SINCE
    }

    /// Whether the release had the idempotent and transactional producer.
    pub fn has_idempotence(self) -> bool {
        self.release() >= IDEMPOTENCE_SINCE
    }

    /// The release `feature` came in, when this release is older and so lacks it.
    pub fn lacks(self, feature: Feature) -> Option<KafkaRelease> {
        let since = feature.since();
        (self.release() < since).then_some(since)
    }
}

/// A feature a scenario may use that older releases lacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    IdempotentProducer,
    TransactionalProducer,
    ReadCommitted,
    ConsumerGroups,
    StaticMembership,
    CooperativeRebalancing,
    EligibleLeaderReplicas,
    FetchFromFollower,
}

impl Feature {
    /// The first release with it.
    pub fn since(self) -> KafkaRelease {
        match self {
            Feature::IdempotentProducer
            | Feature::TransactionalProducer
            | Feature::ReadCommitted => IDEMPOTENCE_SINCE,
            Feature::ConsumerGroups => GROUP_COORDINATOR_SINCE,
            Feature::StaticMembership => STATIC_MEMBERSHIP_SINCE,
            Feature::CooperativeRebalancing => COOPERATIVE_REBALANCING_SINCE,
            Feature::EligibleLeaderReplicas => ELIGIBLE_LEADER_REPLICAS_SINCE,
            Feature::FetchFromFollower => FETCH_FROM_FOLLOWER_SINCE,
        }
    }

    /// What it is, with the KIP that brought it.
    pub fn description(self) -> &'static str {
        match self {
            Feature::IdempotentProducer => "the idempotent producer (KIP-98)",
            Feature::TransactionalProducer => "transactions (KIP-98)",
            Feature::ReadCommitted => "isolation.level=read_committed (KIP-98)",
            Feature::ConsumerGroups => "consumer groups on the broker's group coordinator",
            Feature::StaticMembership => "static group membership (KIP-345)",
            Feature::CooperativeRebalancing => "cooperative rebalancing (KIP-429)",
            Feature::EligibleLeaderReplicas => "eligible leader replicas (KIP-966)",
            Feature::FetchFromFollower => {
                "fetch from follower: replica.selector.class and client.rack (KIP-392)"
            }
        }
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for KafkaVersion {
    type Err = String;

    /// A profile's name (`2.8`), or a release of its line (`2.8.0`, `2.8.2`: the profile
    /// stands for the line's first release, which the message says).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(version) = KafkaVersion::ALL
            .iter()
            .copied()
            .find(|version| version.name() == text)
        {
            return Ok(version);
        }
        let known: Vec<&str> = KafkaVersion::ALL.iter().map(|v| v.name()).collect();
        let unknown = || {
            format!(
                "unknown Kafka version `{text}` (known profiles: {})",
                known.join(", ")
            )
        };
        let release: KafkaRelease = text.parse().map_err(|_| unknown())?;
        KafkaVersion::ALL
            .iter()
            .copied()
            .find(|version| {
                let first = version.release();
                first.major == release.major && first.minor == release.minor
            })
            .ok_or_else(unknown)
    }
}

impl BugSwitch {
    /// The first Kafka release with the switch's behaviour; `None` for a planted bug.
    pub fn affected_since(self) -> Option<KafkaRelease> {
        match self {
            // Replication itself came in 0.8.
            BugSwitch::TruncateToHighWatermark | BugSwitch::HwAdvancesUnderMinIsr => {
                Some(KafkaRelease::new(0, 8, 0))
            }
            // Leader epochs (KIP-101) and the idempotent and transactional producer
            // (KIP-98) came in 0.11.
            BugSwitch::OffsetsForLeaderEpochTruncation
            | BugSwitch::NoEpochBumpPerTransaction
            | BugSwitch::NoTransactionVerification
            | BugSwitch::ResetSequenceOnUnknownProducer => Some(IDEMPOTENCE_SINCE),
            // A follower joined the ISR on reaching the leader's high watermark, and a new
            // leader's high watermark lagged until its followers' next fetches, since 0.8.
            BugSwitch::IsrJoinBelowLeaderEpochStart => Some(KafkaRelease::new(0, 8, 0)),
            // A fetch answered with a diverging epoch came with KIP-595's fetch (2.7).
            BugSwitch::DivergentFetchCountsAsProgress => Some(KafkaRelease::new(2, 7, 0)),
            // Both refine the OffsetsForLeaderEpoch handshake, which came with leader epochs
            // (KIP-101, 0.11). KAFKA-7164's skipped become-follower step is older, but before
            // 0.11 the step it skipped was truncation to the high watermark, which
            // `truncate-to-high-watermark` models.
            BugSwitch::EpochLookupWithoutEpoch | BugSwitch::NoTruncationWhenLeaderUnchanged => {
                Some(IDEMPOTENCE_SINCE)
            }
            // Nothing checked a proposed ISR member's liveness or incarnation before these
            // fixes: before 2.7 (KIP-497) leaders wrote the ISR to ZooKeeper themselves, and
            // the controller that took over accepted it as sent until KIP-841 (3.3) and
            // KIP-903 (3.5).
            BugSwitch::IsrAcceptsFencedReplicas | BugSwitch::IsrAcceptsStaleBrokerEpoch => {
                Some(KafkaRelease::new(0, 8, 0))
            }
            // Consumers kept their position across leader changes unchecked from the start;
            // KIP-320's validation came to the consumer in 2.3.
            BugSwitch::NoConsumerTruncationDetection => Some(KafkaRelease::new(0, 8, 0)),
            // Consumers read from followers from 2.4 (KIP-392), but a follower was handed a
            // diverging epoch in a fetch answer, the path that took the high watermark first,
            // only from 2.7 (KIP-595's fetch, KAFKA-10554); before, it truncated through the
            // OffsetsForLeaderEpoch handshake before fetching at all.
            BugSwitch::FollowerHighWatermarkBeforeTruncation => Some(KafkaRelease::new(2, 7, 0)),
            BugSwitch::AckBeforeIsr
            | BugSwitch::NoGenerationFencing
            | BugSwitch::NoProducerFencing => None,
        }
    }

    /// [`BugSwitch::fixed_in`] as a release number.
    pub fn fixed_release(self) -> Option<KafkaRelease> {
        self.fixed_in().map(|text| {
            text.parse()
                .unwrap_or_else(|error| panic!("{self}: fixed_in: {error}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_oldest_first_and_read_back_from_their_names() {
        for pair in KafkaVersion::ALL.windows(2) {
            assert!(pair[0].release() < pair[1].release(), "{pair:?}");
        }
        for version in KafkaVersion::ALL {
            assert_eq!(version.name().parse::<KafkaVersion>(), Ok(*version));
        }
        assert_eq!("2.8.1".parse::<KafkaVersion>(), Ok(KafkaVersion::V2_8));
        let error = "2.9".parse::<KafkaVersion>().unwrap_err();
        assert!(error.contains("known profiles: 0.8, 0.10.2"), "{error}");
        assert!("two".parse::<KafkaVersion>().is_err());
    }

    #[test]
    fn every_historical_switch_has_a_range_and_planted_ones_none() {
        for switch in BugSwitch::ALL {
            assert_eq!(
                switch.affected_since().is_some(),
                switch.fixed_release().is_some(),
                "{switch}"
            );
            if let (Some(since), Some(fixed)) = (switch.affected_since(), switch.fixed_release()) {
                assert!(since < fixed, "{switch}: {since} is not before {fixed}");
            }
        }
    }

    #[test]
    fn a_profile_has_a_switch_from_its_introduction_until_its_fix() {
        let truncation = BugSwitch::TruncateToHighWatermark;
        assert!(KafkaVersion::V0_8.has(truncation));
        assert!(KafkaVersion::V0_10_2.has(truncation));
        assert!(!KafkaVersion::V0_11.has(truncation));
        let handshake = BugSwitch::OffsetsForLeaderEpochTruncation;
        assert!(!KafkaVersion::V0_10_2.has(handshake));
        assert!(KafkaVersion::V0_11.has(handshake));
        assert!(KafkaVersion::V2_1.has(handshake));
        assert!(!KafkaVersion::V2_8.has(handshake));
        assert!(KafkaVersion::V3_6.has(BugSwitch::HwAdvancesUnderMinIsr));
        assert!(!KafkaVersion::V3_7.has(BugSwitch::HwAdvancesUnderMinIsr));
        assert!(KafkaVersion::V3_7.has(BugSwitch::NoEpochBumpPerTransaction));
        assert!(!KafkaVersion::V4_0.has(BugSwitch::NoEpochBumpPerTransaction));
        assert!(KafkaVersion::V4_1.switch_list().is_empty());
        assert!(!KafkaVersion::V0_8.has(BugSwitch::AckBeforeIsr));
    }

    #[test]
    fn defaults_change_where_the_kips_changed_them() {
        assert_eq!(KafkaVersion::V2_8.default_acks(), Acks::Leader);
        assert_eq!(KafkaVersion::V3_0.default_acks(), Acks::All);
        assert!(!KafkaVersion::V2_8.idempotence_by_default());
        assert!(KafkaVersion::V3_0.idempotence_by_default());
        assert_eq!(KafkaVersion::V2_0.default_retries(), 0);
        assert_eq!(KafkaVersion::V2_1.default_retries(), u32::MAX);
        assert!(KafkaVersion::V0_10_2.unclean_leader_election_by_default());
        assert!(!KafkaVersion::V0_11.unclean_leader_election_by_default());
        assert!(!KafkaVersion::V4_0.eligible_leader_replicas_by_default());
        assert!(KafkaVersion::V4_0.has_eligible_leader_replicas());
        assert!(KafkaVersion::V4_1.eligible_leader_replicas_by_default());
        assert_eq!(
            KafkaVersion::V0_10_2.lacks(Feature::TransactionalProducer),
            Some(IDEMPOTENCE_SINCE)
        );
        assert_eq!(
            KafkaVersion::V0_11.lacks(Feature::TransactionalProducer),
            None
        );
    }
}
