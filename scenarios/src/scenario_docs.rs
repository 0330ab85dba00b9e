//! docs/SCENARIOS.md, generated from the scenario schema ([`crate::schema`]) and the examples
//! and Kafka names kept here. A test compares the checked-in file with this output and parses
//! every example with the loader, so the reference cannot drift from the code.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Where the reference is checked in, from the repository root.
pub const DOCS_PATH: &str = "docs/SCENARIOS.md";

/// The command that rewrites the checked-in reference.
pub const REGENERATE: &str = "cargo run -- schema --markdown > docs/SCENARIOS.md";

/// Every key of a scenario file, by its path in the file, with the Kafka configuration it
/// models; `WATERMARK` marks keys Kafka has no setting for. A test checks that this list and
/// the schema name the same keys.
pub const KAFKA_NAMES: &[(&str, &str)] = &[
    ("name", WATERMARK),
    ("summary", WATERMARK),
    ("explanation", WATERMARK),
    ("brokers", WATERMARK),
    ("topics", WATERMARK),
    ("topic", WATERMARK),
    ("broker", WATERMARK),
    ("broker_overrides", WATERMARK),
    ("controller", WATERMARK),
    (
        "eligible_leader_replicas_enable",
        "eligible.leader.replicas.version (feature)",
    ),
    ("producers", WATERMARK),
    ("consumers", WATERMARK),
    ("network", WATERMARK),
    ("disk", WATERMARK),
    ("faults", WATERMARK),
    ("phases", WATERMARK),
    (
        "kafka_version",
        "the Kafka release (inter.broker.protocol.version and client version)",
    ),
    ("bugs", WATERMARK),
    ("expect", WATERMARK),
    ("topics.name", "topic name"),
    ("topics.partitions", "num.partitions"),
    ("topics.replication_factor", "replication.factor"),
    ("topics.min_insync_replicas", "min.insync.replicas"),
    (
        "topics.unclean_leader_election_enable",
        "unclean.leader.election.enable",
    ),
    ("topics.flush_interval_messages", "flush.messages"),
    ("broker.replica_lag_time_max_ms", "replica.lag.time.max.ms"),
    (
        "broker.replica_fetch_wait_max_ms",
        "replica.fetch.wait.max.ms",
    ),
    (
        "broker.replica_fetch_backoff_ms",
        "replica.fetch.backoff.ms",
    ),
    (
        "broker.replica_socket_timeout_ms",
        "replica.socket.timeout.ms",
    ),
    (
        "broker.replica_fetch_max_records",
        "Watermark (Kafka's replica.fetch.max.bytes counts bytes)",
    ),
    (
        "broker.broker_heartbeat_interval_ms",
        "broker.heartbeat.interval.ms",
    ),
    (
        "broker.high_watermark_checkpoint_interval_ms",
        "replica.high.watermark.checkpoint.interval.ms",
    ),
    ("broker.reconnect_backoff_ms", "reconnect.backoff.ms"),
    ("broker.controlled_shutdown_timeout_ms", WATERMARK),
    (
        "broker.offsets_topic_num_partitions",
        "offsets.topic.num.partitions",
    ),
    (
        "broker.offsets_topic_replication_factor",
        "offsets.topic.replication.factor",
    ),
    (
        "broker.offsets_topic_min_insync_replicas",
        "min.insync.replicas of __consumer_offsets",
    ),
    (
        "broker.offsets_commit_timeout_ms",
        "offsets.commit.timeout.ms",
    ),
    (
        "broker.group_initial_rebalance_delay_ms",
        "group.initial.rebalance.delay.ms",
    ),
    (
        "broker.group_min_session_timeout_ms",
        "group.min.session.timeout.ms",
    ),
    (
        "broker.group_max_session_timeout_ms",
        "group.max.session.timeout.ms",
    ),
    (
        "broker.log_flush_interval_messages",
        "log.flush.interval.messages",
    ),
    (
        "broker.transaction_state_log_num_partitions",
        "transaction.state.log.num.partitions",
    ),
    (
        "broker.transaction_state_log_replication_factor",
        "transaction.state.log.replication.factor",
    ),
    (
        "broker.transaction_state_log_min_isr",
        "transaction.state.log.min.isr",
    ),
    (
        "broker.transaction_max_timeout_ms",
        "transaction.max.timeout.ms",
    ),
    (
        "broker.transaction_abort_timed_out_transaction_cleanup_interval_ms",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    ),
    ("broker.request_timeout_ms", "request.timeout.ms"),
    ("broker_overrides.broker", "broker.id"),
    ("broker_overrides.flush", "log.flush.interval.messages"),
    ("broker_overrides.replica_fetch_max_records", WATERMARK),
    ("broker_overrides.broker_rack", "broker.rack"),
    ("broker.broker_rack", "broker.rack"),
    ("broker.replica_selector_class", "replica.selector.class"),
    ("consumers.config.client_rack", "client.rack"),
    (
        "controller.broker_session_timeout_ms",
        "broker.session.timeout.ms",
    ),
    ("producers.topic", WATERMARK),
    ("producers.config", WATERMARK),
    ("producers.records", WATERMARK),
    ("producers.start_ms", WATERMARK),
    ("producers.interval_ms", WATERMARK),
    ("producers.key_space", WATERMARK),
    ("producers.transaction_records", WATERMARK),
    ("producers.abort_every", WATERMARK),
    ("producers.config.transactional_id", "transactional.id"),
    (
        "producers.config.transaction_timeout_ms",
        "transaction.timeout.ms",
    ),
    ("producers.config.acks", "acks"),
    ("producers.config.retries", "retries"),
    ("producers.config.retry_backoff_ms", "retry.backoff.ms"),
    ("producers.config.request_timeout_ms", "request.timeout.ms"),
    (
        "producers.config.delivery_timeout_ms",
        "delivery.timeout.ms",
    ),
    (
        "producers.config.max_in_flight_requests_per_connection",
        "max.in.flight.requests.per.connection",
    ),
    ("producers.config.linger_ms", "linger.ms"),
    (
        "producers.config.batch_size_records",
        "Watermark (Kafka's batch.size counts bytes)",
    ),
    ("producers.config.partitioner", "partitioner.class"),
    (
        "producers.config.metadata_max_age_ms",
        "metadata.max.age.ms",
    ),
    ("producers.config.enable_idempotence", "enable.idempotence"),
    (
        "producers.config.reconnect_backoff_ms",
        "reconnect.backoff.ms",
    ),
    (
        "producers.config.reconnect_backoff_max_ms",
        "reconnect.backoff.max.ms",
    ),
    (
        "producers.config.socket_connection_setup_timeout_ms",
        "socket.connection.setup.timeout.ms",
    ),
    ("consumers.config", WATERMARK),
    (
        "consumers.topics",
        "Watermark (the topics of KafkaConsumer.assign, or of subscribe with a group)",
    ),
    (
        "consumers.partitions",
        "Watermark (the partitions of KafkaConsumer.assign)",
    ),
    ("consumers.start_ms", WATERMARK),
    (
        "consumers.processing",
        "Watermark (the application's loop around poll and commitSync)",
    ),
    ("consumers.processing_ms", WATERMARK),
    (
        "consumers.output_topic",
        "Watermark (the topic the consume-transform-produce loop's producer writes)",
    ),
    (
        "consumers.producer",
        "Watermark (the loop's KafkaProducer; its keys are Kafka's producer configs)",
    ),
    ("consumers.producer.transactional_id", "transactional.id"),
    (
        "consumers.producer.transaction_timeout_ms",
        "transaction.timeout.ms",
    ),
    ("consumers.producer.acks", "acks"),
    ("consumers.producer.retries", "retries"),
    ("consumers.producer.retry_backoff_ms", "retry.backoff.ms"),
    (
        "consumers.producer.request_timeout_ms",
        "request.timeout.ms",
    ),
    (
        "consumers.producer.delivery_timeout_ms",
        "delivery.timeout.ms",
    ),
    (
        "consumers.producer.max_in_flight_requests_per_connection",
        "max.in.flight.requests.per.connection",
    ),
    ("consumers.producer.linger_ms", "linger.ms"),
    (
        "consumers.producer.batch_size_records",
        "Watermark (Kafka's batch.size counts bytes)",
    ),
    ("consumers.producer.partitioner", "partitioner.class"),
    (
        "consumers.producer.metadata_max_age_ms",
        "metadata.max.age.ms",
    ),
    (
        "consumers.producer.enable_idempotence",
        "enable.idempotence",
    ),
    (
        "consumers.producer.reconnect_backoff_ms",
        "reconnect.backoff.ms",
    ),
    (
        "consumers.producer.reconnect_backoff_max_ms",
        "reconnect.backoff.max.ms",
    ),
    (
        "consumers.producer.socket_connection_setup_timeout_ms",
        "socket.connection.setup.timeout.ms",
    ),
    (
        "consumers.poll_timeout_ms",
        "Watermark (the timeout passed to KafkaConsumer.poll)",
    ),
    ("consumers.config.auto_offset_reset", "auto.offset.reset"),
    ("consumers.config.isolation_level", "isolation.level"),
    ("consumers.config.fetch_max_wait_ms", "fetch.max.wait.ms"),
    ("consumers.config.max_poll_records", "max.poll.records"),
    ("consumers.config.request_timeout_ms", "request.timeout.ms"),
    ("consumers.config.retry_backoff_ms", "retry.backoff.ms"),
    (
        "consumers.config.metadata_max_age_ms",
        "metadata.max.age.ms",
    ),
    ("consumers.config.group_id", "group.id"),
    ("consumers.config.group_instance_id", "group.instance.id"),
    ("consumers.config.session_timeout_ms", "session.timeout.ms"),
    (
        "consumers.config.heartbeat_interval_ms",
        "heartbeat.interval.ms",
    ),
    (
        "consumers.config.max_poll_interval_ms",
        "max.poll.interval.ms",
    ),
    ("consumers.config.enable_auto_commit", "enable.auto.commit"),
    (
        "consumers.config.auto_commit_interval_ms",
        "auto.commit.interval.ms",
    ),
    (
        "consumers.config.partition_assignment_strategy",
        "partition.assignment.strategy",
    ),
    (
        "consumers.config.default_api_timeout_ms",
        "default.api.timeout.ms",
    ),
    ("network.latency_ms_min", WATERMARK),
    ("network.latency_ms_max", WATERMARK),
    ("disk.fsync_latency_ms", WATERMARK),
    ("disk.torn_writes", WATERMARK),
    ("faults.scripted", WATERMARK),
    ("faults.triggers", WATERMARK),
    ("faults.swarm", WATERMARK),
    ("faults.swarm.kinds", WATERMARK),
    ("faults.swarm.interval_ms_min", WATERMARK),
    ("faults.swarm.interval_ms_max", WATERMARK),
    ("faults.swarm.duration_ms_min", WATERMARK),
    ("faults.swarm.duration_ms_max", WATERMARK),
    ("faults.swarm.configuration", WATERMARK),
    (
        "faults.swarm.configuration.flush",
        "log.flush.interval.messages",
    ),
    (
        "faults.swarm.configuration.replica_fetch_max_records",
        WATERMARK,
    ),
    (
        "faults.swarm.configuration.request_timeout_ms",
        "request.timeout.ms",
    ),
    (
        "faults.swarm.configuration.delivery_timeout_ms",
        "delivery.timeout.ms",
    ),
    ("faults.swarm.configuration.retries", "retries"),
    ("faults.swarm.configuration.linger_ms", "linger.ms"),
    (
        "faults.swarm.configuration.max_in_flight_requests_per_connection",
        "max.in.flight.requests.per.connection",
    ),
    ("faults.swarm.configuration.batch_size_records", WATERMARK),
    (
        "faults.swarm.configuration.max_poll_records",
        "max.poll.records",
    ),
    ("faults.swarm.configuration.flush.choices", WATERMARK),
    ("faults.swarm.configuration.flush.every_n_max", WATERMARK),
    (
        "faults.swarm.configuration.flush.unsynced_brokers_max",
        WATERMARK,
    ),
    ("phases.safety_ms", WATERMARK),
    ("phases.liveness_ms_max", WATERMARK),
    ("phases.run_ms_max", WATERMARK),
    ("bugs.truncate_to_high_watermark", WATERMARK),
    ("bugs.ack_before_isr", WATERMARK),
    ("bugs.hw_advances_under_min_isr", WATERMARK),
    ("bugs.offsets_for_leader_epoch_truncation", WATERMARK),
    ("bugs.no_generation_fencing", WATERMARK),
    ("bugs.no_producer_fencing", WATERMARK),
    ("bugs.no_epoch_bump_per_transaction", WATERMARK),
    ("bugs.no_transaction_verification", WATERMARK),
    ("bugs.reset_sequence_on_unknown_producer", WATERMARK),
    ("bugs.isr_join_below_leader_epoch_start", WATERMARK),
    ("bugs.divergent_fetch_counts_as_progress", WATERMARK),
    ("bugs.epoch_lookup_without_epoch", WATERMARK),
    ("bugs.no_truncation_when_leader_unchanged", WATERMARK),
    ("bugs.isr_accepts_fenced_replicas", WATERMARK),
    ("bugs.isr_accepts_stale_broker_epoch", WATERMARK),
    ("bugs.no_consumer_truncation_detection", WATERMARK),
    ("bugs.follower_high_watermark_before_truncation", WATERMARK),
    ("expect.guarantee", WATERMARK),
    ("expect.anomalies", WATERMARK),
    ("expect.allowed_invariant_violations", WATERMARK),
    ("expect.marks", WATERMARK),
    ("expect.ordering", WATERMARK),
];

