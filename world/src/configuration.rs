//! The swarm's configuration space and the configuration a seed draws from it: what a scenario
//! lets vary (`[faults.swarm.configuration]`; absent, nothing varies) and how one seed picks
//! one point of it before the run, applied to the scenario the run uses.
//!
//! Every option draws from its own random stream, derived from the seed and the option's
//! name, so adding an option shifts neither the other options nor the fault schedule.

use crate::scenario::{BrokerOverride, FlushPolicy, Scenario};
use crate::scenario_validation::Problem;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;
use watermark_broker_core::config::ProducerConfig;
use watermark_broker_core::ids::BrokerId;

/// The values one option may take: an inclusive range (`{ min = 1, max = 10 }`) or a list
/// of choices (`[0, 3, 2147483647]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Values {
    Range(Range),
    Choices(Vec<u64>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}

impl Values {
    fn draw(&self, random: &mut StdRng) -> u64 {
        match self {
            Values::Range(range) => random.gen_range(range.min..=range.max),
            Values::Choices(choices) => choices[random.gen_range(0..choices.len())],
        }
    }

    fn lowest(&self) -> Option<u64> {
        match self {
            Values::Range(range) => Some(range.min),
            Values::Choices(choices) => choices.iter().copied().min(),
        }
    }

    fn highest(&self) -> Option<u64> {
        match self {
            Values::Range(range) => Some(range.max),
            Values::Choices(choices) => choices.iter().copied().max(),
        }
    }

    /// Why these values are not allowed for an option taking `lowest..=highest`, if they are
    /// not.
    fn problem(&self, lowest: u64, highest: u64) -> Option<String> {
        let allowed =
            format!("allowed: {{ min, max }} or a non-empty list, within {lowest}..={highest}");
        match self {
            Values::Choices(choices) if choices.is_empty() => {
                return Some(format!("an empty list draws nothing; {allowed}"))
            }
            Values::Range(range) if range.min > range.max => {
                return Some(format!(
                    "min {} is above max {}; {allowed}",
                    range.min, range.max
                ))
            }
            _ => {}
        }
        let (low, high) = (self.lowest()?, self.highest()?);
        (low < lowest || high > highest)
            .then(|| format!("the values reach {low}..={high}; {allowed}"))
    }
}

/// Flush policies a broker may be drawn.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FlushChoice {
    /// fsync after every message.
    EveryMessage,
    /// fsync after every N messages, N drawn from 2..=`every_n_max`.
    EveryN,
    /// Never fsync (Kafka's default).
    Never,
}

/// How brokers' flush policies vary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlushSpace {
    pub choices: Vec<FlushChoice>,
    /// The largest N of `every-n`.
    #[serde(default = "default_every_n_max")]
    pub every_n_max: u64,
    /// At most this many brokers are drawn a policy other than every message (they may lose
    /// acknowledged records to a power loss). Kept below `min.insync.replicas`, every record
    /// an acks=all producer was told is written is on some broker that synced it.
    pub unsynced_brokers_max: u32,
}

fn default_every_n_max() -> u64 {
    10
}

/// What a scenario lets its swarm vary, per broker, producer and consumer. An option left
/// out keeps the scenario's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigurationSpace {
    /// Per broker: `log.flush.interval.messages`.
    pub flush: Option<FlushSpace>,
    /// Per broker.
    pub replica_fetch_max_records: Option<Values>,
    /// Per producer.
    pub request_timeout_ms: Option<Values>,
    /// Per producer; raised to at least `linger_ms + request_timeout_ms`, as Kafka's
    /// producer refuses less.
    pub delivery_timeout_ms: Option<Values>,
    pub retries: Option<Values>,
    pub linger_ms: Option<Values>,
    pub max_in_flight_requests_per_connection: Option<Values>,
    pub batch_size_records: Option<Values>,
    /// Per consumer.
    pub max_poll_records: Option<Values>,
}

/// One producer's drawn settings (only the options the space varies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerDraw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linger_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_in_flight_requests_per_connection: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size_records: Option<u32>,
}

/// One consumer's drawn settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerDraw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_poll_records: Option<u32>,
}

/// The configuration one seed drew: reported in the run report and the trace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawnConfiguration {
    pub brokers: Vec<BrokerOverride>,
    pub producers: Vec<ProducerDraw>,
    pub consumers: Vec<ConsumerDraw>,
}

