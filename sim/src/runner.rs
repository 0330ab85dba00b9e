//! The runner: one scenario and one seed in, one [`RunReport`] out. Each run gets a fresh OS
//! thread (std's hash seeds and madsim's globals then repeat exactly) and a fresh madsim
//! runtime seeded with the run's seed. A panic anywhere in the run becomes a report that
//! names the seed, never a crash of the caller.

use crate::application_lag::GroupLag;
use crate::checkers::{check_history, Checker, CheckerKind, FinalState};
use crate::configuration::{self, DrawnConfiguration};
use crate::failure::Failure;
use crate::history::History;
use crate::nemesis::Nemesis;
use crate::node::{now_ms, run_node, sleep_until_ms};
use crate::not_applied::NotApplied;
use crate::processing::{write_every_record, ProcessorFactory};
use crate::scenario::Scenario;
use crate::sink::SinkEntry;
use crate::step_record::Record;
use crate::trace::TraceMode;
use crate::verdict::{observed_guarantee, observed_ordering, Guarantee, OrderingVerdict};
use crate::violation::Violation;
use crate::world::{node_ids, SharedWorld, World};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watermark_broker_core::config::TopicConfig;
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::topic::DEFAULT_TOPIC;

/// How often the liveness phase looks for convergence.
const CONVERGENCE_POLL_MS: u64 = 50;

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounters {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub events: u64,
    pub trace_lines: u64,
    pub history_operations: u64,
    pub sends_ok: u64,
    pub sends_failed: u64,
    pub sends_indefinite: u64,
    pub fsyncs: u64,
    pub bytes_lost_to_power_loss: u64,
    pub torn_writes: u64,
    /// Messages per directed link, `from->to`.
    pub messages_per_link: BTreeMap<String, u64>,
}

/// The outcome of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub trace_hash: String,
    pub observed: Guarantee,
    pub expected: Guarantee,
    /// The ordering verdict: `violated` if a checker with the `Ordering` effect fired.
    pub ordering: OrderingVerdict,
    /// The ordering verdict the scenario expects; `None`: reported, not judged.
    pub expected_ordering: Option<OrderingVerdict>,
    pub passed: bool,
    /// Why the run did not meet its expectation; empty when it did.
    pub failures: Vec<Failure>,
    /// Faults and triggers of the safety phase that did not apply, optional ones included.
    pub faults_not_applied: Vec<NotApplied>,
    pub violations: Vec<Violation>,
    pub sim_time_ms: u64,
    pub wall_ms: u64,
    pub converged: bool,
    pub marks: BTreeMap<Mark, u64>,
    pub bugs: Vec<String>,
    pub counters: RunCounters,
    /// Per consumer group and partition at the end: log end offset, committed offset and
    /// lag (empty without groups).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lag: Vec<GroupLag>,
    /// The configuration the swarm drew for this seed and applied (`None`: the scenario
    /// lets nothing vary).
    pub configuration: Option<DrawnConfiguration>,
    /// The panic message, if the run panicked.
    pub panic: Option<String>,
    /// What group consumers' applications wrote to the external sink, in write order.
    #[serde(skip)]
    pub sink: Vec<SinkEntry>,
    /// The trace lines, when asked for.
    #[serde(skip)]
    pub trace: Vec<String>,
    /// Every record of the run (steps, drops, nemesis actions, findings), when asked for.
    #[serde(skip)]
    pub records: Vec<Record>,
    /// The client history, kept with the records (`keep_records`) for teaching views and
    /// `run --history-out`.
    #[serde(skip)]
    pub history: History,
    /// What the client-history checkers read besides the history, kept with the records:
    /// `run --history-out` writes it into the history file's header.
    #[serde(skip)]
    pub final_state: Option<FinalState>,
}

impl RunReport {
    /// Whether a checker caught something on this run: it failed its expectation or a
    /// checker reported a violation. A panic is not a detection.
    pub fn caught_by_a_checker(&self) -> bool {
        self.panic.is_none() && (!self.passed || !self.violations.is_empty())
    }
}

