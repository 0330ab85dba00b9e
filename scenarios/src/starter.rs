//! The starter scenario `watermark new NAME` writes: a complete file whose comments explain
//! each section, with a few faults and an expectation, that runs as written and passes.

/// Why `name` cannot name a scenario, if it cannot: names are kebab-case, as the
/// catalogue's are, so they work as file names and in the report unchanged.
pub fn name_problem(name: &str) -> Option<String> {
    let starts_with_letter = name.starts_with(|first: char| first.is_ascii_lowercase());
    let allowed = name.chars().all(|character| {
        character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
    });
    let well_formed = starts_with_letter && allowed && !name.ends_with('-') && !name.contains("--");
    (!well_formed || name.len() > 64).then(|| {
        format!(
            "scenario name `{name}` is not allowed; allowed: 1 to 64 lowercase letters, digits \
             and single dashes, starting with a letter (e.g. `leader-crash`)"
        )
    })
}

/// The starter scenario named `name` (checked by [`name_problem`] first).
pub fn starter_scenario(name: &str) -> String {
    STARTER.replace("{name}", name)
}

const STARTER: &str = r#"# A Watermark scenario: a cluster, its workload, the faults to inject and what the run must
# show. Every key is described in docs/SCENARIOS.md; a key left out keeps its Kafka default.
# Run it:      watermark run {name}.toml --seed 0 --trace
# Sweep it:    watermark sweep {name}.toml --seeds 0..200
# Editor support: make `#:schema /path/to/watermark/docs/scenario.schema.json` the first
# line, and a TOML language server (taplo) completes keys and underlines mistakes.

name = "{name}"
summary = "acks=all with min.insync.replicas=2: the leader crashes and nothing acknowledged is lost"
explanation = "Every record the producer was told is written is on at least two in-sync replicas, so when the partition leader crashes the controller elects another ISR member, which has it."

# Three brokers, numbered 1, 2 and 3.
brokers = 3

# One topic, replicated to every broker. An acks=all write needs two in-sync replicas.
[[topics]]
name = "events"
partitions = 1
replication_factor = 3
min_insync_replicas = 2

# Broker settings: a follower that lags for 10 s leaves the ISR (Kafka's default is 30 s).
[broker]
replica_lag_time_max_ms = 10000

# One producer: 200 records, one every 50 ms from t = 1 s, waiting for every ISR member.
[[producers]]
records = 200
interval_ms = 50

[producers.config]
acks = "all"

# One consumer reading every partition from the earliest offset.
[[consumers]]

# Faults at fixed simulated times. `label` remembers which broker was hit, so the restart
# brings back the broker that crashed, not whoever leads by then.
[[faults.scripted]]
at_ms = 4000
fault = "crash"
target = { leader = 0 }
label = "crashed-leader"

[[faults.scripted]]
at_ms = 9000
fault = "restart"
target = { struck = "crashed-leader" }

# A slow follower: broker links get 500 ms of extra latency for a while, then everything is
# repaired.
[[faults.scripted]]
at_ms = 12000
fault = "slow-links"
target = { followers = 0 }
latency_ms = 500

[[faults.scripted]]
at_ms = 16000
fault = "heal-all"

# Faults happen in the first 20 s; then everything is healed and the cluster must converge
# within 60 s (a liveness violation otherwise).
[phases]
safety_ms = 20000
liveness_ms_max = 60000

# What the run must show: nothing acknowledged lost (duplicates from retries are allowed),
# and the crashed leader must really have been fenced by the controller (a run that missed
# its fault would fail here instead of passing quietly).
[expect]
guarantee = "at-least-once"
marks = ["broker-fenced"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_names_are_allowed_and_others_are_refused_with_the_rule() {
        for name in ["leader-crash", "a", "acks1-loss-2"] {
            assert_eq!(name_problem(name), None, "{name}");
        }
        for name in [
            "", "Leader", "1st", "a_b", "a--b", "a-", "a b", "a/b", "../x",
        ] {
            let problem = name_problem(name).expect(name);
            assert!(problem.contains("allowed: "), "{problem}");
        }
    }

    #[test]
    fn the_starter_loads_under_its_name() {
        let scenario = crate::parse_toml(&starter_scenario("my-first"), "starter").unwrap();
        assert_eq!(scenario.name, "my-first");
        assert!(!scenario.faults.scripted.is_empty());
    }
}
