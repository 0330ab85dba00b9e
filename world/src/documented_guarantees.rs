//! Kafka's documented delivery guarantees as data: the table of DESIGN.md ("Kafka's
//! documented guarantees"), one [`DocumentedRow`] per line, each with the catalogue
//! scenarios that demonstrate it and the Kafka documentation or KIP it restates (in our own
//! words), and the function that says which rows apply to a scenario's settings and what
//! they promise together ([`documented_for`]). `watermark matrix` runs these rows and the
//! settings grid against them.
//!
//! A row speaks to some aspects of delivery and is silent on the others: `acks=1` says
//! acknowledged writes can be lost and nothing about duplicates. Each row's promise is a
//! [`Guarantee`] plus the aspects it speaks to; where several rows apply, a row that allows
//! an anomaly outranks one that forbids it (an unclean election loses writes whatever
//! `min.insync.replicas` says), and an aspect no row speaks to is left open.

use crate::checkers::Checker;
use crate::fault::{Fault, FaultKind};
use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use crate::swarm::unsynced_brokers;
use crate::verdict::Guarantee;
use serde::Serialize;
use watermark_broker_core::config::ProducerConfig;
use watermark_broker_core::protocol::{Acks, IsolationLevel};

/// An aspect of delivery a documented row can speak to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aspect {
    /// Something acknowledged (or committed) is gone, or the log showed something it must
    /// not (the checkers' `Loss` and `Integrity` effects: what breaks at-least-once).
    Loss,
    /// Something was written or processed twice (what breaks at-most-once).
    Duplication,
    /// A producer's records landed out of send order (`nonmonotonic-send`).
    Reordering,
}

impl Aspect {
    pub const ALL: [Aspect; 3] = [Aspect::Loss, Aspect::Duplication, Aspect::Reordering];

    pub fn name(self) -> &'static str {
        match self {
            Aspect::Loss => "loss",
            Aspect::Duplication => "duplication",
            Aspect::Reordering => "reordering",
        }
    }
}

/// What the documentation says about one aspect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promise {
    /// The documentation says it cannot happen.
    Forbids,
    /// The documentation says it can happen.
    Allows,
}

/// One row of the documented table.
#[derive(Clone, Copy, Debug)]
pub struct DocumentedRow {
    /// A short stable name: `acks-0`, `elr-on`.
    pub id: &'static str,
    /// The settings, as the table writes them.
    pub settings: &'static str,
    /// The documented result, in our words.
    pub documented: &'static str,
    /// The guarantee the row gives on the aspects it speaks to.
    pub guarantee: Guarantee,
    /// The aspects among loss and duplication the row speaks to; on the other it is
    /// silent.
    pub speaks_to: &'static [Aspect],
    /// What the row says about a producer's order, if anything.
    pub reordering: Option<Promise>,
    /// The catalogue scenarios that demonstrate the row.
    pub scenarios: &'static [&'static str],
    /// Where Kafka documents it.
    pub source: &'static str,
    /// Whether DESIGN.md's table has the row (a row Watermark adds is `false`).
    pub in_design_table: bool,
    applies: fn(&GuaranteeSettings) -> bool,
}

impl DocumentedRow {
    /// What the row says about `aspect`: `None` when it is silent on it.
    pub fn promise(&self, aspect: Aspect) -> Option<Promise> {
        let allowed = match aspect {
            Aspect::Reordering => return self.reordering,
            _ if !self.speaks_to.contains(&aspect) => return None,
            Aspect::Loss => !matches!(
                self.guarantee,
                Guarantee::ExactlyOnce | Guarantee::AtLeastOnce
            ),
            Aspect::Duplication => !matches!(
                self.guarantee,
                Guarantee::ExactlyOnce | Guarantee::AtMostOnce
            ),
        };
        Some(if allowed {
            Promise::Allows
        } else {
            Promise::Forbids
        })
    }

    /// Whether the row applies to a run with these settings.
    pub fn applies_to(&self, settings: &GuaranteeSettings) -> bool {
        (self.applies)(settings)
    }
}

