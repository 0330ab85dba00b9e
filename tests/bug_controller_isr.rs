//! The controller's ISR eligibility checks, and the switches that take them away again:
//! `isr-accepts-fenced-replicas` (before KIP-841, Kafka 3.3) and
//! `isr-accepts-stale-broker-epoch` (before KIP-903, Kafka 3.5).
//!
//! Both demonstrations tell KAFKA-14139's story (`scenarios/src/catalogue_controller_bugs.rs`).
//! Broker 2 pauses and leaves the ISR {1,2,3}; from then on the controller handles the
//! leader's AlterPartitions 13 s after reading them. Broker 2 resumes and catches up, and
//! the leader proposes adding it back; a second later broker 2 loses power with nothing
//! fsynced (its log is gone) and is cut off from the leader. Its session ends and the
//! controller fences it.
//!
//! - `fenced-replica-joins-isr-loses-committed` (eligible leader replicas off): broker 2
//!   stays down, so the controller handles the proposal while broker 2 is fenced. Without
//!   KIP-841 it accepts; broker 2 comes back empty, still in the ISR, and is elected when
//!   the crashed leader's session ends.
//! - `stale-broker-epoch-joins-isr-loses-committed` (Kafka 4.1's defaults): broker 2
//!   restarts at once and registers again with a new broker epoch before the controller
//!   handles the proposal, which names it with the old one. Without KIP-903 the controller
//!   cannot tell and accepts; the empty broker 2 is an ISR member (`StrongIsr` fires at
//!   that moment) and is elected when the crashed leader's session ends.
//!
//! Either way broker 3 truncates to the empty new leader: every committed record is lost
//! (`NoCommittedRecordLost`, `final-log-loss`). With the checks (the default) the
//! controller answers INELIGIBLE_REPLICA, broker 3 is elected, and the same seeds are clean.

mod common;

use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::mark::Mark;
use watermark_scenarios::find;
use watermark_sim::checkers::Checker;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::sweep;

const FENCED: &str = "fenced-replica-joins-isr-loses-committed";
const STALE: &str = "stale-broker-epoch-joins-isr-loses-committed";

