//! The leader-epoch cache's tests: end offsets per KIP-279, truncation and the checkpoint.
use super::*;
use crate::storage::MemoryStorage;

fn cache_with(storage: &mut MemoryStorage, entries: &[(u32, u64)]) -> LeaderEpochCache {
    let mut cache = LeaderEpochCache::load(TopicPartition::of_default_topic(0), storage);
    for &(epoch, start) in entries {
        cache.assign(storage, LeaderEpoch(epoch), Offset(start));
    }
    cache
}

#[test]
fn end_offset_for_answers_the_largest_epoch_at_or_below_the_request_and_where_it_ends() {
    let mut storage = MemoryStorage::default();
    let cache = cache_with(&mut storage, &[(1, 0), (3, 5), (6, 9)]);
    let log_end_offset = Offset(12);
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(6), log_end_offset),
        Some((LeaderEpoch(6), Offset(12)))
    );
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(5), log_end_offset),
        Some((LeaderEpoch(3), Offset(9)))
    );
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(3), log_end_offset),
        Some((LeaderEpoch(3), Offset(9)))
    );
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(2), log_end_offset),
        Some((LeaderEpoch(1), Offset(5)))
    );
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(0), log_end_offset),
        Some((LeaderEpoch(0), Offset(0)))
    );
    assert_eq!(cache.end_offset_for(LeaderEpoch(7), log_end_offset), None);
}

#[test]
fn assign_keeps_the_cache_monotonic_like_kafka() {
    let mut storage = MemoryStorage::default();
    let mut cache = cache_with(&mut storage, &[(1, 0), (3, 5)]);
    assert!(!cache.assign(&mut storage, LeaderEpoch(3), Offset(7)));
    // A new epoch at the same start offset replaces the empty epoch before it.
    assert!(cache.assign(&mut storage, LeaderEpoch(4), Offset(5)));
    assert_eq!(
        cache.entries(),
        vec![(LeaderEpoch(1), Offset(0)), (LeaderEpoch(4), Offset(5))]
    );
}

#[test]
fn every_change_is_replaced_and_synced_and_survives_a_reload() {
    let mut storage = MemoryStorage::default();
    let mut cache = cache_with(&mut storage, &[(1, 0), (2, 4), (5, 8)]);
    assert!(cache.truncate_from_end(&mut storage, Offset(8)));
    let file = LeaderEpochCache::file_name(TopicPartition::of_default_topic(0));
    assert_eq!(storage.sync_counts[&file], 4);
    assert_eq!(
        LeaderEpochCache::load(TopicPartition::of_default_topic(0), &storage),
        cache
    );
    assert_eq!(cache.latest_epoch(), Some(LeaderEpoch(2)));
}

#[test]
fn truncate_from_start_drops_entries_below_and_moves_the_spanning_one_to_the_new_start() {
    let mut storage = MemoryStorage::default();
    let mut cache = cache_with(&mut storage, &[(1, 0), (3, 5), (6, 9)]);
    // Offset 7 lies in epoch 3 (5..9): epoch 1 goes, epoch 3 now starts at 7.
    assert!(cache.truncate_from_start(&mut storage, Offset(7)));
    assert_eq!(
        cache.entries(),
        vec![(LeaderEpoch(3), Offset(7)), (LeaderEpoch(6), Offset(9))]
    );
    // Exclusive, as Kafka's: an entry starting exactly at the new start stays as it is.
    assert!(!cache.truncate_from_start(&mut storage, Offset(7)));
    assert!(cache.truncate_from_start(&mut storage, Offset(9)));
    assert_eq!(cache.entries(), vec![(LeaderEpoch(6), Offset(9))]);
    // Persisted: a reload sees the trimmed cache.
    let reloaded = LeaderEpochCache::load(TopicPartition::of_default_topic(0), &storage);
    assert_eq!(reloaded, cache);
}

#[test]
fn after_a_trim_an_epoch_older_than_the_cache_ends_at_the_log_start_offset() {
    // Kafka's `endOffsetFor` for an epoch below every entry: that epoch, ending where the
    // first remaining one starts, which after a trim is the log start offset.
    let mut storage = MemoryStorage::default();
    let mut cache = cache_with(&mut storage, &[(1, 0), (3, 5), (6, 9)]);
    cache.truncate_from_start(&mut storage, Offset(7));
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(1), Offset(12)),
        Some((LeaderEpoch(1), Offset(7)))
    );
    assert_eq!(
        cache.end_offset_for(LeaderEpoch(4), Offset(12)),
        Some((LeaderEpoch(3), Offset(9)))
    );
}

#[test]
fn clear_empties_the_cache_and_its_checkpoint() {
    let mut storage = MemoryStorage::default();
    let mut cache = cache_with(&mut storage, &[(1, 0), (3, 5)]);
    assert!(cache.clear(&mut storage));
    assert_eq!(cache.latest_epoch(), None);
    let reloaded = LeaderEpochCache::load(TopicPartition::of_default_topic(0), &storage);
    assert_eq!(reloaded.latest_epoch(), None);
    assert!(!cache.clear(&mut storage));
}