/// The Kafka-name column of a key Kafka has no setting for.
pub const WATERMARK: &str = "Watermark";

/// The tables of a scenario file, in the order the reference lists them: (the key path,
/// how the file spells the table, an example).
const SECTIONS: &[(&str, &str, &str)] = &[
    ("", "top-level keys", "brokers = 3\neligible_leader_replicas_enable = true\n"),
    (
        "topics",
        "[[topics]]",
        "[[topics]]\nname = \"orders\"\npartitions = 2\nreplication_factor = 3\nmin_insync_replicas = 2\n",
    ),
    ("broker", "[broker]", "[broker]\nreplica_lag_time_max_ms = 5000\nlog_flush_interval_messages = 1\n"),
    (
        "broker_overrides",
        "[[broker_overrides]]",
        "[[broker_overrides]]\nbroker = 2\nflush = \"never\"\n\n[[broker_overrides]]\nbroker = 3\nflush = { every = 10 }\n",
    ),
    ("controller", "[controller]", "[controller]\nbroker_session_timeout_ms = 6000\n"),
    (
        "producers",
        "[[producers]]",
        "[[producers]]\nrecords = 100\nstart_ms = 2000\ninterval_ms = 20\nkey_space = 8\n",
    ),
    (
        "producers.config",
        "[producers.config]",
        "[[producers]]\n\n[producers.config]\nacks = \"1\"\nretries = 3\npartitioner = \"key-hash\"\n",
    ),
    ("consumers", "[[consumers]]", "[[consumers]]\npartitions = [0]\nstart_ms = 5000\n"),
    (
        "consumers.config",
        "[consumers.config]",
        "[[consumers]]\n\n[consumers.config]\nauto_offset_reset = \"earliest\"\nmax_poll_records = 50\n",
    ),
    ("network", "[network]", "[network]\nlatency_ms_min = 2\nlatency_ms_max = 10\n"),
    ("disk", "[disk]", "[disk]\nfsync_latency_ms = 5\ntorn_writes = false\n"),
    (
        "faults",
        "[faults]",
        "[[faults.scripted]]\nat_ms = 5000\nfault = \"crash\"\ntarget = { broker = 1 }\n",
    ),
    (
        "faults.swarm",
        "[faults.swarm]",
        "[faults.swarm]\nkinds = [\"crash\", \"pause\", \"slow-disk\"]\ninterval_ms_min = 2000\ninterval_ms_max = 6000\n",
    ),
    (
        "faults.swarm.configuration",
        "[faults.swarm.configuration]",
        "[faults.swarm]\n\n[faults.swarm.configuration]\nretries = [0, 3, 2147483647]\nlinger_ms = { min = 0, max = 20 }\n",
    ),
    (
        "faults.swarm.configuration.flush",
        "[faults.swarm.configuration.flush]",
        "[faults.swarm]\n\n[faults.swarm.configuration.flush]\nchoices = [\"every-message\", \"never\"]\nunsynced_brokers_max = 1\n",
    ),
    ("phases", "[phases]", "[phases]\nsafety_ms = 20000\nliveness_ms_max = 60000\n"),
    (
        "bugs",
        "[bugs]",
        "[bugs]\ntruncate_to_high_watermark = true\nack_before_isr = false\nhw_advances_under_min_isr = false\noffsets_for_leader_epoch_truncation = false\n",
    ),
    (
        "expect",
        "[expect]",
        "[expect]\nguarantee = \"at-most-once\"\nanomalies = [\"lost-write\"]\nmarks = [\"isr-shrunk\"]\nordering = \"preserved\"\n",
    ),
];