impl DrawnConfiguration {
    /// The brokers drawn a policy that may leave acknowledged records unsynced.
    pub fn unsynced_brokers(&self) -> Vec<BrokerId> {
        self.brokers
            .iter()
            .filter(|broker| {
                broker
                    .flush
                    .is_some_and(|flush| !flush.syncs_every_message())
            })
            .map(|broker| broker.broker)
            .collect()
    }
}

/// A random stream for one option, independent of every other option's.
fn stream(seed: u64, option: &str) -> StdRng {
    // FNV-1a: a fixed, dependency-free hash of the option's name.
    let name_hash = option
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    StdRng::seed_from_u64(seed ^ 0x636f_6e66_6967_0000 ^ name_hash)
}

fn draw_u32(values: &Option<Values>, random: &mut StdRng) -> Option<u32> {
    values
        .as_ref()
        .map(|values| u32::try_from(values.draw(random)).unwrap_or(u32::MAX))
}

fn draw_u64(values: &Option<Values>, random: &mut StdRng) -> Option<u64> {
    values.as_ref().map(|values| values.draw(random))
}

/// Draws the configuration of one seed from the scenario's space.
pub fn draw(space: &ConfigurationSpace, scenario: &Scenario, seed: u64) -> DrawnConfiguration {
    let broker_ids: Vec<BrokerId> = (1..=scenario.brokers).map(BrokerId).collect();
    let flushes = space
        .flush
        .as_ref()
        .map(|flush| draw_flushes(flush, broker_ids.len(), &mut stream(seed, "flush")));
    let mut fetch = stream(seed, "replica_fetch_max_records");
    let brokers = broker_ids
        .iter()
        .enumerate()
        .map(|(index, broker)| BrokerOverride {
            broker_rack: None,
            broker: *broker,
            flush: flushes.as_ref().map(|flushes| flushes[index]),
            replica_fetch_max_records: draw_u32(&space.replica_fetch_max_records, &mut fetch),
        })
        .filter(|broker| broker.flush.is_some() || broker.replica_fetch_max_records.is_some())
        .collect();
    let mut streams: [StdRng; 6] = [
        "request_timeout_ms",
        "delivery_timeout_ms",
        "retries",
        "linger_ms",
        "max_in_flight_requests_per_connection",
        "batch_size_records",
    ]
    .map(|option| stream(seed, option));
    let producers = scenario
        .producers
        .iter()
        .map(|_| {
            let [request, delivery, retries, linger, in_flight, batch] = &mut streams;
            ProducerDraw {
                request_timeout_ms: draw_u64(&space.request_timeout_ms, request),
                delivery_timeout_ms: draw_u64(&space.delivery_timeout_ms, delivery),
                retries: draw_u32(&space.retries, retries),
                linger_ms: draw_u64(&space.linger_ms, linger),
                max_in_flight_requests_per_connection: draw_u32(
                    &space.max_in_flight_requests_per_connection,
                    in_flight,
                ),
                batch_size_records: draw_u32(&space.batch_size_records, batch),
            }
        })
        .collect();
    let mut poll = stream(seed, "max_poll_records");
    let consumers = scenario
        .consumers
        .iter()
        .map(|_| ConsumerDraw {
            max_poll_records: draw_u32(&space.max_poll_records, &mut poll),
        })
        .collect();
    DrawnConfiguration {
        brokers,
        producers,
        consumers,
    }
}

/// Each broker's flush policy: at most `unsynced_brokers_max` brokers, chosen at random, may
/// get a policy other than every message; the rest sync every message.
fn draw_flushes(space: &FlushSpace, brokers: usize, random: &mut StdRng) -> Vec<FlushPolicy> {
    let mut policies: Vec<FlushPolicy> = (0..brokers)
        .map(
            |_| match space.choices[random.gen_range(0..space.choices.len())] {
                FlushChoice::EveryMessage => FlushPolicy::Every(1),
                FlushChoice::EveryN => FlushPolicy::Every(random.gen_range(2..=space.every_n_max)),
                FlushChoice::Never => FlushPolicy::Never,
            },
        )
        .collect();
    let mut unsynced: Vec<usize> = (0..brokers)
        .filter(|index| !policies[*index].syncs_every_message())
        .collect();
    // Keep a random subset of the allowed size; the others sync every message.
    while unsynced.len() > space.unsynced_brokers_max as usize {
        let index = unsynced.remove(random.gen_range(0..unsynced.len()));
        policies[index] = FlushPolicy::Every(1);
    }
    policies
}