/// Every documented row, in the order of DESIGN.md's table (the rows Watermark adds last).
pub const DOCUMENTED_ROWS: [DocumentedRow; 14] = [
    DocumentedRow {
        id: "acks-0",
        settings: "acks=0",
        documented: "at most once: the producer never learns; retries do nothing",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss, Aspect::Duplication],
        reordering: None,
        scenarios: &["acks0-fire-and-forget"],
        source: "producer configuration, `acks`: with 0 the producer does not wait for the \
                 server at all, so it cannot know whether a record arrived and never retries it",
        in_design_table: true,
        applies: |settings| settings.acks_none,
    },
    DocumentedRow {
        id: "acks-1",
        settings: "acks=1",
        documented: "an acked write is lost if the leader dies before a follower copies it",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["acks1-leader-crash-loses-acked-write"],
        source: "producer configuration, `acks`: with 1 the leader answers once its own log \
                 has the record, so a leader that fails before its followers copy it loses it",
        in_design_table: true,
        applies: |settings| settings.acks_leader,
    },
    DocumentedRow {
        id: "acks-all-min-insync-1",
        settings: "acks=all, min.insync=1",
        documented: "no loss while an ISR member lives; if the ISR shrank to the leader, acked \
                     writes can be lost",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["isr-shrunk-to-leader-unclean-loses-writes"],
        source: "topic configuration, `min.insync.replicas`, and the design section on \
                 replication: acks=all waits only for the current ISR, which may be the \
                 leader alone",
        in_design_table: true,
        applies: |settings| settings.acks_all && settings.min_insync_replicas <= 1,
    },
    DocumentedRow {
        id: "acks-all-min-insync-n",
        settings: "acks=all, min.insync=N",
        documented: "writes rejected (NotEnoughReplicas) while ISR < N; acked writes are on ≥ N \
                     replicas",
        guarantee: Guarantee::AtLeastOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &[
            "min-insync-rejects-when-isr-shrinks",
            "acks-all-leader-crash-no-loss",
        ],
        source: "topic configuration, `min.insync.replicas`: with acks=all a write that \
                 fewer in-sync replicas than this could take is refused with \
                 NotEnoughReplicas, so an acknowledged one is on at least that many",
        in_design_table: true,
        applies: |settings| settings.acks_all && settings.min_insync_replicas >= 2,
    },
    DocumentedRow {
        id: "unclean-election",
        settings: "unclean election on",
        documented: "an out-of-sync replica may lead: committed records can be lost",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["unclean-election-loses-committed"],
        source: "`unclean.leader.election.enable` and the design section on unclean leader \
                 election: a replica outside the ISR may become leader, trading committed \
                 records for availability (off by default since 0.11, KIP-106)",
        in_design_table: true,
        applies: |settings| settings.unclean_leader_election_enable,
    },
    DocumentedRow {
        id: "retries-no-idempotence",
        settings: "retries, no idempotence",
        documented: "at least once: duplicates; reordering if max.in.flight > 1",
        guarantee: Guarantee::AtLeastOnce,
        speaks_to: &[Aspect::Duplication],
        reordering: Some(Promise::Allows),
        scenarios: &[
            "retry-after-lost-ack-duplicates",
            "in-flight-retries-reorder",
        ],
        source: "producer configuration, `retries` and \
                 `max.in.flight.requests.per.connection`: a resent batch may be written \
                 again, and behind a later one when requests overlap, unless idempotence is on",
        in_design_table: true,
        applies: |settings| settings.retries_without_idempotence,
    },
    DocumentedRow {
        id: "idempotence",
        settings: "idempotence on",
        documented: "one copy of each record in the log, in order",
        guarantee: Guarantee::ExactlyOnce,
        speaks_to: &[Aspect::Duplication],
        reordering: Some(Promise::Forbids),
        scenarios: &[
            "idempotent-retry-no-duplicate",
            "idempotent-in-flight-keeps-order",
        ],
        source: "producer configuration, `enable.idempotence` (KIP-98): the producer writes \
                 exactly one copy of each record, in send order",
        in_design_table: true,
        applies: |settings| settings.idempotent_producer,
    },
    DocumentedRow {
        id: "transactions-read-committed",
        settings: "transactions + read_committed + offsets in the transaction",
        documented: "exactly once, Kafka to Kafka",
        guarantee: Guarantee::ExactlyOnce,
        speaks_to: &[Aspect::Loss, Aspect::Duplication],
        reordering: None,
        scenarios: &[
            "exactly-once-pipeline-swarm",
            "read-committed-hides-aborted",
        ],
        source: "KIP-98 and KIP-447, and the design section on delivery semantics: a \
                 consume-transform-produce loop that commits its input offsets in its output \
                 transaction, read with isolation.level=read_committed, is exactly once",
        in_design_table: true,
        applies: |settings| settings.transactions_read_committed,
    },
    DocumentedRow {
        id: "commit-then-process",
        settings: "consumer commits, then processes",
        documented: "at most once",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["commit-before-process-crash-loses"],
        source: "the design section on delivery semantics: a consumer that saves its \
                 position before processing loses what it had not processed when it fails",
        in_design_table: true,
        applies: |settings| settings.commit_then_process,
    },
    DocumentedRow {
        id: "process-then-commit",
        settings: "consumer processes, then commits",
        documented: "at least once",
        guarantee: Guarantee::AtLeastOnce,
        speaks_to: &[Aspect::Loss, Aspect::Duplication],
        reordering: None,
        scenarios: &["process-then-commit-crash-duplicates"],
        source: "the design section on delivery semantics: a consumer that processes before \
                 saving its position processes again what it had not committed when it fails",
        in_design_table: true,
        applies: |settings| settings.process_then_commit,
    },
    DocumentedRow {
        id: "no-fsync-power-loss",
        settings: "no fsync, power loss of all replicas",
        documented: "acked writes can be lost (durability is replication, not fsync)",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["power-loss-without-fsync-loses-acked"],
        source: "broker configuration, `log.flush.interval.messages`, and the design section \
                 on persistence: Kafka leaves flushing to the operating system and relies on \
                 replication, so replicas that all lose power lose what was not flushed",
        in_design_table: true,
        applies: |settings| settings.unsynced_power_loss,
    },
    DocumentedRow {
        id: "elr-off-last-replica-standing",
        settings: "ELR off (before 4.1), the last ISR member restarts after losing unflushed data",
        documented: "it is re-elected and committed records are lost (KIP-966's \"last replica \
                     standing\")",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["last-replica-standing-loses-committed"],
        source: "KIP-966, motivation: the last member of the ISR may come back without the \
                 records it had not flushed, be elected again as the only ISR member, and \
                 lose committed records",
        in_design_table: true,
        applies: |settings| {
            !settings.eligible_leader_replicas
                && !settings.unclean_leader_election_enable
                && settings.unsynced_power_loss
        },
    },
    DocumentedRow {
        id: "elr-on",
        settings: "ELR on (4.1 default), same faults",
        documented: "an eligible replica leads instead; nothing acknowledged is lost",
        guarantee: Guarantee::AtLeastOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["eligible-leader-replicas-keep-acked-writes"],
        source: "KIP-966: replicas that left the ISR while it was below min.insync.replicas \
                 still hold every committed record and may be elected; a replica that shut \
                 down uncleanly may not",
        in_design_table: true,
        applies: |settings| {
            settings.eligible_leader_replicas
                && !settings.unclean_leader_election_enable
                && settings.acks_all
                && !settings.acks_leader
                && !settings.acks_none
                && settings.min_insync_replicas >= 2
        },
    },
    DocumentedRow {
        id: "read-uncommitted-transactions",
        settings: "transactions read with read_uncommitted",
        documented: "aborted records are read too: a failed write is seen",
        guarantee: Guarantee::AtMostOnce,
        speaks_to: &[Aspect::Loss],
        reordering: None,
        scenarios: &["read-uncommitted-sees-aborted"],
        source: "consumer configuration, `isolation.level`: read_uncommitted returns every \
                 record, those of aborted transactions included",
        in_design_table: false,
        applies: |settings| settings.transactions_read_uncommitted,
    },
];