/// One example per fault kind, by its `fault` name.
const FAULT_EXAMPLES: &[(&str, &str)] = &[
    ("crash", "fault = \"crash\"\ntarget = { leader = 0 }"),
    (
        "power-loss",
        "fault = \"power-loss\"\ntarget = { broker = 2 }",
    ),
    ("shutdown", "fault = \"shutdown\"\ntarget = { broker = 2 }"),
    ("restart", "fault = \"restart\"\ntarget = \"all-brokers\""),
    ("pause", "fault = \"pause\"\ntarget = \"controller\""),
    ("resume", "fault = \"resume\"\ntarget = \"controller\""),
    ("isolate", "fault = \"isolate\"\ntarget = { broker = 3 }"),
    (
        "partition-away",
        "fault = \"partition-away\"\nside = [{ broker = 1 }, \"controller\"]",
    ),
    (
        "cut-one-way",
        "fault = \"cut-one-way\"\nfrom = { leader = 0 }\nto = { followers = 0 }",
    ),
    (
        "slow-links",
        "fault = \"slow-links\"\ntarget = { broker = 3 }\nlatency_ms = 4000",
    ),
    (
        "slow-disk",
        "fault = \"slow-disk\"\ntarget = { broker = 1 }\nfsync_latency_ms = 200",
    ),
    (
        "slow-processing",
        "fault = \"slow-processing\"\ntarget = { consumer = 0 }\nprocessing_ms = 400000\nduration_ms = 20000",
    ),
    ("heal-all", "fault = \"heal-all\""),
    (
        "hold-requests",
        "fault = \"hold-requests\"\nfrom = { producer = 0 }\nto = \"all-brokers\"\napi = \"end-txn\"\ndelay_ms = 3000",
    ),
    (
        "delete-records",
        "fault = \"delete-records\"\npartition = 0\nbefore_offset = 100",
    ),
];

