use super::*;
use crate::cli::test_support::report;
use watermark_sim::documented_guarantees::documented_row;

/// The documentation of the safe settings: no loss, no duplicates, in order.
fn safe() -> Documented {
    documented_for(&GuaranteeSettings {
        acks_all: true,
        min_insync_replicas: 2,
        idempotent_producer: true,
        eligible_leader_replicas: true,
        ..GuaranteeSettings::default()
    })
}

fn duplicated(seed: u64) -> RunReport {
    let mut run = report(seed, vec![], &["duplicate"]);
    run.observed = Guarantee::AtLeastOnce;
    run
}

#[test]
fn a_duplicate_the_documentation_forbids_is_weaker_from_its_first_seed() {
    let runs = vec![report(0, vec![], &[]), duplicated(4), duplicated(2)];
    let judgement = judge(&runs, &vec![safe(); 3]);
    assert_eq!(judgement.agreement, Agreement::Weaker);
    assert_eq!(judgement.weaker, vec![Aspect::Duplication]);
    assert_eq!(judgement.first_seed, Some(2));
    assert_eq!(judgement.weaker_seeds, vec![2, 4]);
    assert_eq!(judgement.duplicated, 2);
    assert_eq!(judgement.observed, Some(Guarantee::AtLeastOnce));
}

#[test]
fn a_duplicate_through_kafka_14034_is_the_known_kafka_bug() {
    let mut run = duplicated(3);
    run.marks.insert(Mark::ProducerRenumberedSentBatches, 1);
    let judgement = judge(&[run], &[safe()]);
    assert_eq!(judgement.agreement, Agreement::KnownKafkaBug);
    assert_eq!(judgement.known_kafka_bug, vec![Aspect::Duplication]);
    assert_eq!(judgement.first_seed, Some(3));
}

#[test]
fn a_documented_weakness_no_seed_showed_is_stronger() {
    let acks_one = documented_row_alone(documented_row("acks-1").unwrap());
    let judgement = judge(&[report(0, vec![], &[])], &[acks_one]);
    assert_eq!(judgement.agreement, Agreement::Stronger);
    assert_eq!(judgement.stronger, vec![Aspect::Loss]);
    assert_eq!(judgement.first_seed, None);
}

#[test]
fn a_panic_outranks_everything_and_its_verdict_is_not_counted() {
    let panicked = report(
        5,
        vec![watermark_sim::failure::Failure::Panic("boom".to_string())],
        &[],
    );
    let judgement = judge(&[panicked, duplicated(1)], &[safe(), safe()]);
    assert_eq!(judgement.agreement, Agreement::Panicked);
    assert_eq!(judgement.first_seed, Some(5));
    assert_eq!(judgement.panicked, 1);
}

#[test]
fn a_grid_fails_only_on_weaker_and_the_documented_table_on_stronger_too() {
    let stronger = [Agreement::Agrees, Agreement::Stronger];
    assert_eq!(exit_for(stronger.into_iter(), false), Exit::Met);
    assert_eq!(exit_for(stronger.into_iter(), true), Exit::NotMet);
    let explained = [
        Agreement::KnownKafkaBug,
        Agreement::ReleaseBug,
        Agreement::Refused,
    ];
    assert_eq!(exit_for(explained.into_iter(), true), Exit::Met);
    let broken = [Agreement::Weaker, Agreement::Panicked];
    assert_eq!(exit_for(broken.into_iter(), false), Exit::Panicked);
    assert_eq!(
        exit_for([Agreement::Weaker].into_iter(), false),
        Exit::NotMet
    );
}

#[test]
fn the_grid_is_every_combination_with_the_first_axis_slowest() {
    let lists = vec![
        Axis::Acks.parse_list("0,all").unwrap(),
        Axis::Unclean.parse_list("off,on").unwrap(),
    ];
    let cells: Vec<String> = product(&lists)
        .iter()
        .map(|cell| {
            cell.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        cells,
        [
            "acks=0 unclean=off",
            "acks=0 unclean=on",
            "acks=all unclean=off",
            "acks=all unclean=on"
        ]
    );
}

#[test]
fn the_weakest_guarantee_keeps_every_anomaly() {
    assert_eq!(
        weakest(Guarantee::AtLeastOnce, Guarantee::AtMostOnce),
        Guarantee::None
    );
    assert_eq!(
        weakest(Guarantee::ExactlyOnce, Guarantee::AtLeastOnce),
        Guarantee::AtLeastOnce
    );
}
