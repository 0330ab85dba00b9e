//! The Rust builder for scenarios: the same data a TOML file describes, written as code.
//!
//! ```
//! use watermark_scenarios::builder::ScenarioBuilder;
//! use watermark_broker_core::protocol::Acks;
//! use watermark_sim::verdict::Guarantee;
//!
//! let scenario = ScenarioBuilder::new("my-acks1-check")
//!     .acks(Acks::Leader)
//!     .expect(Guarantee::AtMostOnce)
//!     .build()
//!     .unwrap();
//! assert_eq!(scenario.brokers, 3);
//! ```

use std::sync::Arc;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::config::{BrokerConfig, ControllerConfig, ProducerConfig};
use watermark_broker_core::ids::ClientId;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, ScriptedFault, Swarm, Target, Trigger};
use watermark_sim::processing::{ProcessorFactory, RecordProcessor};
use watermark_sim::runner::{run_with_processor, RunOptions, RunReport};
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::{Guarantee, OrderingVerdict};

/// Builds a [`Scenario`], starting from the defaults: 3 brokers, one partition with
/// replication factor 3, one producer (acks=all) and one consumer, no faults.
#[derive(Clone)]
pub struct ScenarioBuilder {
    scenario: Scenario,
    /// A user's processing step for group consumers (`None`: the built-in one).
    processor: Option<ProcessorFactory>,
}

impl std::fmt::Debug for ScenarioBuilder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ScenarioBuilder")
            .field("scenario", &self.scenario)
            .field("processor", &self.processor.as_ref().map(|_| "user's"))
            .finish()
    }
}

/// A scenario with a user's processing step for its group consumers: the scenario is data,
/// the processor is code, so they travel side by side to the runner.
#[derive(Clone)]
pub struct ScenarioWithProcessor {
    pub scenario: Scenario,
    pub processor: ProcessorFactory,
}

impl ScenarioWithProcessor {
    /// Runs one seed with the user's processor.
    pub fn run(&self, seed: u64, options: RunOptions) -> RunReport {
        run_with_processor(&self.scenario, seed, options, self.processor.clone())
    }
}

impl ScenarioBuilder {
    pub fn new(name: &str) -> ScenarioBuilder {
        ScenarioBuilder {
            scenario: Scenario {
                name: name.to_string(),
                ..Scenario::default()
            },
            processor: None,
        }
    }

    pub fn summary(mut self, summary: &str) -> Self {
        self.scenario.summary = summary.to_string();
        self
    }

    pub fn explanation(mut self, explanation: &str) -> Self {
        self.scenario.explanation = explanation.to_string();
        self
    }

    pub fn brokers(mut self, brokers: u32) -> Self {
        self.scenario.brokers = brokers;
        self
    }

    /// The first topic, which the topic settings below change: the only one unless
    /// [`ScenarioBuilder::add_topic`] added more.
    fn first_topic(&mut self) -> &mut watermark_broker_core::config::TopicConfig {
        if self.scenario.topics.is_empty() {
            self.scenario.topics.push(Default::default());
        }
        &mut self.scenario.topics[0]
    }

    /// Another topic, with its own settings.
    pub fn add_topic(mut self, topic: watermark_broker_core::config::TopicConfig) -> Self {
        self.scenario.topics.push(topic);
        self
    }

    pub fn partitions(mut self, partitions: u32) -> Self {
        self.first_topic().partitions = partitions;
        self
    }

    pub fn replication_factor(mut self, replication_factor: u32) -> Self {
        self.first_topic().replication_factor = replication_factor;
        self
    }

    pub fn min_insync_replicas(mut self, min_insync_replicas: u32) -> Self {
        self.first_topic().min_insync_replicas = min_insync_replicas;
        self
    }

    pub fn unclean_leader_election_enable(mut self, enabled: bool) -> Self {
        self.first_topic().unclean_leader_election_enable = enabled;
        self
    }

    /// `Some(n)`: fsync every n messages; `None`: never (Kafka's default).
    pub fn flush_interval_messages(mut self, flush_interval_messages: Option<u64>) -> Self {
        self.first_topic().flush_interval_messages = flush_interval_messages;
        self
    }

    /// Eligible leader replicas (KIP-966), on by default; off reproduces clusters before
    /// Kafka 4.1 ("last replica standing").
    pub fn eligible_leader_replicas_enable(mut self, enabled: bool) -> Self {
        self.scenario.eligible_leader_replicas_enable = enabled;
        self
    }

    pub fn broker_config(mut self, change: impl FnOnce(&mut BrokerConfig)) -> Self {
        change(&mut self.scenario.broker);
        self
    }

    /// Puts `broker` in `rack` (`broker.rack`, an entry of `[[broker_overrides]]`).
    pub fn broker_rack(mut self, broker: watermark_broker_core::ids::BrokerId, rack: &str) -> Self {
        self.scenario
            .broker_overrides
            .push(watermark_sim::scenario::BrokerOverride {
                broker,
                flush: None,
                replica_fetch_max_records: None,
                broker_rack: Some(rack.to_string()),
            });
        self
    }

    pub fn controller_config(mut self, change: impl FnOnce(&mut ControllerConfig)) -> Self {
        change(&mut self.scenario.controller);
        self
    }

    /// Changes every producer's configuration.
    pub fn producer_config(mut self, change: impl Fn(&mut ProducerConfig)) -> Self {
        for producer in &mut self.scenario.producers {
            change(&mut producer.config);
        }
        self
    }

    /// Sets every producer's acks.
    pub fn acks(self, acks: Acks) -> Self {
        self.producer_config(|config| config.acks = acks)
    }