/// One example per target form, by the key or string that names it.
const TARGET_EXAMPLES: &[(&str, &str)] = &[
    ("broker", "target = { broker = 1 }"),
    ("controller", "target = \"controller\""),
    (
        "leader",
        "target = { leader = { topic = \"events\", partition = 0 } }",
    ),
    ("followers", "target = { followers = 0 }"),
    ("all-brokers", "target = \"all-brokers\""),
    (
        "event-source",
        "then = [{ fault = \"crash\", target = \"event-source\" }]",
    ),
    ("newest-isr-member", "target = { newest-isr-member = 0 }"),
    ("lagging-follower", "target = { lagging-follower = 0 }"),
    ("struck", "target = { struck = \"first-crash\" }"),
    ("producer", "target = { producer = 0 }"),
    ("consumer", "target = { consumer = 0 }"),
    ("coordinator", "target = { coordinator = \"orders\" }"),
    (
        "transaction-coordinator",
        "target = { transaction-coordinator = \"payments\" }",
    ),
];

/// One example per trigger condition, by its `when` name.
const CONDITION_EXAMPLES: &[(&str, &str)] = &[
    ("leader-acked", "when = \"leader-acked\"\npartition = 0\noffset_at_least = 20"),
    ("isr-shrunk-to", "when = \"isr-shrunk-to\"\npartition = 0\nsize = 2"),
    (
        "high-watermark-reached",
        "when = \"high-watermark-reached\"\npartition = { topic = \"events\", partition = 0 }\noffset = 50",
    ),
    ("leader-changed", "when = \"leader-changed\"\npartition = 0"),
    ("isr-expanded", "when = \"isr-expanded\"\npartition = 0\nafter_ms = 5000"),
    ("fetch-truncated", "when = \"fetch-truncated\"\npartition = 0"),
    ("member-committed", "when = \"member-committed\"\nconsumer = 0"),
    ("rebalance-started", "when = \"rebalance-started\"\ngroup = \"orders\""),
    (
        "transaction-state",
        "when = \"transaction-state\"\ntransactional_id = \"payments\"\nstate = \"prepare-commit\"",
    ),
];

