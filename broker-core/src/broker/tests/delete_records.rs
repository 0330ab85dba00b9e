//! DeleteRecords on a broker (KIP-107): the leader moves its log start offset up to its high
//! watermark and answers it, consumers below it are told OFFSET_OUT_OF_RANGE, the offset is
//! checkpointed and read back on restart, and a follower takes it from a fetch response.

use super::*;
use crate::event::LogStartOffsetReason;
use crate::protocol::{DeleteRecordsOffset, DeleteRecordsRequest, FetchData};
use crate::record::Record;

fn delete(offset: DeleteRecordsOffset) -> DeleteRecordsRequest {
    DeleteRecordsRequest {
        partition: P0,
        offset,
        timeout_ms: 30_000,
    }
}

/// Follower `follower`'s fetch at `offset`, saying its log starts at `log_start_offset`.
fn fetch_with_log_start(follower: u32, offset: u64, log_start_offset: u64) -> Input {
    let Input::Message {
        from,
        message: Message::Fetch(request),
    } = follower_fetch(follower, offset)
    else {
        unreachable!("follower_fetch builds a fetch");
    };
    Input::Message {
        from,
        message: Message::Fetch(FetchRequest {
            log_start_offset: Some(Offset(log_start_offset)),
            ..request
        }),
    }
}

fn answers(effects: &[Effect]) -> Vec<Result<Offset, ErrorCode>> {
    events(effects)
        .into_iter()
        .filter_map(|event| match event {
            Event::DeleteRecordsAnswered { result, .. } => Some(result),
            _ => None,
        })
        .collect()
}

#[test]
fn the_answer_waits_until_every_live_replicas_log_start_offset_reached_the_offset() {
    let (mut broker, _) = leader_with_four_records();
    let (response, effects) =
        broker.handle_delete_records(20, &delete(DeleteRecordsOffset::Before(Offset(3))));
    // Accepted (the leader's start moved), not answered: 2 and 3 are alive and unheard of.
    assert_eq!(response.result, Ok(Offset(3)));
    assert!(answers(&effects).is_empty());
    assert!(marks(&effects).contains(&Mark::DeleteRecordsDelayed));
    let effects = broker.handle(21, fetch_with_log_start(2, 4, 3));
    assert!(answers(&effects).is_empty(), "broker 3 has not fetched");
    let effects = broker.handle(22, fetch_with_log_start(3, 4, 3));
    assert_eq!(answers(&effects), vec![Ok(Offset(3))]);
    assert!(marks(&effects).contains(&Mark::DeleteRecordsLowWatermarkReached));
    // Nothing left to expire.
    assert!(answers(&run_until(&mut broker, 60_000)).is_empty());
}

#[test]
fn a_delete_records_not_reached_in_time_is_answered_request_timed_out() {
    let (mut broker, _) = leader_with_four_records();
    let (response, _) =
        broker.handle_delete_records(20, &delete(DeleteRecordsOffset::Before(Offset(3))));
    assert_eq!(response.result, Ok(Offset(3)));
    let effects = broker.handle(21, fetch_with_log_start(2, 4, 3));
    assert!(answers(&effects).is_empty());
    assert!(answers(&run_until(&mut broker, 20 + 29_999)).is_empty());
    let effects = run_until(&mut broker, 20 + 30_000);
    assert_eq!(answers(&effects), vec![Err(ErrorCode::RequestTimedOut)]);
    assert!(marks(&effects).contains(&Mark::DeleteRecordsTimedOut));
}

#[test]
fn a_replica_whose_broker_is_not_alive_does_not_hold_the_answer_back() {
    let storage = SharedStorage::default();
    let live_one_and_two = MetadataImage {
        live_brokers: brokers(&[1, 2]),
        ..image(1, state(Some(1), 1, &[1, 2], 1))
    };
    let (mut broker, _) = started(1, &storage, BugSwitches::default(), live_one_and_two);
    broker.handle(10, produce(1, Acks::Leader, &[500, 501, 502, 503]));
    broker.handle(11, follower_fetch(2, 4));
    broker.handle_delete_records(20, &delete(DeleteRecordsOffset::Before(Offset(2))));
    let effects = broker.handle(21, fetch_with_log_start(2, 4, 2));
    assert_eq!(answers(&effects), vec![Ok(Offset(2))]);
}

/// Broker 1 leading p0 with broker 2, with records 0..4 committed.
fn leader_with_four_records() -> (Broker, SharedStorage) {
    let (mut broker, storage) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::Leader, &[500, 501, 502, 503]));
    broker.handle(11, follower_fetch(2, 4));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(4));
    (broker, storage)
}