/// The scenario with the drawn configuration applied.
pub fn apply(scenario: &Scenario, drawn: &DrawnConfiguration) -> Scenario {
    let mut applied = scenario.clone();
    applied
        .broker_overrides
        .extend(drawn.brokers.iter().cloned());
    for (producer, draw) in applied.producers.iter_mut().zip(&drawn.producers) {
        let config = &mut producer.config;
        set(&mut config.request_timeout_ms, draw.request_timeout_ms);
        set(&mut config.retries, draw.retries);
        set(&mut config.linger_ms, draw.linger_ms);
        set(
            &mut config.max_in_flight_requests_per_connection,
            draw.max_in_flight_requests_per_connection,
        );
        set(&mut config.batch_size_records, draw.batch_size_records);
        set(&mut config.delivery_timeout_ms, draw.delivery_timeout_ms);
    }
    for (consumer, draw) in applied.consumers.iter_mut().zip(&drawn.consumers) {
        set(&mut consumer.config.max_poll_records, draw.max_poll_records);
    }
    applied
}

fn set<T>(field: &mut T, drawn: Option<T>) {
    if let Some(value) = drawn {
        *field = value;
    }
}

/// Draws the seed's configuration when the scenario's swarm has a space, and returns the
/// scenario to run with it (the scenario itself, and nothing drawn, otherwise).
pub fn draw_and_apply(scenario: &Scenario, seed: u64) -> (Scenario, Option<DrawnConfiguration>) {
    let Some(space) = scenario
        .faults
        .swarm
        .as_ref()
        .and_then(|swarm| swarm.configuration.as_ref())
    else {
        return (scenario.clone(), None);
    };
    let mut drawn = draw(space, scenario, seed);
    // Kafka's producer refuses delivery.timeout.ms < linger.ms + request.timeout.ms
    // (`KafkaProducer.configureDeliveryTimeout`); a drawn value below it is raised to it.
    for (producer, draw) in scenario.producers.iter().zip(drawn.producers.iter_mut()) {
        if let Some(delivery_timeout_ms) = draw.delivery_timeout_ms.as_mut() {
            let linger_ms = draw.linger_ms.unwrap_or(producer.config.linger_ms);
            let request_timeout_ms = draw
                .request_timeout_ms
                .unwrap_or(producer.config.request_timeout_ms);
            *delivery_timeout_ms = (*delivery_timeout_ms).max(linger_ms + request_timeout_ms);
        }
    }
    (apply(scenario, &drawn), Some(drawn))
}

/// Every way the space cannot be drawn from, one problem each naming the field.
pub fn validate(space: &ConfigurationSpace, scenario: &Scenario, problems: &mut Vec<Problem>) {
    let prefix = "faults.swarm.configuration.";
    let u32_max = u64::from(u32::MAX);
    let options: [(&str, &Option<Values>, u64, u64); 8] = [
        (
            "replica_fetch_max_records",
            &space.replica_fetch_max_records,
            1,
            u32_max,
        ),
        (
            "request_timeout_ms",
            &space.request_timeout_ms,
            1,
            u64::from(u32::MAX),
        ),
        (
            "delivery_timeout_ms",
            &space.delivery_timeout_ms,
            1,
            u64::from(u32::MAX),
        ),
        ("retries", &space.retries, 0, u32_max),
        ("linger_ms", &space.linger_ms, 0, 60_000),
        (
            "max_in_flight_requests_per_connection",
            &space.max_in_flight_requests_per_connection,
            1,
            u32_max,
        ),
        ("batch_size_records", &space.batch_size_records, 1, u32_max),
        ("max_poll_records", &space.max_poll_records, 1, u32_max),
    ];
    for (name, values, lowest, highest) in options {
        if let Some(problem) = values
            .as_ref()
            .and_then(|values| values.problem(lowest, highest))
        {
            problems.push(Problem::new(format!("{prefix}{name}"), problem));
        }
    }
    if let Some(flush) = &space.flush {
        validate_flush(flush, scenario, problems);
    }
    validate_idempotence(space, scenario, problems);
}