/// Every example of the reference as a complete scenario file, with what it illustrates,
/// so a test can load each with the loader.
pub fn examples() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (path, title, example) in SECTIONS {
        files.push((format!("section {title} ({path})"), example.to_string()));
    }
    for (name, example) in FAULT_EXAMPLES {
        files.push((format!("fault {name}"), scripted(example)));
    }
    for (name, example) in TARGET_EXAMPLES {
        files.push((format!("target {name}"), target_file(example)));
    }
    for (name, example) in CONDITION_EXAMPLES {
        files.push((format!("trigger {name}"), trigger(example)));
    }
    files
        .into_iter()
        .map(|(what, body)| {
            let group = if NEEDS_A_GROUP.contains(&what.as_str()) {
                "[[consumers]]\n[consumers.config]\ngroup_id = \"orders\"\n"
            } else if NEEDS_A_TRANSACTIONAL_ID.contains(&what.as_str()) {
                "[[producers]]\n[producers.config]\ntransactional_id = \"payments\"\n"
            } else {
                ""
            };
            (what, format!("name = \"docs-example\"\n{body}{group}"))
        })
        .collect()
}

/// The examples that name consumer group "orders", which only a scenario with a consumer in
/// that group accepts: their example files get one.
const NEEDS_A_GROUP: [&str; 3] = [
    "target coordinator",
    "trigger member-committed",
    "trigger rebalance-started",
];

/// The examples that name transactional id "payments", which only a scenario with a
/// producer of that id accepts: their example files get one.
const NEEDS_A_TRANSACTIONAL_ID: [&str; 2] = [
    "target transaction-coordinator",
    "trigger transaction-state",
];

fn scripted(fault: &str) -> String {
    format!("[[faults.scripted]]\nat_ms = 5000\n{fault}\n")
}

