//! The rule for records a DeleteRecords removed (docs/DECISIONS.md): below the offset a
//! partition was deleted to, an acknowledged or polled value is not lost (`final-log-loss`,
//! `lost-write`), not owed to a consumer (`unseen`), and a consumer that jumped over the
//! deleted records did not skip (`poll-skip`). Above it every checker judges as before.

use crate::checkers::check_history;
use crate::checkers::test_support::*;
use crate::checkers::FinalState;
use crate::verdict::{observed_guarantee, Guarantee};

/// Values 1..=4 acknowledged at offsets 0..=3 of partition 0; a consumer read 1, then (told
/// OFFSET_OUT_OF_RANGE after records below 3 were deleted) 4 at offset 3; the final log
/// holds only offset 3.
fn deleted_below_3() -> (HistoryBuilder, FinalState) {
    let mut history = HistoryBuilder::new();
    for value in 1..=4 {
        history.send_ok(0, 0, value, Some(value - 1), 10 * value);
    }
    history.poll(1, 0, &[(0, 1)], 50);
    history.poll(1, 0, &[(3, 4)], 60);
    let final_state = final_logs(&[(0, &[(3, 4)])]);
    (history, final_state)
}

#[test]
fn without_the_deletion_the_missing_values_are_lost_unseen_and_skipped() {
    let (history, final_state) = deleted_below_3();
    let violations = check_history(&history.build(), &final_state);
    assert_eq!(
        checkers_reporting(&violations),
        vec!["lost-write", "unseen", "poll-skip", "final-log-loss"]
    );
}

#[test]
fn records_deleted_on_purpose_are_neither_lost_nor_unseen_nor_skipped() {
    let (history, mut final_state) = deleted_below_3();
    final_state.log_start_offsets.insert(p(0), o(3));
    let violations = check_history(&history.build(), &final_state);
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(observed_guarantee(&violations), Guarantee::ExactlyOnce);
}

#[test]
fn a_value_above_the_deleted_offset_is_still_judged() {
    let (mut history, mut final_state) = deleted_below_3();
    // Value 5 acknowledged at offset 4, above the deletion, is missing from the final log
    // and nobody read it.
    history.send_ok(0, 0, 5, Some(4), 70);
    final_state.log_start_offsets.insert(p(0), o(3));
    let violations = check_history(&history.build(), &final_state);
    assert_eq!(
        checkers_reporting(&violations),
        vec!["unseen", "final-log-loss"]
    );
    assert!(violations
        .iter()
        .all(|violation| violation.values == vec![5]));
}

#[test]
fn a_jump_past_the_deleted_offset_is_still_a_skip() {
    let mut history = HistoryBuilder::new();
    for value in 1..=5 {
        history.send_ok(0, 0, value, Some(value - 1), 10 * value);
    }
    history.poll(1, 0, &[(0, 1)], 60);
    // Deleted below 2, but the consumer's next record is at 4: offsets 2 and 3 were skipped.
    history.poll(1, 0, &[(4, 5)], 70);
    history.poll(2, 0, &[(2, 3), (3, 4), (4, 5)], 80);
    let mut final_state = final_logs(&[(0, &[(2, 3), (3, 4), (4, 5)])]);
    final_state.log_start_offsets.insert(p(0), o(2));
    let violations = check_history(&history.build(), &final_state);
    assert_eq!(checkers_reporting(&violations), vec!["poll-skip"]);
}