/// The row named `id`.
pub fn documented_row(id: &str) -> Option<&'static DocumentedRow> {
    DOCUMENTED_ROWS.iter().find(|row| row.id == id)
}

/// The settings of a run that decide which documented rows apply, read from the scenario
/// the run uses (with the swarm's drawn configuration applied).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GuaranteeSettings {
    /// Some producer writes with acks=0, acks=1, acks=all.
    pub acks_none: bool,
    pub acks_leader: bool,
    pub acks_all: bool,
    /// The first topic's `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// Some topic elects uncleanly.
    pub unclean_leader_election_enable: bool,
    /// Some producer that retries (acks other than 0, retries above 0) is not idempotent.
    pub retries_without_idempotence: bool,
    /// Every producer that writes is idempotent.
    pub idempotent_producer: bool,
    /// A consume-transform-produce pipeline, every consumer reading read_committed.
    pub transactions_read_committed: bool,
    /// A transactional producer or pipeline, and some consumer reading read_uncommitted.
    pub transactions_read_uncommitted: bool,
    pub commit_then_process: bool,
    pub process_then_commit: bool,
    /// Some broker does not sync every message, and the faults include power losses.
    pub unsynced_power_loss: bool,
    pub eligible_leader_replicas: bool,
}

impl GuaranteeSettings {
    /// The settings of `scenario` (with a swarm's drawn configuration already applied).
    pub fn of(scenario: &Scenario) -> GuaranteeSettings {
        let producers: Vec<&ProducerConfig> = scenario
            .producers
            .iter()
            .map(|producer| &producer.config)
            .collect();
        let acks = |wanted: Acks| producers.iter().any(|config| config.acks == wanted);
        let transactional = producers
            .iter()
            .any(|config| config.transactional_id.is_some());
        let pipeline = scenario
            .consumers
            .iter()
            .any(|consumer| consumer.processing == Some(ProcessingMode::ConsumeTransformProduce));
        let read_uncommitted = scenario
            .consumers
            .iter()
            .any(|consumer| consumer.config.isolation_level == IsolationLevel::ReadUncommitted);
        let processing = |mode: ProcessingMode| {
            scenario
                .consumers
                .iter()
                .any(|consumer| consumer.processing == Some(mode))
        };
        let topic = scenario.topic_config(scenario.default_topic());
        GuaranteeSettings {
            acks_none: acks(Acks::None),
            acks_leader: acks(Acks::Leader),
            acks_all: acks(Acks::All),
            min_insync_replicas: topic.map_or(1, |topic| topic.min_insync_replicas),
            unclean_leader_election_enable: scenario
                .topics
                .iter()
                .any(|topic| topic.unclean_leader_election_enable),
            retries_without_idempotence: producers.iter().any(|config| {
                config.acks != Acks::None && config.retries > 0 && !config.idempotence_enabled()
            }),
            idempotent_producer: !producers.is_empty()
                && producers.iter().all(|config| config.idempotence_enabled()),
            transactions_read_committed: pipeline && !read_uncommitted,
            transactions_read_uncommitted: (pipeline || transactional) && read_uncommitted,
            commit_then_process: processing(ProcessingMode::CommitThenProcess)
                || processing(ProcessingMode::AutoCommitWorker),
            process_then_commit: processing(ProcessingMode::ProcessThenCommit)
                || processing(ProcessingMode::AutoCommit),
            unsynced_power_loss: !unsynced_brokers(scenario).is_empty() && has_power_loss(scenario),
            eligible_leader_replicas: scenario.eligible_leader_replicas_enable,
        }
    }
}