fn trigger(condition: &str) -> String {
    format!("[[faults.triggers]]\n{condition}\nthen = [{{ fault = \"crash\", target = \"event-source\" }}]\n")
}

/// A target example in a fault that can carry it: `event-source` only inside a trigger,
/// `struck` after a labelled fault.
fn target_file(target: &str) -> String {
    if target.starts_with("then") {
        return format!(
            "[[faults.triggers]]\nwhen = \"leader-changed\"\npartition = 0\n{target}\n"
        );
    }
    let mut file = String::new();
    if target.contains("struck") {
        file.push_str(&scripted(
            "fault = \"crash\"\ntarget = { leader = 0 }\nlabel = \"first-crash\"",
        ));
        file.push_str("\n[[faults.scripted]]\nat_ms = 9000\nfault = \"restart\"\n");
        file.push_str(target);
        file.push('\n');
        return file;
    }
    scripted(&format!("fault = \"pause\"\n{target}"))
}

/// The reference, docs/SCENARIOS.md.
pub fn scenarios_markdown() -> String {
    let schema = crate::schema::scenario_schema();
    let mut out = String::new();
    let _ = write!(
        out,
        "# Scenario files\n\n\
         <!-- Generated by `{REGENERATE}` from the Rust types (through docs/scenario.schema.json) \
         and the examples in scenarios/src/scenario_docs.rs; a test fails when this file and \
         the generator disagree. Do not edit by hand. -->\n\n\
         A scenario file is TOML. Every key is optional unless marked *required*; a key left \
         out takes the default shown, which is Kafka's unless the key is Watermark's own. An \
         unknown key is an error. The same rules as a JSON Schema: `watermark schema` prints \
         it, and docs/scenario.schema.json is the checked-in copy. Put \
         `#:schema ./docs/scenario.schema.json` (a path relative to the file, or a URL) on \
         the first line of a scenario file and a TOML language server (taplo: VS Code's Even \
         Better TOML, Helix, Neovim) completes keys and underlines mistakes while you type; \
         the repository's .taplo.toml already does it for examples/ and tests/. \
         `watermark new NAME` writes a commented starter file.\n\n"
    );
    out.push_str("## Tables and keys\n\n");
    for (path, title, example) in SECTIONS {
        section(&schema, path, title, example, &mut out);
    }
    faults(&schema, &mut out);
    targets(&schema, &mut out);
    triggers(&schema, &mut out);
    names(&schema, &mut out);
    out
}

/// The object schema at `path` (dot-separated keys), through `$ref`s, arrays and options.
fn object_at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    let mut node = schema;
    for key in path.split('.').filter(|key| !key.is_empty()) {
        node = resolve(schema, &node["properties"][key]);
    }
    node
}

/// Follows a `$ref`, an array's items and an option's non-null alternative.
fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    if let Some(reference) = node["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return resolve(schema, &schema["$defs"][name]);
    }
    if node["type"] == "array" {
        return resolve(schema, &node["items"]);
    }
    if let Some(alternatives) = node["anyOf"].as_array() {
        let present: Vec<&Value> = alternatives
            .iter()
            .filter(|alternative| alternative["type"] != "null")
            .collect();
        if let [only] = present[..] {
            return resolve(schema, only);
        }
    }
    node
}

fn section(schema: &Value, path: &str, title: &str, example: &str, out: &mut String) {
    let object = object_at(schema, path);
    let _ = writeln!(out, "### {title}\n");
    if !path.is_empty() {
        if let Some(description) = object["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(description));
        }
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}.")
    };
    keys_table(schema, object, &prefix, out);
    let _ = writeln!(out, "```toml\n{example}```\n");
}

/// The table of an object's keys: type, default, Kafka name, description.
fn keys_table(schema: &Value, object: &Value, prefix: &str, out: &mut String) {
    out.push_str("| key | type | default | Kafka name | description |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    let required = string_list(&object["required"]);
    for (key, property) in properties(object) {
        let default = if required.contains(&key.as_str()) {
            "*required*".to_string()
        } else {
            default_text(&property["default"])
        };
        let kafka = KAFKA_NAMES
            .iter()
            .find(|(path, _)| *path == format!("{prefix}{key}"))
            .map_or(WATERMARK, |(_, name)| name);
        let description = property["description"]
            .as_str()
            .or_else(|| resolve(schema, property)["description"].as_str())
            .unwrap_or("");
        let _ = writeln!(
            out,
            "| `{key}` | {} | {default} | {} | {} |",
            type_text(schema, property),
            kafka_text(kafka),
            cell(description)
        );
    }
    out.push('\n');
}

fn kafka_text(name: &str) -> String {
    match name.split_once(' ') {
        _ if name == WATERMARK => WATERMARK.to_string(),
        Some((kafka, rest)) if kafka.contains('.') => format!("`{kafka}` {rest}"),
        None if name.contains('.') || !name.contains(' ') => format!("`{name}`"),
        _ => name.to_string(),
    }
}

/// An object's properties, alphabetical as the generated schema keeps them; a second
/// spelling of a key (`x-spelling-of`, the `[bugs]` switches' kebab-case names) is not a
/// key of its own.
fn properties(object: &Value) -> Vec<(String, &Value)> {
    object["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .filter(|(_, value)| value.get("x-spelling-of").is_none())
                .map(|(key, value)| (key.clone(), value))
                .collect()
        })
        .unwrap_or_default()
}

