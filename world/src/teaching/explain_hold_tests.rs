use super::*;

fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

#[test]
fn a_lagging_isr_member_holds_the_high_watermark_with_its_numbers() {
    let hold = HighWatermarkHold::Replicas {
        holding: vec![FollowerProgress {
            broker: b(3),
            log_end_offset: Some(Offset(40)),
            last_caught_up_time_ms: Some(2_961),
        }],
        joining: Vec::new(),
        replica_lag_time_max_ms: 10_000,
    };
    assert_eq!(
        held_sentence(b(1), Offset(40), &hold, 6_461),
        "b3's log end offset is 40 and b3 is in the ISR: it last caught up at 2.961 s, 3.5 s \
         ago (`replica_lag_time_max_ms` is 10,000)"
    );
}

#[test]
fn a_joining_replica_and_an_unknown_one_say_so() {
    let hold = HighWatermarkHold::Replicas {
        holding: vec![
            FollowerProgress {
                broker: b(2),
                log_end_offset: None,
                last_caught_up_time_ms: None,
            },
            FollowerProgress {
                broker: b(3),
                log_end_offset: Some(Offset(7)),
                last_caught_up_time_ms: Some(1_000),
            },
        ],
        joining: vec![b(3)],
        replica_lag_time_max_ms: 30_000,
    };
    let sentence = held_sentence(b(1), Offset(7), &hold, 2_000);
    assert!(
        sentence.starts_with("b2 has not fetched from this leader"),
        "{sentence}"
    );
    assert!(sentence.contains("it has not caught up in this leadership; b3's log end offset is 7 and b3 is caught up and about to rejoin the ISR, so it counts"), "{sentence}");
}

#[test]
fn an_isr_below_min_insync_replicas_holds_it_whatever_the_log_end_offsets() {
    let hold = HighWatermarkHold::UnderMinIsr {
        isr: vec![b(1)],
        min_insync_replicas: 2,
        would_be: Offset(45),
    };
    assert_eq!(
        held_sentence(b(1), Offset(40), &hold, 0),
        "the ISR {1} has 1 member, fewer than min.insync.replicas 2, so nothing becomes \
         committed (KAFKA-15583); the log end offsets of b1 and its ISR alone would put it at 45"
    );
}
