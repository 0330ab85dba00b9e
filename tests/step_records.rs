//! The run's record: every message a step sends has an id that pairs it with exactly one
//! delivery or one drop (with its reason), timers that fire are named, nemesis actions and
//! findings are typed records, and the same seed gives the same records.

use std::collections::{BTreeMap, BTreeSet};
use watermark::scenarios::find;
use watermark::sim::runner::{run, RunOptions, RunReport};
use watermark::sim::step_record::{NemesisAction, Record, SendOutcome, StepInput};
use watermark::sim::trace::TraceMode;

fn recorded(scenario: &str, seed: u64) -> RunReport {
    let scenario = find(scenario).expect("a catalogue scenario");
    run(
        &scenario,
        seed,
        RunOptions {
            trace_mode: TraceMode::HashOnly,
            keep_records: true,
        },
    )
}

#[test]
fn every_sent_message_is_delivered_or_dropped_exactly_once() {
    let report = recorded("acks1-leader-crash-loses-acked-write", 7);
    assert!(!report.records.is_empty());
    let mut in_flight = BTreeMap::new();
    let mut ends = BTreeSet::new();
    let mut delivered = 0;
    let mut dropped_later = 0;
    for record in &report.records {
        match record {
            Record::Step(step) => {
                if let StepInput::Message { id, from, .. } = step.input {
                    let (sender, receiver) =
                        in_flight.remove(&id).expect("delivered after its send");
                    assert_eq!((sender, receiver), (from, step.node));
                    assert!(ends.insert(id), "{id} delivered twice");
                    delivered += 1;
                }
                for sent in &step.sent {
                    match sent.outcome {
                        SendOutcome::InFlight { delivery_ms } => {
                            assert!(delivery_ms > step.time_ms);
                            in_flight.insert(sent.id, (step.node, sent.to));
                        }
                        SendOutcome::Dropped { .. } => assert!(ends.insert(sent.id)),
                    }
                }
            }
            Record::Dropped { id, from, to, .. } => {
                assert_eq!(
                    in_flight.remove(id),
                    Some((*from, *to)),
                    "{id} dropped in flight"
                );
                assert!(ends.insert(*id));
                dropped_later += 1;
            }
            Record::Nemesis { .. } | Record::Finding { .. } => {}
        }
    }
    assert!(delivered > 100, "{delivered}");
    assert!(
        dropped_later > 0,
        "the cut and the crash drop messages in flight"
    );
    assert_eq!(
        report.counters.messages_dropped,
        report.counters.messages_sent - report.counters.messages_delivered - in_flight.len() as u64
    );
}

#[test]
fn timers_nemesis_actions_and_findings_are_named_in_the_record() {
    let report = recorded("acks1-leader-crash-loses-acked-write", 7);
    let fired: BTreeSet<String> = report
        .records
        .iter()
        .filter_map(|record| match record {
            Record::Step(step) => match &step.input {
                StepInput::Timers { fired } => Some(fired.iter().map(ToString::to_string)),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .collect();
    for timer in [
        "controller-contact",
        "isr-shrink-check",
        "high-watermark-checkpoint",
    ] {
        assert!(fired.contains(timer), "{timer} never fired: {fired:?}");
    }
    let actions: Vec<&NemesisAction> = report
        .records
        .iter()
        .filter_map(|record| match record {
            Record::Nemesis { action, .. } => Some(action),
            _ => None,
        })
        .collect();
    assert!(actions
        .iter()
        .any(|action| matches!(action, NemesisAction::Crash { .. })));
    assert!(actions
        .iter()
        .any(|action| matches!(action, NemesisAction::TriggerFired { .. })));
    let findings = report
        .records
        .iter()
        .filter(|record| matches!(record, Record::Finding { .. }))
        .count();
    assert_eq!(
        findings,
        report.violations.len(),
        "each finding recorded once"
    );
}

#[test]
fn the_same_seed_gives_the_same_records_and_keeping_them_changes_nothing() {
    let first = recorded("safe-acks-all-swarm", 11);
    let second = recorded("safe-acks-all-swarm", 11);
    let text = |report: &RunReport| serde_json::to_string(&report.records).unwrap();
    assert_eq!(text(&first), text(&second));
    let scenario = find("safe-acks-all-swarm").unwrap();
    let unrecorded = run(&scenario, 11, RunOptions::default());
    assert_eq!(unrecorded.trace_hash, first.trace_hash);
    assert!(unrecorded.records.is_empty());
}