fn string_list(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A key's type in words.
fn type_text(schema: &Value, node: &Value) -> String {
    if let Some(reference) = node["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        let target = &schema["$defs"][name];
        if target["type"] == "object" {
            return "table".to_string();
        }
        if target["type"] == "integer" || target["type"] == "string" && name == "TopicName" {
            return type_text(schema, target);
        }
        let values = value_names(target);
        if !values.is_empty() && values.len() <= 6 {
            return values.join(" \\| ");
        }
        return format!("[{}](#{})", name, name.to_lowercase());
    }
    match &node["type"] {
        Value::String(kind) if kind == "array" => {
            format!("array of {}", type_text(schema, &node["items"]))
        }
        Value::String(kind) if kind == "object" => "table".to_string(),
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .filter(|kind| *kind != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => match node["anyOf"].as_array() {
            Some(alternatives) => alternatives
                .iter()
                .filter(|alternative| alternative["type"] != "null")
                .map(|alternative| type_text(schema, alternative))
                .collect::<Vec<_>>()
                .join(" or "),
            None => "value".to_string(),
        },
    }
}

/// The literal values an enum-like schema accepts, each in backquotes.
fn value_names(node: &Value) -> Vec<String> {
    let alternatives = node["oneOf"]
        .as_array()
        .or_else(|| node["anyOf"].as_array());
    let mut names = Vec::new();
    let mut add = |value: &Value| match value {
        Value::String(text) => names.push(format!("`\"{text}\"`")),
        Value::Number(number) => names.push(format!("`{number}`")),
        _ => {}
    };
    if let Some(values) = node["enum"].as_array() {
        values.iter().for_each(&mut add);
    }
    for alternative in alternatives.into_iter().flatten() {
        if alternative["deprecated"] == true {
            continue;
        }
        if alternative["type"] == "object" || alternative.get("$ref").is_some() {
            return Vec::new();
        }
        if alternative["const"].is_string() {
            add(&alternative["const"]);
        }
        if let Some(values) = alternative["enum"].as_array() {
            values.iter().for_each(&mut add);
        }
    }
    names
}

fn default_text(default: &Value) -> String {
    match default {
        Value::Null => "absent".to_string(),
        Value::Object(_) => "see its keys".to_string(),
        Value::Array(items) if items.iter().any(Value::is_object) => {
            "one, with its defaults".to_string()
        }
        Value::Number(number) if number.as_u64() == Some(u64::from(u32::MAX)) => {
            "`4294967295` (unbounded)".to_string()
        }
        other => format!("`{other}`"),
    }
}

/// Text for a Markdown table cell: one line, no pipes.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn example_for<'a>(examples: &'a [(&str, &str)], name: &str) -> &'a str {
    examples
        .iter()
        .find(|(known, _)| *known == name)
        .map_or("", |(_, example)| example)
}

/// The name a tagged variant carries in `tag`, and its other keys.
fn variant_name<'a>(variant: &'a Value, tag: &str) -> &'a str {
    variant["properties"][tag]["const"].as_str().unwrap_or("")
}

fn faults(schema: &Value, out: &mut String) {
    out.push_str(
        "## Fault kinds\n\nA fault is a table with `fault = \"KIND\"` and the kind's keys. In \
         `[[faults.scripted]]` it also has `at_ms` (required: the simulated time it happens)
         , `label` (a name for the nodes it hit, for a later `struck` target) and `optional` \
         (`true`: the run does not fail when the fault cannot apply; it is still listed under \
         `faults_not_applied`); in a trigger it is an item of `then`, or of `later` with an \
         `at_ms` counted from the event.\n\n",
    );
    for variant in schema["$defs"]["Fault"]["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = variant_name(variant, "fault");
        let _ = writeln!(
            out,
            "### `{name}`\n\n{}\n",
            one_line(variant["description"].as_str().unwrap_or(""))
        );
        let keys: Vec<String> = properties(variant)
            .into_iter()
            .filter(|(key, _)| key != "fault")
            .map(|(key, property)| format!("`{key}` ({})", type_text(schema, property)))
            .collect();
        if !keys.is_empty() {
            let _ = writeln!(out, "Keys: {}.\n", keys.join(", "));
        }
        let _ = writeln!(
            out,
            "```toml\n{}```\n",
            scripted(example_for(FAULT_EXAMPLES, name))
        );
    }
}