/// The scenario on the seeds, with its own switch (`with_switch`) or with none.
fn run(name: &str, seeds: std::ops::Range<u64>, with_switch: bool) -> Vec<RunReport> {
    let mut scenario = find(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"));
    if !with_switch {
        scenario.bugs = Default::default();
    }
    sweep(
        &scenario,
        &common::seeds(seeds),
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

fn fired(report: &RunReport, checker: Checker) -> bool {
    report
        .violations
        .iter()
        .any(|violation| violation.checker == checker)
}

/// Every seed meets the demonstration's expectation: its anomalies and marks, among them
/// the mark of the switch's path.
fn assert_demonstrates(name: &str, switch_mark: Mark) {
    let scenario = find(name).unwrap();
    for report in run(name, 0..8, true) {
        assert!(report.passed, "{}", common::explain(&report));
        for anomaly in &scenario.expect.anomalies {
            assert!(
                fired(&report, *anomaly),
                "{anomaly}: {}",
                common::explain(&report)
            );
        }
        for mark in &scenario.expect.marks {
            assert!(
                report.marks.contains_key(mark),
                "{mark}: seed {}",
                report.seed
            );
        }
        assert!(report.marks.contains_key(&switch_mark));
    }
}

/// The same faults without the switch: no violation at all, and the controller refused the
/// held proposal.
fn assert_clean_without_the_switch(name: &str, switch_mark: Mark) {
    for report in run(name, 0..8, false) {
        assert!(
            report.violations.is_empty(),
            "{name} without its switch:\n{}",
            common::explain(&report)
        );
        assert!(
            report.marks.contains_key(&Mark::AlterPartitionRejected),
            "seed {}",
            report.seed
        );
        assert!(
            !report.marks.contains_key(&switch_mark),
            "seed {}",
            report.seed
        );
    }
}

/// Seed 0, pinned: with `isr-accepts-fenced-replicas` the controller accepts the fenced
/// broker 2 into the ISR; it returns empty, is elected cleanly at 29 s, and the 130
/// committed records (offsets 0..129) are gone from the final log.
#[test]
fn a_fenced_replica_accepted_into_the_isr_is_elected_empty_on_a_pinned_seed() {
    let mut scenario = find(FENCED).unwrap();
    assert_eq!(
        scenario.bugs.enabled(),
        vec![BugSwitch::IsrAcceptsFencedReplicas]
    );
    let report = &sweep(&scenario, &[0], 1, RunOptions::default(), |_| {})[0];
    assert!(report.marks.contains_key(&Mark::IsrAcceptedFencedReplica));
    assert!(
        fired(report, Checker::NoCommittedRecordLost),
        "{}",
        common::explain(report)
    );
    assert!(
        fired(report, Checker::FinalLogLoss),
        "{}",
        common::explain(report)
    );
    scenario.bugs = Default::default();
    let report = &sweep(&scenario, &[0], 1, RunOptions::default(), |_| {})[0];
    assert!(report.violations.is_empty(), "{}", common::explain(report));
}

/// Seed 0, pinned: with `isr-accepts-stale-broker-epoch` the controller accepts broker 2's
/// new, empty incarnation into the ISR on its old one's fetches (`StrongIsr` at once), it is
/// elected cleanly, and the committed records are gone from the final log.
#[test]
fn a_replica_named_with_a_stale_broker_epoch_joins_the_isr_empty_on_a_pinned_seed() {
    let mut scenario = find(STALE).unwrap();
    assert_eq!(
        scenario.bugs.enabled(),
        vec![BugSwitch::IsrAcceptsStaleBrokerEpoch]
    );
    let report = &sweep(&scenario, &[0], 1, RunOptions::default(), |_| {})[0];
    assert!(report
        .marks
        .contains_key(&Mark::IsrAcceptedStaleBrokerEpoch));
    for checker in [
        Checker::StrongIsr,
        Checker::NoCommittedRecordLost,
        Checker::FinalLogLoss,
    ] {
        assert!(
            fired(report, checker),
            "{checker}: {}",
            common::explain(report)
        );
    }
    scenario.bugs = Default::default();
    let report = &sweep(&scenario, &[0], 1, RunOptions::default(), |_| {})[0];
    assert!(report.violations.is_empty(), "{}", common::explain(report));
}

/// Seeds 0..8.
#[test]
fn without_kip_841_the_fenced_replica_joins_the_isr_and_committed_records_are_lost() {
    assert_demonstrates(FENCED, Mark::IsrAcceptedFencedReplica);
}

#[test]
fn with_kip_841_the_controller_refuses_the_fenced_replica_and_nothing_is_lost() {
    assert_clean_without_the_switch(FENCED, Mark::IsrAcceptedFencedReplica);
}

/// Seeds 0..8.
#[test]
fn without_kip_903_the_new_incarnation_joins_the_isr_and_committed_records_are_lost() {
    assert_demonstrates(STALE, Mark::IsrAcceptedStaleBrokerEpoch);
}

#[test]
fn with_kip_903_the_controller_refuses_the_stale_broker_epoch_and_nothing_is_lost() {
    assert_clean_without_the_switch(STALE, Mark::IsrAcceptedStaleBrokerEpoch);
}

/// The stale-epoch story needs KIP-903's check: without KIP-841's alone it stays clean,
/// since broker 2 is registered and unfenced when the controller handles the proposal.
#[test]
fn the_stale_epoch_story_is_clean_with_only_kip_841_undone() {
    let mut scenario = find(STALE).unwrap();
    scenario.bugs = Default::default();
    scenario.bugs.enable(BugSwitch::IsrAcceptsFencedReplicas);
    for report in sweep(&scenario, &[0, 1], 1, RunOptions::default(), |_| {}) {
        assert!(report.violations.is_empty(), "{}", common::explain(&report));
        assert!(!report.marks.contains_key(&Mark::IsrAcceptedFencedReplica));
    }
}

/// KIP-841 alone does not save the fenced-replica story: the leader sent its proposal again
/// every two seconds while it waited for an answer, and the controller, holding those
/// copies too, handles the later ones after broker 2 has registered again. They name broker
/// 2 with its old incarnation's epoch; without KIP-903 the controller accepts one, and the
/// empty broker 2 is elected as before (Kafka 3.3 and 3.4 had this hole: KIP-903 closed it
/// in 3.5).
#[test]
fn without_kip_903_a_late_retry_of_the_same_proposal_lets_the_new_incarnation_in() {
    let mut scenario = find(FENCED).unwrap();
    scenario.bugs = Default::default();
    scenario.bugs.enable(BugSwitch::IsrAcceptsStaleBrokerEpoch);
    for report in sweep(&scenario, &[0, 1], 1, RunOptions::default(), |_| {}) {
        assert!(report
            .marks
            .contains_key(&Mark::IsrAcceptedStaleBrokerEpoch));
        assert!(!report.marks.contains_key(&Mark::IsrAcceptedFencedReplica));
        assert!(
            fired(&report, Checker::NoCommittedRecordLost),
            "{}",
            common::explain(&report)
        );
    }
}