#[test]
fn the_leader_deletes_up_to_its_high_watermark_and_answers_its_log_start_offset() {
    let (mut broker, _) = leader_with_four_records();
    let (response, effects) =
        broker.handle_delete_records(20, &delete(DeleteRecordsOffset::Before(Offset(9))));
    assert_eq!(response.result, Err(ErrorCode::OffsetOutOfRange));
    assert!(marks(&effects).contains(&Mark::DeleteRecordsRefused));
    let (response, effects) =
        broker.handle_delete_records(21, &delete(DeleteRecordsOffset::Before(Offset(2))));
    assert_eq!(response.result, Ok(Offset(2)));
    let (response, effects_hw) =
        broker.handle_delete_records(22, &delete(DeleteRecordsOffset::HighWatermark));
    assert_eq!(response.result, Ok(Offset(4)));
    assert!(marks(&effects).contains(&Mark::RecordsDeleted));
    assert!(
        events(&effects_hw).contains(&Event::LogStartOffsetIncremented {
            partition: P0,
            from: Offset(2),
            to: Offset(4),
            reason: LogStartOffsetReason::ClientRecordDeletion,
            producers_forgotten: Vec::new(),
        })
    );
    // A consumer below the log start offset is out of range.
    let effects = broker.handle(23, fetch(CONSUMER, None, 1, 1, 0));
    assert_eq!(fetch_data(&effects), vec![Err(ErrorCode::OffsetOutOfRange)]);
}

#[test]
fn a_replica_that_does_not_lead_refuses_delete_records() {
    let storage = SharedStorage::default();
    let (mut broker, _) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let (response, _) =
        broker.handle_delete_records(5, &delete(DeleteRecordsOffset::HighWatermark));
    assert_eq!(response.result, Err(ErrorCode::NotLeaderOrFollower));
}