    /// Each producer sends `records` values, one every `interval_ms`.
    pub fn records(mut self, records: u64, interval_ms: u64) -> Self {
        for producer in &mut self.scenario.producers {
            producer.records = records;
            producer.interval_ms = interval_ms;
        }
        self
    }

    /// Replaces the producers.
    pub fn producers(mut self, producers: Vec<ProducerWorkload>) -> Self {
        self.scenario.producers = producers;
        self
    }

    /// Replaces the consumers.
    pub fn consumers(mut self, consumers: Vec<ConsumerWorkload>) -> Self {
        self.scenario.consumers = consumers;
        self
    }

    /// One-way link latency range, milliseconds.
    pub fn network_latency_ms(mut self, latency_ms_min: u64, latency_ms_max: u64) -> Self {
        self.scenario.network.latency_ms_min = latency_ms_min;
        self.scenario.network.latency_ms_max = latency_ms_max;
        self
    }

    /// Whether a power loss may leave a prefix of a file's unsynced tail (a torn write).
    pub fn torn_writes(mut self, torn_writes: bool) -> Self {
        self.scenario.disk.torn_writes = torn_writes;
        self
    }

    pub fn fault_at(mut self, at_ms: u64, fault: Fault) -> Self {
        self.scenario
            .faults
            .scripted
            .push(ScriptedFault::at(at_ms, fault));
        self
    }

    /// Cuts the links between `a` and `b` in both directions at `at_ms` (two one-way cuts,
    /// so a file or a trace shows exactly what was cut).
    pub fn cut_between(self, at_ms: u64, a: Target, b: Target) -> Self {
        self.fault_at(
            at_ms,
            Fault::CutOneWay {
                from: a.clone(),
                to: b.clone(),
            },
        )
        .fault_at(at_ms, Fault::CutOneWay { from: b, to: a })
    }

    pub fn trigger(mut self, condition: Condition, delay_ms: u64, then: Vec<Fault>) -> Self {
        self.scenario.faults.triggers.push(Trigger {
            condition,
            then,
            delay_ms,
            after_ms: 0,
            label: None,
            later: Vec::new(),
            optional: false,
        });
        self
    }

    /// A trigger with every option (`after_ms`, `later`, a label).
    pub fn trigger_with(mut self, trigger: Trigger) -> Self {
        self.scenario.faults.triggers.push(trigger);
        self
    }

    pub fn swarm(mut self, swarm: Swarm) -> Self {
        self.scenario.faults.swarm = Some(swarm);
        self
    }

    pub fn phases(mut self, safety_ms: u64, liveness_ms_max: u64) -> Self {
        self.scenario.phases.safety_ms = safety_ms;
        self.scenario.phases.liveness_ms_max = liveness_ms_max;
        self
    }

    pub fn bug(mut self, switch: BugSwitch) -> Self {
        self.scenario.bugs.enable(switch);
        self
    }

    /// The weakest guarantee the run may show.
    pub fn expect(mut self, guarantee: Guarantee) -> Self {
        self.scenario.expect.guarantee = guarantee;
        self
    }

    /// A checker that must fire: what the scenario demonstrates.
    pub fn expect_anomaly(mut self, checker: Checker) -> Self {
        self.scenario.expect.anomalies.push(checker);
        self
    }

    /// The ordering verdict the run must show (unset: reported, not judged).
    pub fn expect_ordering(mut self, ordering: OrderingVerdict) -> Self {
        self.scenario.expect.ordering = Some(ordering);
        self
    }

    /// A replica invariant this scenario is allowed to break.
    pub fn allow_invariant_violation(mut self, checker: Checker) -> Self {
        self.scenario
            .expect
            .allowed_invariant_violations
            .push(checker);
        self
    }

    /// A coverage mark the run must reach.
    pub fn expect_mark(mut self, mark: Mark) -> Self {
        self.scenario.expect.marks.push(mark);
        self
    }

    /// Group consumers process each record with a processor `make` builds for each of
    /// their process starts (a restart gets a fresh one, as an application's memory is
    /// lost). Build with [`ScenarioBuilder::build_with_processor`].
    pub fn processor<P: RecordProcessor + 'static>(
        mut self,
        make: impl Fn(ClientId) -> P + Send + Sync + 'static,
    ) -> Self {
        self.processor = Some(Arc::new(move |client| {
            Box::new(make(client)) as Box<dyn RecordProcessor>
        }));
        self
    }

    /// The scenario with the processor [`ScenarioBuilder::processor`] plugged in, or every
    /// reason it cannot run (a processor without a group consumer would never run).
    pub fn build_with_processor(mut self) -> Result<ScenarioWithProcessor, String> {
        let Some(processor) = self.processor.take() else {
            return Err(format!(
                "scenario `{}` has no processor: call .processor(...) before                  build_with_processor, or use build",
                self.scenario.name
            ));
        };
        if !self.scenario.has_groups() {
            return Err(format!(
                "scenario `{}` has a processor but no group consumer to run it: set a                  consumer's config.group_id",
                self.scenario.name
            ));
        }
        Ok(ScenarioWithProcessor {
            scenario: self.build()?,
            processor,
        })
    }

    /// The scenario, or every reason it cannot run.
    pub fn build(self) -> Result<Scenario, String> {
        if self.processor.is_some() {
            return Err(format!(
                "scenario `{}` has a processor, which a Scenario alone cannot carry: use                  build_with_processor",
                self.scenario.name
            ));
        }
        let problems = self.scenario.validate();
        if problems.is_empty() {
            Ok(self.scenario)
        } else {
            Err(format!(
                "scenario `{}` is impossible: {}",
                self.scenario.name,
                problems.join("; ")
            ))
        }
    }
}