/// A producer that needs idempotence (it sets `enable_idempotence = true`, or a
/// `transactional_id`) must keep a configuration Kafka accepts with it on every seed: the
/// space may not draw `retries` 0 or more than 5 requests in flight.
fn validate_idempotence(
    space: &ConfigurationSpace,
    scenario: &Scenario,
    problems: &mut Vec<Problem>,
) {
    let Some(who) = scenario.producers.iter().find_map(|producer| {
        if producer.config.transactional_id.is_some() {
            Some("a producer with a transactional_id")
        } else if producer.config.enable_idempotence == Some(true) {
            Some("a producer with enable_idempotence = true")
        } else {
            None
        }
    }) else {
        return;
    };
    let limit = u64::from(ProducerConfig::MAX_IN_FLIGHT_WITH_IDEMPOTENCE);
    if space.retries.as_ref().and_then(Values::lowest) == Some(0) {
        problems.push(Problem::new(
            "faults.swarm.configuration.retries",
            format!(
                "faults.swarm.configuration.retries may draw 0, which {who} refuses; allowed: \
                 values from 1"
            ),
        ));
    }
    if space
        .max_in_flight_requests_per_connection
        .as_ref()
        .and_then(Values::highest)
        .is_some_and(|highest| highest > limit)
    {
        problems.push(Problem::new(
            "faults.swarm.configuration.max_in_flight_requests_per_connection",
            format!(
                "faults.swarm.configuration.max_in_flight_requests_per_connection may draw more \
                 than {limit}, which {who} refuses; allowed: 1 to {limit}"
            ),
        ));
    }
}

fn validate_flush(flush: &FlushSpace, scenario: &Scenario, problems: &mut Vec<Problem>) {
    let field = "faults.swarm.configuration.flush";
    if flush.choices.is_empty() {
        problems.push(Problem::new(
            format!("{field}.choices"),
            "choices is empty; allowed: a non-empty list of every-message, every-n, never",
        ));
    }
    if flush.every_n_max < 2 && flush.choices.contains(&FlushChoice::EveryN) {
        problems.push(Problem::new(
            format!("{field}.every_n_max"),
            format!(
                "every_n_max = {} leaves every-n nothing to draw; allowed: at least 2",
                flush.every_n_max
            ),
        ));
    }
    if flush.unsynced_brokers_max > scenario.brokers {
        problems.push(Problem::new(
            format!("{field}.unsynced_brokers_max"),
            format!(
                "unsynced_brokers_max = {} is more than brokers = {}; allowed: 0..={}",
                flush.unsynced_brokers_max, scenario.brokers, scenario.brokers
            ),
        ));
    }
    // A topic's own flush.messages overrides the broker default the swarm varies: the drawn
    // policy would be accepted and ignored.
    if let Some(topic) = scenario
        .topics
        .iter()
        .find(|topic| topic.flush_interval_messages.is_some())
    {
        problems.push(Problem::new(
            field,
            format!(
                "flush varies the brokers' log_flush_interval_messages, but topic `{}` sets its \
                 own flush_interval_messages, which overrides it; allowed: set the policy in \
                 [broker] log_flush_interval_messages instead",
                topic.name
            ),
        ));
    }
}

impl fmt::Display for DrawnConfiguration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for broker in &self.brokers {
            let mut settings = Vec::new();
            if let Some(flush) = broker.flush {
                settings.push(format!("flush {flush}"));
            }
            if let Some(records) = broker.replica_fetch_max_records {
                settings.push(format!("replica.fetch.max {records} records"));
            }
            parts.push(format!("{} {}", broker.broker, settings.join(" ")));
        }
        for (index, producer) in self.producers.iter().enumerate() {
            let settings = producer_settings(producer);
            if !settings.is_empty() {
                parts.push(format!("producer {index} {}", settings.join(" ")));
            }
        }
        for (index, consumer) in self.consumers.iter().enumerate() {
            if let Some(records) = consumer.max_poll_records {
                parts.push(format!("consumer {index} max.poll.records {records}"));
            }
        }
        if parts.is_empty() {
            write!(formatter, "nothing drawn")
        } else {
            write!(formatter, "{}", parts.join("; "))
        }
    }
}

fn producer_settings(producer: &ProducerDraw) -> Vec<String> {
    let retries = |retries: u32| {
        if retries == u32::MAX || retries == i32::MAX as u32 {
            "unbounded".to_string()
        } else {
            retries.to_string()
        }
    };
    [
        producer
            .request_timeout_ms
            .map(|ms| format!("request.timeout {ms} ms")),
        producer
            .delivery_timeout_ms
            .map(|ms| format!("delivery.timeout {ms} ms")),
        producer.retries.map(|n| format!("retries {}", retries(n))),
        producer.linger_ms.map(|ms| format!("linger {ms} ms")),
        producer
            .max_in_flight_requests_per_connection
            .map(|n| format!("in-flight {n}")),
        producer
            .batch_size_records
            .map(|n| format!("batch {n} records")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
#[path = "configuration_tests.rs"]
mod tests;