#[test]
fn the_log_start_offset_is_checkpointed_and_read_back_on_restart() {
    let (mut broker, storage) = leader_with_four_records();
    broker.handle_delete_records(20, &delete(DeleteRecordsOffset::Before(Offset(3))));
    assert!(
        storage.file(LOG_CHECKPOINT).is_empty(),
        "written with the next checkpoint"
    );
    run_until(
        &mut broker,
        20 + config().high_watermark_checkpoint_interval_ms,
    );
    assert_eq!(
        String::from_utf8(storage.file(LOG_CHECKPOINT)).unwrap(),
        format!("0\n1\n{} 0 3\n", P0.topic)
    );
    let (restarted, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    assert_eq!(
        restarted.replica_view(P0).unwrap().log_start_offset,
        Offset(3)
    );
}

#[test]
fn a_broker_whose_logs_were_never_trimmed_writes_no_log_start_checkpoint() {
    let (mut broker, storage) = leader_with_four_records();
    run_until(
        &mut broker,
        20 + config().high_watermark_checkpoint_interval_ms,
    );
    assert!(storage.file(LOG_CHECKPOINT).is_empty());
}

const LOG_CHECKPOINT: &str =
    super::super::log_start_offset_checkpoint::LOG_START_OFFSET_CHECKPOINT_FILE;

#[test]
fn a_follower_takes_the_leaders_log_start_offset_up_to_its_own_high_watermark() {
    let storage = SharedStorage::default();
    let (mut broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let correlation = |effects: &[Effect]| match sends(effects).pop() {
        Some((_, Message::Fetch(request))) => request.correlation,
        other => panic!("expected a fetch, got {other:?}"),
    };
    let records: Vec<Record> = (0..4)
        .map(|offset| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(1),
            value: Some(crate::record::application_bytes(offset)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
            is_transactional: false,
            is_control: false,
        })
        .collect();
    let answer = |correlation, records, high_watermark, log_start_offset| Input::Message {
        from: NodeId::Broker(BrokerId(1)),
        message: Message::FetchResponse(FetchResponse {
            correlation,
            partition: P0,
            result: Ok(FetchData {
                preferred_read_replica: None,
                records,
                high_watermark: Offset(high_watermark),
                log_start_offset: Offset(log_start_offset),
                log_end_offset: Offset(4),
                diverging_epoch: None,
                last_stable_offset: Offset(high_watermark),
                aborted_transactions: Vec::new(),
            }),
        }),
    };
    // The leader's start (3) is past this follower's high watermark (2): kept for later.
    let effects = broker.handle(3, answer(correlation(&effects), records, 2, 3));
    assert_eq!(broker.replica_view(P0).unwrap().log_start_offset, Offset(0));
    let effects = broker.handle(4, answer(correlation(&effects), Vec::new(), 4, 3));
    assert_eq!(broker.replica_view(P0).unwrap().log_start_offset, Offset(3));
    assert!(marks(&effects).contains(&Mark::FollowerLogStartOffsetIncremented));
    assert!(events(&effects).iter().any(|event| matches!(
        event,
        Event::LogStartOffsetIncremented {
            reason: LogStartOffsetReason::LeaderOffsetIncremented,
            ..
        }
    )));
}

/// The one request a follower's step sent to its leader.
fn sent_to_leader(effects: &[Effect]) -> Message {
    match sends(effects).pop() {
        Some((NodeId::Broker(BrokerId(1)), message)) => message,
        other => panic!("expected a request to the leader, got {other:?}"),
    }
}

/// The leader's answer to the follower's ListOffsets `request`.
fn list_offsets_answer(request: &Message, offset: u64) -> Input {
    let Message::ListOffsets(request) = request else {
        panic!("expected ListOffsets, got {request:?}");
    };
    assert_eq!(request.replica, Some(BrokerId(2)));
    Input::Message {
        from: NodeId::Broker(BrokerId(1)),
        message: Message::ListOffsetsResponse(ListOffsetsResponse {
            correlation: request.correlation,
            partition: P0,
            result: Ok(Offset(offset)),
        }),
    }
}

#[test]
fn a_follower_whose_log_ends_below_the_leaders_log_start_starts_again_there() {
    // Broker 2 follows 1 with an empty log; the leader deleted up to 30.
    let storage = SharedStorage::default();
    let (mut broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let Message::Fetch(fetch) = sent_to_leader(&effects) else {
        panic!("expected a fetch");
    };
    assert_eq!(fetch.fetch_offset, Offset(0));
    let effects = broker.handle(
        3,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation: fetch.correlation,
                partition: P0,
                result: Err(ErrorCode::OffsetOutOfRange),
            }),
        },
    );
    // First the leader's log end offset (40), then its log start offset (30).
    let latest = sent_to_leader(&effects);
    assert!(matches!(&latest, Message::ListOffsets(request) if request.spec == OffsetSpec::Latest));
    let effects = broker.handle(4, list_offsets_answer(&latest, 40));
    let earliest = sent_to_leader(&effects);
    assert!(
        matches!(&earliest, Message::ListOffsets(request) if request.spec == OffsetSpec::Earliest)
    );
    let effects = broker.handle(5, list_offsets_answer(&earliest, 30));
    assert!(marks(&effects).contains(&Mark::FollowerTruncatedFully));
    assert!(events(&effects).contains(&Event::LogTruncatedFully {
        partition: P0,
        from_log_end_offset: Offset(0),
        start_offset: Offset(30),
    }));
    let view = broker.replica_view(P0).unwrap();
    assert_eq!(
        (
            view.log_start_offset,
            view.log_end_offset,
            view.high_watermark
        ),
        (Offset(30), Offset(30), Offset(30))
    );
    let Message::Fetch(fetch) = sent_to_leader(&effects) else {
        panic!("expected a fetch");
    };
    assert_eq!(fetch.fetch_offset, Offset(30));
}

#[test]
fn a_follower_longer_than_its_leader_cuts_to_the_leaders_log_end_offset() {
    let storage = SharedStorage::default();
    let (mut broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let Message::Fetch(fetch) = sent_to_leader(&effects) else {
        panic!("expected a fetch");
    };
    let records: Vec<Record> = (0..4)
        .map(|offset| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(1),
            value: Some(crate::record::application_bytes(offset)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
            is_transactional: false,
            is_control: false,
        })
        .collect();
    let effects = broker.handle(
        3,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation: fetch.correlation,
                partition: P0,
                result: Ok(FetchData {
                    preferred_read_replica: None,
                    records,
                    high_watermark: Offset(2),
                    log_start_offset: Offset(0),
                    log_end_offset: Offset(4),
                    diverging_epoch: None,
                    last_stable_offset: Offset(2),
                    aborted_transactions: Vec::new(),
                }),
            }),
        },
    );
    let Message::Fetch(fetch) = sent_to_leader(&effects) else {
        panic!("expected a fetch");
    };
    let effects = broker.handle(
        4,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation: fetch.correlation,
                partition: P0,
                result: Err(ErrorCode::OffsetOutOfRange),
            }),
        },
    );
    let effects = broker.handle(5, list_offsets_answer(&sent_to_leader(&effects), 3));
    assert!(marks(&effects).contains(&Mark::TruncatedToLeaderLogEnd));
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(3));
    assert!(!marks(&effects).contains(&Mark::FollowerTruncatedFully));
}