/// Whether the scenario's faults include a power loss: scripted, triggered or drawn.
fn has_power_loss(scenario: &Scenario) -> bool {
    let is_power_loss = |fault: &Fault| matches!(fault, Fault::PowerLoss { .. });
    let swarm = scenario.faults.swarm.as_ref().is_some_and(|swarm| {
        swarm.kinds.iter().any(|kind| {
            matches!(
                kind,
                FaultKind::PowerLoss | FaultKind::UnsyncedPowerLoss | FaultKind::QuickLeaderRestart
            )
        })
    });
    let scripted = scenario
        .faults
        .scripted
        .iter()
        .any(|scripted| is_power_loss(&scripted.fault));
    let triggered = scenario.faults.triggers.iter().any(|trigger| {
        trigger.then.iter().any(is_power_loss)
            || trigger
                .later
                .iter()
                .any(|scripted| is_power_loss(&scripted.fault))
    });
    swarm || scripted || triggered
}

/// What the documentation promises for a run: the rows that apply and, per aspect, what
/// they say together (a row that allows an anomaly outranks one that forbids it; `None`:
/// no applicable row speaks to the aspect).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Documented {
    /// The ids of the rows that apply, in table order.
    pub rows: Vec<&'static str>,
    pub loss: Option<Promise>,
    pub duplication: Option<Promise>,
    pub reordering: Option<Promise>,
}

