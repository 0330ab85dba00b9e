use super::*;

fn parse<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|error| error.to_string())
}

#[test]
fn every_target_form_reads_and_writes_back_the_same() {
    let forms = [
        r#"{"broker":2}"#,
        r#""controller""#,
        r#""all-brokers""#,
        r#""event-source""#,
        r#"{"leader":0}"#,
        r#"{"followers":{"topic":"orders","partition":1}}"#,
        r#"{"newest-isr-member":0}"#,
        r#"{"lagging-follower":0}"#,
        r#"{"struck":"crashed"}"#,
        r#"{"producer":0}"#,
        r#"{"consumer":1}"#,
        r#"{"coordinator":"orders"}"#,
        r#"{"transaction-coordinator":"payments"}"#,
    ];
    for form in forms {
        let target: Target = parse(form).unwrap();
        assert_eq!(serde_json::to_string(&target).unwrap(), form);
    }
}

#[test]
fn a_wrong_target_lists_the_forms_and_the_closest_name() {
    let bare = parse::<Target>(r#""leader""#).unwrap_err();
    assert!(
        bare.starts_with("\"leader\" needs its argument, as in { leader = 0 }"),
        "{bare}"
    );
    let typo = parse::<Target>(r#"{"brokr":1}"#).unwrap_err();
    assert!(
        typo.starts_with("unknown target `brokr`; did you mean `broker`?"),
        "{typo}"
    );
    let number = parse::<Target>("3").unwrap_err();
    assert!(
        number.starts_with("3 is not a target; allowed: { broker = 1 }"),
        "{number}"
    );
    let negative = parse::<Target>(r#"{"broker":-1}"#).unwrap_err();
    assert!(
        negative.starts_with("a broker is a whole number from 0, not -1"),
        "{negative}"
    );
}

#[test]
fn a_transaction_coordinator_target_names_a_transactional_id() {
    let bare = parse::<Target>(r#""transaction-coordinator""#).unwrap_err();
    assert!(
        bare.starts_with(
            "\"transaction-coordinator\" needs its argument, as in \
             { transaction-coordinator = \"transactional-id\" }"
        ),
        "{bare}"
    );
    let number = parse::<Target>(r#"{"transaction-coordinator":3}"#).unwrap_err();
    assert!(
        number.starts_with(
            "transaction-coordinator names a transactional id, as in \
             { transaction-coordinator = \"payments\" }, not 3"
        ),
        "{number}"
    );
}

#[test]
fn a_partition_is_an_index_or_a_topic_and_an_index() {
    assert_eq!(
        parse::<PartitionRef>("2").unwrap(),
        PartitionRef::Index(PartitionId(2))
    );
    let named: PartitionRef = parse(r#"{"topic":"orders","partition":1}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&named).unwrap(),
        r#"{"topic":"orders","partition":1}"#
    );
    let error = parse::<PartitionRef>(r#""p0""#).unwrap_err();
    assert!(
        error.contains("allowed: 0 (an index into the first topic)"),
        "{error}"
    );
    let error = parse::<PartitionRef>(r#"{"topic":"orders","partiton":1}"#).unwrap_err();
    assert!(error.contains("did you mean `partition`?"), "{error}");
}

#[test]
fn swarm_kinds_take_the_scripted_names_and_keep_the_old_ones_as_aliases() {
    for (new, old, kind) in [
        ("partition-away", "partition", FaultKind::Partition),
        ("cut-one-way", "one-way-cut", FaultKind::OneWayCut),
        ("slow-links", "slow-follower", FaultKind::SlowFollower),
    ] {
        assert_eq!(parse::<FaultKind>(&format!("\"{new}\"")).unwrap(), kind);
        assert_eq!(parse::<FaultKind>(&format!("\"{old}\"")).unwrap(), kind);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{new}\""));
        assert_eq!(kind.name(), new);
    }
    for kind in FaultKind::ALL {
        let written = serde_json::to_string(&kind).unwrap();
        assert_eq!(parse::<FaultKind>(&written).unwrap(), kind);
    }
    let error = parse::<FaultKind>(r#""crsh""#).unwrap_err();
    assert!(error.contains("did you mean `crash`?"), "{error}");
}

#[test]
fn a_flush_policy_is_every_n_or_never() {
    assert_eq!(
        parse::<FlushPolicy>(r#"{"every":3}"#).unwrap(),
        FlushPolicy::Every(3)
    );
    assert_eq!(
        parse::<FlushPolicy>(r#""never""#).unwrap(),
        FlushPolicy::Never
    );
    let error = parse::<FlushPolicy>(r#""every""#).unwrap_err();
    assert!(
        error.contains("allowed: { every = N } or \"never\""),
        "{error}"
    );
}
