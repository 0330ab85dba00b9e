//! The leader's `HighWatermarkHeld` reason event at its periodic ISR check (every half
//! `replica_lag_time_max_ms`, here at 5 s and 10 s): said when a replica has held the high
//! watermark below the log end offset for longer than a fetch in flight, or when the ISR is
//! below min.insync.replicas; silent otherwise.

use super::*;
use crate::reason::HighWatermarkHold;

fn held(effects: &[Effect]) -> Vec<(Offset, Offset, HighWatermarkHold)> {
    events(effects)
        .into_iter()
        .filter_map(|event| match event {
            Event::HighWatermarkHeld {
                high_watermark,
                leader_log_end_offset,
                hold,
                ..
            } => Some((high_watermark, leader_log_end_offset, hold)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_follower_that_never_fetched_holds_the_high_watermark_and_the_check_says_so() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500]));
    // Broker 2 catches up; broker 3 never fetches.
    broker.handle(4_000, follower_fetch(2, 1));
    let found = held(&run_until(&mut broker, 5_000));
    let [(
        high_watermark,
        log_end_offset,
        HighWatermarkHold::Replicas {
            holding, joining, ..
        },
    )] = found.as_slice()
    else {
        panic!("one hold by replicas expected: {found:?}");
    };
    assert_eq!((*high_watermark, *log_end_offset), (Offset(0), Offset(1)));
    assert!(joining.is_empty());
    let [holder] = holding.as_slice() else {
        panic!("broker 3 alone holds it: {holding:?}");
    };
    assert_eq!((holder.broker, holder.log_end_offset), (BrokerId(3), None));
}

#[test]
fn a_caught_up_log_or_a_fetch_in_flight_is_not_a_hold() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    // Nothing past the high watermark at 5 s.
    assert!(held(&run_until(&mut broker, 5_000)).is_empty());
    // Both followers caught up 10 ms before a produce, 15 ms before the check at 10 s: the
    // record is only waiting for the fetches in flight.
    broker.handle(9_985, follower_fetch(2, 0));
    broker.handle(9_985, follower_fetch(3, 0));
    broker.handle(9_995, produce(1, Acks::Leader, &[500]));
    assert!(held(&run_until(&mut broker, 10_000)).is_empty());
}

#[test]
fn an_isr_below_min_insync_replicas_holds_it_with_what_it_would_be() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    shrink_to_leader_alone(&mut broker, 20);
    broker.handle(30, produce(1, Acks::Leader, &[500, 501]));
    let found = held(&run_until(&mut broker, 5_000));
    assert_eq!(
        found,
        vec![(
            Offset(0),
            Offset(2),
            HighWatermarkHold::UnderMinIsr {
                isr: brokers(&[1]),
                min_insync_replicas: 2,
                would_be: Offset(2),
            }
        )]
    );
}