impl Documented {
    /// What the applicable rows say about `aspect`.
    pub fn promise(&self, aspect: Aspect) -> Option<Promise> {
        match aspect {
            Aspect::Loss => self.loss,
            Aspect::Duplication => self.duplication,
            Aspect::Reordering => self.reordering,
        }
    }

    /// The guarantee the documentation promises: an aspect no row speaks to is not promised.
    pub fn guarantee(&self) -> Guarantee {
        Guarantee::from_anomalies(
            self.loss != Some(Promise::Forbids),
            self.duplication != Some(Promise::Forbids),
        )
    }

    /// Adds what `row` says.
    fn add(&mut self, row: &DocumentedRow) {
        if !self.rows.contains(&row.id) {
            self.rows.push(row.id);
            let order = |id: &str| DOCUMENTED_ROWS.iter().position(|row| row.id == id);
            self.rows.sort_by_key(|id| order(id));
        }
        for aspect in Aspect::ALL {
            let combined = combine(self.promise(aspect), row.promise(aspect));
            match aspect {
                Aspect::Loss => self.loss = combined,
                Aspect::Duplication => self.duplication = combined,
                Aspect::Reordering => self.reordering = combined,
            }
        }
    }

    /// What the documentation promises over several runs (several seeds of one cell, each
    /// with its drawn configuration): every row that applies to any of them.
    pub fn merge(&mut self, other: &Documented) {
        for id in &other.rows {
            if let Some(row) = documented_row(id) {
                self.add(row);
            }
        }
    }
}

/// Two statements on one aspect: an allowance outranks a prohibition.
fn combine(left: Option<Promise>, right: Option<Promise>) -> Option<Promise> {
    match (left, right) {
        (Some(Promise::Allows), _) | (_, Some(Promise::Allows)) => Some(Promise::Allows),
        (Some(Promise::Forbids), _) | (_, Some(Promise::Forbids)) => Some(Promise::Forbids),
        (None, None) => None,
    }
}

/// The documented rows that apply to `settings` and what they promise together.
pub fn documented_for(settings: &GuaranteeSettings) -> Documented {
    let mut documented = Documented::default();
    for row in DOCUMENTED_ROWS
        .iter()
        .filter(|row| row.applies_to(settings))
    {
        documented.add(row);
    }
    documented
}

/// The documented promise of one row alone, for running the row on its scenarios.
pub fn documented_row_alone(row: &DocumentedRow) -> Documented {
    let mut documented = Documented::default();
    documented.add(row);
    documented
}

/// Whether a run showed `aspect`, from its observed guarantee and its checkers' findings:
/// loss and duplication as the verdict derives them; reordering as `nonmonotonic-send` (a
/// producer's records in the log out of send order), the order the producer rows speak of.
pub fn showed(aspect: Aspect, observed: Guarantee, checkers: &[Checker]) -> bool {
    match aspect {
        Aspect::Loss => !matches!(observed, Guarantee::ExactlyOnce | Guarantee::AtLeastOnce),
        Aspect::Duplication => !matches!(observed, Guarantee::ExactlyOnce | Guarantee::AtMostOnce),
        Aspect::Reordering => checkers
            .iter()
            .any(|checker| matches!(checker, Checker::NonmonotonicSend)),
    }
}

#[cfg(test)]
#[path = "documented_guarantees_tests.rs"]
mod tests;
