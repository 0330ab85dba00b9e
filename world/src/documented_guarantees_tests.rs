use super::*;

fn safe_settings() -> GuaranteeSettings {
    GuaranteeSettings {
        acks_all: true,
        min_insync_replicas: 2,
        idempotent_producer: true,
        eligible_leader_replicas: true,
        ..GuaranteeSettings::default()
    }
}

#[test]
fn every_row_has_a_scenario_a_source_and_a_unique_id() {
    for (index, row) in DOCUMENTED_ROWS.iter().enumerate() {
        assert!(!row.scenarios.is_empty(), "{}", row.id);
        assert!(!row.source.is_empty(), "{}", row.id);
        assert!(
            DOCUMENTED_ROWS[..index]
                .iter()
                .all(|other| other.id != row.id),
            "{} twice",
            row.id
        );
        assert!(
            row.speaks_to
                .iter()
                .all(|aspect| *aspect != Aspect::Reordering),
            "{}: order is the `reordering` field",
            row.id
        );
    }
    let design_rows = DOCUMENTED_ROWS
        .iter()
        .filter(|row| row.in_design_table)
        .count();
    assert_eq!(design_rows, 13);
}

#[test]
fn the_safe_settings_promise_exactly_once_in_order() {
    let documented = documented_for(&safe_settings());
    assert_eq!(
        documented.rows,
        vec!["acks-all-min-insync-n", "idempotence", "elr-on"]
    );
    assert_eq!(documented.guarantee(), Guarantee::ExactlyOnce);
    assert_eq!(documented.reordering, Some(Promise::Forbids));
}

#[test]
fn a_row_that_allows_an_anomaly_outranks_one_that_forbids_it() {
    let settings = GuaranteeSettings {
        unclean_leader_election_enable: true,
        ..safe_settings()
    };
    let documented = documented_for(&settings);
    assert!(documented.rows.contains(&"unclean-election"));
    assert!(documented.rows.contains(&"acks-all-min-insync-n"));
    assert_eq!(documented.loss, Some(Promise::Allows));
    assert_eq!(documented.guarantee(), Guarantee::AtMostOnce);
}

#[test]
fn acks_zero_speaks_to_both_loss_and_duplication() {
    let settings = GuaranteeSettings {
        acks_none: true,
        ..GuaranteeSettings::default()
    };
    let documented = documented_for(&settings);
    assert_eq!(documented.rows, vec!["acks-0"]);
    assert_eq!(documented.loss, Some(Promise::Allows));
    assert_eq!(documented.duplication, Some(Promise::Forbids));
    assert_eq!(documented.guarantee(), Guarantee::AtMostOnce);
}

#[test]
fn an_aspect_no_row_speaks_to_is_not_promised() {
    let settings = GuaranteeSettings {
        acks_leader: true,
        ..GuaranteeSettings::default()
    };
    let documented = documented_for(&settings);
    assert_eq!(documented.duplication, None);
    assert_eq!(documented.guarantee(), Guarantee::None);
}

#[test]
fn merging_seeds_keeps_every_row_in_table_order() {
    let mut merged = documented_for(&safe_settings());
    merged.merge(&documented_for(&GuaranteeSettings {
        idempotent_producer: false,
        retries_without_idempotence: true,
        ..safe_settings()
    }));
    assert_eq!(
        merged.rows,
        vec![
            "acks-all-min-insync-n",
            "retries-no-idempotence",
            "idempotence",
            "elr-on"
        ]
    );
    assert_eq!(merged.duplication, Some(Promise::Allows));
    assert_eq!(merged.reordering, Some(Promise::Allows));
}

#[test]
fn reordering_is_the_producer_order_checker() {
    assert!(showed(
        Aspect::Reordering,
        Guarantee::ExactlyOnce,
        &[Checker::NonmonotonicSend]
    ));
    assert!(!showed(
        Aspect::Reordering,
        Guarantee::ExactlyOnce,
        &[Checker::PollSkip]
    ));
    assert!(showed(Aspect::Loss, Guarantee::None, &[]));
    assert!(!showed(Aspect::Duplication, Guarantee::AtMostOnce, &[]));
}