fn targets(schema: &Value, out: &mut String) {
    out.push_str(
        "## Targets\n\nWhat a fault hits: a string or a one-key table. Brokers are numbered \
         from 1, producers and consumers from 0. A partition (written P below) is an index of \
         the scenario's first topic (`0`) or a table naming the topic \
         (`{ topic = \"orders\", partition = 0 }`).\n\n",
    );
    out.push_str("| form | meaning | example |\n| --- | --- | --- |\n");
    for variant in schema["$defs"]["Target"]["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (name, form) = match variant["properties"]
            .as_object()
            .and_then(|keys| keys.iter().next())
        {
            Some((key, property)) => {
                let argument = match property["$ref"].as_str() {
                    Some(reference) if reference.ends_with("PartitionRef") => "P".to_string(),
                    _ => type_text(schema, property),
                };
                (key.clone(), format!("`{{ {key} = {argument} }}`"))
            }
            None => {
                let name = variant["const"]
                    .as_str()
                    .or_else(|| variant["enum"][0].as_str())
                    .unwrap_or("")
                    .to_string();
                let form = format!("`\"{name}\"`");
                (name, form)
            }
        };
        let meaning = variant["description"]
            .as_str()
            .unwrap_or(match name.as_str() {
                "controller" => "The controller.",
                "broker" => "The broker with this id.",
                "producer" => "The producer with this index.",
                "consumer" => "The consumer with this index.",
                _ => "",
            });
        let _ = writeln!(
            out,
            "| {form} | {} | `{}` |",
            cell(meaning),
            one_line(example_for(TARGET_EXAMPLES, &name))
        );
    }
    out.push('\n');
}

fn triggers(schema: &Value, out: &mut String) {
    out.push_str(
        "## Triggers\n\n`[[faults.triggers]]`: when a protocol event happens, apply faults. \
         A trigger is a `when = \"CONDITION\"` with the condition's keys, and:\n\n",
    );
    let trigger = &schema["$defs"]["Trigger"];
    let mut keys = Map::new();
    if let Some(properties) = trigger["properties"].as_object() {
        keys = properties.clone();
    }
    let object = serde_json::json!({ "properties": keys, "required": trigger["required"] });
    keys_table(schema, &object, "faults.triggers.", out);
    for variant in trigger["oneOf"].as_array().into_iter().flatten() {
        let name = variant_name(variant, "when");
        let _ = writeln!(
            out,
            "### `{name}`\n\n{}\n",
            one_line(variant["description"].as_str().unwrap_or(""))
        );
        let _ = writeln!(
            out,
            "```toml\n{}```\n",
            trigger_text(example_for(CONDITION_EXAMPLES, name))
        );
    }
}

fn trigger_text(condition: &str) -> String {
    trigger(condition)
}

/// The closed sets of names: guarantees, ordering verdicts, swarm kinds, marks, checkers.
fn names(schema: &Value, out: &mut String) {
    out.push_str("## Names\n\n");
    for (title, definition) in [
        ("Guarantee", "Guarantee"),
        ("OrderingVerdict", "OrderingVerdict"),
        ("Acks", "Acks"),
        ("FaultKind", "FaultKind"),
        ("Mark", "Mark"),
        ("Checker", "Checker"),
    ] {
        let node = &schema["$defs"][definition];
        let _ = writeln!(
            out,
            "### {title}\n\n{}\n",
            one_line(node["description"].as_str().unwrap_or(""))
        );
        let alternatives = node["oneOf"]
            .as_array()
            .or_else(|| node["anyOf"].as_array());
        for alternative in alternatives.into_iter().flatten() {
            let values = value_names(&serde_json::json!({ "oneOf": [alternative] }));
            let description = alternative["description"].as_str().unwrap_or("");
            let _ = writeln!(
                out,
                "- {}{}{}",
                values.join(", "),
                if description.is_empty() { "" } else { ": " },
                one_line(description)
            );
        }
        if let Some(values) = node["enum"].as_array() {
            let names: Vec<String> = values.iter().map(|value| format!("`{value}`")).collect();
            let _ = writeln!(out, "- {}", names.join(", "));
        }
        out.push('\n');
    }
}