/// Options that do not change what happens in a run, only what is kept.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    pub trace_mode: TraceMode,
    /// Keep every step record (for teaching views and `run --records`).
    pub keep_records: bool,
}

/// Runs one seed of a scenario on a fresh thread. Never panics.
///
/// When the scenario's swarm lets configuration vary, the seed's configuration is drawn
/// first and the run uses the scenario with it applied.
pub fn run(scenario: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    run_with_processor(scenario, seed, options, write_every_record())
}

/// Runs one seed like [`run`], with group consumers' applications processing each record
/// with the processors `processor` makes (a user's `RecordProcessor`, from the scenarios
/// builder).
pub fn run_with_processor(
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
    processor: ProcessorFactory,
) -> RunReport {
    let (applied, drawn) = configuration::draw_and_apply(scenario, seed);
    let scenario = Arc::new(applied);
    let for_thread = Arc::clone(&scenario);
    let for_thread_drawn = drawn.clone();
    let mut report = isolated(&scenario, seed, move || {
        run_on_this_thread(for_thread, seed, options, for_thread_drawn, processor)
    });
    report.configuration = drawn;
    report
}

/// Runs `body` on a fresh OS thread and turns a panic anywhere in it into a report that
/// names the seed, so one broken seed never takes a sweep down.
fn isolated(
    scenario: &Scenario,
    seed: u64,
    body: impl FnOnce() -> RunReport + Send + 'static,
) -> RunReport {
    let wall_start = Instant::now();
    let outcome = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .stack_size(16 * 1024 * 1024)
        .spawn(move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)))
        .map_err(|error| format!("could not start a thread: {error}"))
        .and_then(|thread| thread.join().map_err(|_| "the run thread died".to_string()));
    let wall_ms = u64::try_from(wall_start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(Ok(mut report)) => {
            report.wall_ms = wall_ms;
            report
        }
        Ok(Err(payload)) => {
            panicked_report(scenario, seed, wall_ms, panic_message(payload.as_ref()))
        }
        Err(message) => panicked_report(scenario, seed, wall_ms, message),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

fn panicked_report(scenario: &Scenario, seed: u64, wall_ms: u64, message: String) -> RunReport {
    RunReport {
        scenario: scenario.name.clone(),
        seed,
        trace_hash: String::new(),
        observed: Guarantee::None,
        expected: scenario.expect.guarantee,
        // The run observed nothing and fails anyway; summaries count panicked runs apart.
        ordering: OrderingVerdict::Violated,
        expected_ordering: scenario.expect.ordering,
        passed: false,
        failures: vec![Failure::Panic(message.clone())],
        faults_not_applied: Vec::new(),
        violations: Vec::new(),
        sim_time_ms: 0,
        wall_ms,
        converged: false,
        marks: BTreeMap::new(),
        bugs: scenario
            .bugs
            .enabled()
            .iter()
            .map(|bug| bug.name().to_string())
            .collect(),
        counters: RunCounters::default(),
        lag: Vec::new(),
        configuration: None,
        panic: Some(message),
        sink: Vec::new(),
        trace: Vec::new(),
        records: Vec::new(),
        history: History::default(),
        final_state: None,
    }
}

fn run_on_this_thread(
    scenario: Arc<Scenario>,
    seed: u64,
    options: RunOptions,
    drawn: Option<DrawnConfiguration>,
    processor: ProcessorFactory,
) -> RunReport {
    let mut runtime =
        madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    let bound_ms = scenario.phases.safety_ms + scenario.phases.liveness_ms_max;
    // A safety net only: the supervisor ends the run itself at the liveness bound.
    runtime.set_time_limit(Duration::from_millis(bound_ms + 60_000));
    runtime.block_on(supervise(scenario, seed, options, drawn, processor))
}

async fn supervise(
    scenario: Arc<Scenario>,
    seed: u64,
    options: RunOptions,
    drawn: Option<DrawnConfiguration>,
    processor: ProcessorFactory,
) -> RunReport {
    let start = madsim::time::Instant::now();
    let mut new_world = World::new(Arc::clone(&scenario), seed, options.trace_mode);
    if options.keep_records {
        new_world.records = Some(Vec::new());
    }
    new_world.processor_factory = processor;
    let world = SharedWorld::new(new_world);
    {
        let mut locked = world.lock();
        let bugs: Vec<&str> = scenario
            .bugs
            .enabled()
            .iter()
            .map(|bug| bug.name())
            .collect();
        let topics: Vec<String> = scenario
            .topics
            .iter()
            .map(|topic| topic_settings(topic, scenario.broker.log_flush_interval_messages))
            .collect();
        let topics = match topics.as_slice() {
            [only] => only.clone(),
            _ => format!("topics [{}]", topics.join("; ")),
        };
        locked.trace.note(
            0,
            "sim",
            &format!(
                "scenario {} seed {seed} brokers {} {topics} bugs [{}]",
                scenario.name,
                scenario.brokers,
                bugs.join(",")
            ),
        );
        if let Some(drawn) = &drawn {
            locked
                .trace
                .note(0, "sim", &format!("configuration drawn: {drawn}"));
        }
    }
    let handle = madsim::runtime::Handle::current();
    let mut madsim_nodes = BTreeMap::new();
    for node in node_ids(&scenario) {
        let start_at_ms = match node {
            NodeId::Producer(client) => scenario.producers[client.0 as usize].start_ms,
            NodeId::Consumer(client) => scenario.consumers[client.0 as usize].start_ms,
            _ => 0,
        };
        let for_node = world.clone();
        let built = handle
            .create_node()
            .name(node.to_string())
            .init(move || run_node(for_node.clone(), start, node, start_at_ms))
            .build();
        madsim_nodes.insert(node, built.id());
    }
    let node_handles: Vec<madsim::task::NodeId> = madsim_nodes.values().copied().collect();
    let mut nemesis = Nemesis::new(world.clone(), start, madsim_nodes);
    let safety_ms = scenario.phases.safety_ms;
    nemesis.run_safety_phase(safety_ms).await;
    nemesis.repair_everything();
    let deadline_ms = safety_ms + scenario.phases.liveness_ms_max;
    let mut converged = false;
    let mut last_gap = String::new();
    loop {
        let now = now_ms(start);
        match world.lock().convergence_gap() {
            None => {
                converged = true;
                break;
            }
            Some(gap) => last_gap = gap,
        }
        if now >= deadline_ms {
            break;
        }
        sleep_until_ms(start, now + CONVERGENCE_POLL_MS).await;
    }
    let end_ms = now_ms(start);
    let report = {
        let mut locked = world.lock();
        finish(&mut locked, converged, &last_gap, end_ms)
    };
    // madsim 0.2.34 never frees tasks still waiting when its runtime is dropped, and every
    // node shell is waiting now: kill them so a 10,000-seed sweep keeps flat memory.
    for node in node_handles {
        handle.kill(node);
    }
    report
}

fn finish(world: &mut World, converged: bool, last_gap: &str, end_ms: u64) -> RunReport {
    let scenario = Arc::clone(&world.scenario);
    let mut violations = std::mem::take(&mut world.violations);
    let found_during_run = violations.len();
    if converged {
        world.trace.note(end_ms, "sim", "converged");
    } else {
        let description = format!(
            "the cluster did not converge within {} ms of the liveness phase: {last_gap}",
            scenario.phases.liveness_ms_max
        );
        world.trace.note(end_ms, "sim", &description);
        violations.push(Violation {
            checker: Checker::Liveness,
            partition: None,
            offsets: Vec::new(),
            values: Vec::new(),
            time_ms: end_ms,
            description,
        });
    }
    violations.extend(world.finish_replica_checkers(end_ms));
    let final_state = FinalState {
        logs: world.final_logs(),
        transactions: world.final_transactions(),
        read_committed_consumers: crate::checkers::read_committed_consumers(&scenario),
        assigned_partitions: (0..scenario.consumers.len())
            .flat_map(|index| scenario.consumer_assignment(index))
            .collect(),
        time_ms: end_ms,
        groups: crate::checkers::group_reads(&scenario),
        accepted_commits: std::mem::take(&mut world.coordinator_log.accepted),
        log_start_offsets: world.final_log_start_offsets(),
    };
    violations.extend(check_history(&world.history, &final_state));
    let lag = world.group_lag(&final_state.accepted_commits);
    // The trace lists every finding again at the end; the record holds each once.
    for violation in &violations {
        if violation.checker != Checker::Liveness {
            world.trace.finding(end_ms, violation);
        }
    }
    for violation in &violations[found_during_run..] {
        world.emit(Record::Finding {
            time_ms: end_ms,
            violation: violation.clone(),
        });
    }
    let observed = observed_guarantee(&violations);
    let ordering = observed_ordering(&violations);
    let marks = world.marks.clone();
    let faults_not_applied = std::mem::take(&mut world.faults_not_applied);
    let mut failures = judge(&scenario, observed, ordering, &violations, &marks);
    failures.extend(
        faults_not_applied
            .iter()
            .filter(|not_applied| !not_applied.optional)
            .cloned()
            .map(Failure::FaultNotApplied),
    );
    let passed = failures.is_empty();
    world.trace.note(
        end_ms,
        "sim",
        &format!(
            "observed {observed} expected {} {}",
            scenario.expect.guarantee,
            if passed { "PASS" } else { "FAIL" }
        ),
    );
    let counters = counters(world);
    let (history, kept_final_state) = if world.records.is_some() {
        (std::mem::take(&mut world.history), Some(final_state))
    } else {
        (History::default(), None)
    };
    RunReport {
        scenario: scenario.name.clone(),
        seed: world.seed,
        trace_hash: world.trace.hash_hex(),
        observed,
        expected: scenario.expect.guarantee,
        ordering,
        expected_ordering: scenario.expect.ordering,
        passed,
        failures,
        faults_not_applied,
        violations,
        sim_time_ms: end_ms,
        wall_ms: 0,
        converged,
        marks,
        bugs: scenario
            .bugs
            .enabled()
            .iter()
            .map(|bug| bug.name().to_string())
            .collect(),
        counters,
        lag,
        configuration: None,
        panic: None,
        sink: world.sink.entries().to_vec(),
        trace: world.trace.take_lines(),
        records: world.records.take().unwrap_or_default(),
        history,
        final_state: kept_final_state,
    }
}

/// Why a run fails its scenario's expectation (empty: it passes).
pub fn judge(
    scenario: &Scenario,
    observed: Guarantee,
    ordering: OrderingVerdict,
    violations: &[Violation],
    marks: &BTreeMap<Mark, u64>,
) -> Vec<Failure> {
    let expect = &scenario.expect;
    let mut failures = Vec::new();
    if !observed.satisfies(expect.guarantee) {
        failures.push(Failure::Guarantee {
            expected: expect.guarantee,
            observed,
        });
    }
    if let Some(expected) = expect.ordering {
        if ordering != expected {
            failures.push(Failure::Ordering {
                expected,
                observed: ordering,
            });
        }
    }
    // By name, so the failures read in the same order whatever the registry's order.
    let reported: BTreeMap<&str, Checker> = violations
        .iter()
        .map(|violation| (violation.checker.name(), violation.checker))
        .collect();
    for anomaly in &expect.anomalies {
        if !reported.contains_key(anomaly.name()) {
            failures.push(Failure::MissingAnomaly(*anomaly));
        }
    }
    for checker in reported.values() {
        let is_invariant = checker.kind() != CheckerKind::ClientHistory;
        let allowed = expect.allowed_invariant_violations.contains(checker)
            || expect.anomalies.contains(checker);
        if is_invariant && !allowed && !checker.info().informational {
            failures.push(Failure::Invariant(*checker));
        }
    }
    for mark in &expect.marks {
        if !marks.contains_key(mark) {
            failures.push(Failure::MissingMark(*mark));
        }
    }
    failures
}

/// A topic's settings as the run's first trace line prints them; its flush policy is the
/// topic's own or else `[broker]`'s default (per-broker draws are on the configuration line).
fn topic_settings(topic: &TopicConfig, broker_flush: Option<u64>) -> String {
    let settings = format!(
        "rf {} min.insync {} unclean {} flush {}",
        topic.replication_factor,
        topic.min_insync_replicas,
        topic.unclean_leader_election_enable,
        topic
            .flush_interval_messages
            .or(broker_flush)
            .map_or("never".to_string(), |messages| messages.to_string())
    );
    if topic.name.as_str() == DEFAULT_TOPIC {
        settings
    } else {
        format!("{} {settings}", topic.name)
    }
}

fn counters(world: &World) -> RunCounters {
    let total = world.network.total();
    let mut counters = RunCounters {
        messages_sent: total.sent,
        messages_delivered: total.delivered,
        messages_dropped: total.dropped,
        events: world.events,
        trace_lines: world.trace.line_count(),
        history_operations: world.history.operations.len() as u64,
        ..RunCounters::default()
    };
    for operation in &world.history.operations {
        if let crate::history::OpBody::Send { .. } = operation.body {
            match operation.op_type {
                crate::history::OpType::Ok => counters.sends_ok += 1,
                crate::history::OpType::Fail => counters.sends_failed += 1,
                crate::history::OpType::Info => counters.sends_indefinite += 1,
                crate::history::OpType::Invoke => {}
            }
        }
    }
    for disk in world.disks.values() {
        let disk_counters = disk.counters();
        counters.fsyncs += disk_counters.syncs;
        counters.bytes_lost_to_power_loss += disk_counters.bytes_lost_to_power_loss;
        counters.torn_writes += disk_counters.torn_writes;
    }
    for ((from, to), link) in world.network.counters() {
        counters
            .messages_per_link
            .insert(format!("{from}->{to}"), link.sent);
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_simulation_becomes_a_report_with_its_seed() {
        let scenario = Scenario {
            name: "planted-panic".to_string(),
            ..Scenario::default()
        };
        let report = isolated(&scenario, 42, || {
            let runtime =
                madsim::runtime::Runtime::with_seed_and_config(42, madsim::Config::default());
            runtime.block_on(async {
                madsim::time::sleep(Duration::from_millis(5)).await;
                panic!("planted failure at seed 42")
            })
        });
        assert_eq!(report.seed, 42);
        assert_eq!(report.scenario, "planted-panic");
        assert!(!report.passed);
        assert_eq!(report.panic.as_deref(), Some("planted failure at seed 42"));
        assert_eq!(
            report.failures,
            vec![Failure::Panic("planted failure at seed 42".to_string())]
        );
    }

    fn scenario_expecting(ordering: Option<OrderingVerdict>) -> Scenario {
        let mut scenario = Scenario::default();
        scenario.expect.ordering = ordering;
        scenario
    }

    #[test]
    fn judge_checks_the_ordering_verdict_only_when_the_scenario_expects_one() {
        let judged = |expected: Option<OrderingVerdict>, observed: OrderingVerdict| {
            judge(
                &scenario_expecting(expected),
                Guarantee::ExactlyOnce,
                observed,
                &[],
                &BTreeMap::new(),
            )
        };
        assert!(judged(None, OrderingVerdict::Violated).is_empty());
        assert!(judged(Some(OrderingVerdict::Violated), OrderingVerdict::Violated).is_empty());
        assert_eq!(
            judged(Some(OrderingVerdict::Preserved), OrderingVerdict::Violated),
            vec![Failure::Ordering {
                expected: OrderingVerdict::Preserved,
                observed: OrderingVerdict::Violated
            }]
        );
        assert_eq!(
            judged(Some(OrderingVerdict::Violated), OrderingVerdict::Preserved),
            vec![Failure::Ordering {
                expected: OrderingVerdict::Violated,
                observed: OrderingVerdict::Preserved
            }]
        );
    }
}
