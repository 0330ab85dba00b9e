//! The simulated disk. madsim's file system keeps every byte through every crash (see
//! docs/SIMULATOR-NOTES.md, "Disk"), so the simulator owns its own model behind `broker-core`'s `Storage`:
//!
//! - writes land in the page cache and are what the process reads back;
//! - `sync` (fsync) makes a file's current content durable and costs `fsync_latency_ms`,
//!   during which the node is busy (Kafka flushes synchronously in the append path);
//! - a truncation (`ftruncate`, a metadata change) is durable once the file is synced *or*
//!   any other file on the disk is: as on ext4 in its default ordered mode, an fsync commits
//!   the journal transaction, which carries every metadata change made before it. Kafka
//!   relies on this: it cuts a log and then syncs only its leader-epoch checkpoint;
//! - a process crash keeps the page cache, as Linux does;
//! - a power loss keeps only durable bytes, except that an unsynced *append* may survive in
//!   part (a torn write: some of its pages reached the platter), which log recovery must
//!   detect. An unsynced `replace` is lost whole: the rename never became durable.
//!
//! The disk outlives the node process: it is shared between the node's incarnations.

use rand::rngs::StdRng;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use watermark_broker_core::storage::Storage;

/// One file: what the process sees and what would survive a power loss.
#[derive(Clone, Debug, Default)]
struct FileState {
    /// Page cache view: what reads return.
    cached: Vec<u8>,
    /// What is on the platter.
    durable: Vec<u8>,
    /// Bytes of `cached` from this index on may differ from `durable`.
    dirty_from: usize,
    /// The shortest length the file was cut to since its last sync: the truncation the
    /// next journal commit makes durable.
    cut_to: Option<usize>,
}

impl FileState {
    fn sync(&mut self) {
        let dirty_from = self.dirty_from.min(self.cached.len());
        self.durable.truncate(dirty_from);
        self.durable.extend_from_slice(&self.cached[dirty_from..]);
        self.dirty_from = self.cached.len();
        self.cut_to = None;
    }

    /// Another file's fsync committed the journal: a truncation made before it is durable,
    /// whatever was appended after it is not.
    fn commit_cut(&mut self) {
        if let Some(cut_to) = self.cut_to.take() {
            self.durable.truncate(cut_to);
        }
    }

    fn is_dirty(&self) -> bool {
        self.dirty_from < self.cached.len() || self.durable.len() != self.cached.len()
    }
}

/// Counters a run reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub syncs: u64,
    pub bytes_written: u64,
    /// Bytes of page cache that power losses threw away.
    pub bytes_lost_to_power_loss: u64,
    pub torn_writes: u64,
}

#[derive(Debug, Default)]
struct DiskState {
    files: BTreeMap<String, FileState>,
    fsync_latency_ms: u64,
    /// fsyncs done since the shell last asked, so it can charge their latency.
    pending_syncs: u64,
    counters: DiskCounters,
}

/// A node's disk, shared by all its incarnations. Cloning shares the same disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    state: Arc<Mutex<DiskState>>,
}

impl Disk {
    pub fn new(fsync_latency_ms: u64) -> Disk {
        let disk = Disk::default();
        disk.lock().fsync_latency_ms = fsync_latency_ms;
        disk
    }

    fn lock(&self) -> MutexGuard<'_, DiskState> {
        // A poisoned lock means a node panicked mid-write; the run is already a failure and
        // the seed will be reported, so keep going with the data as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A `Storage` handle for a node process.
    pub fn storage(&self) -> Box<dyn Storage> {
        Box::new(DiskStorage { disk: self.clone() })
    }

    pub fn set_fsync_latency_ms(&self, fsync_latency_ms: u64) {
        self.lock().fsync_latency_ms = fsync_latency_ms;
    }

    /// How long the node must stay busy for the fsyncs it did since the last call.
    pub fn take_sync_cost_ms(&self) -> u64 {
        let mut state = self.lock();
        let syncs = std::mem::take(&mut state.pending_syncs);
        if syncs == 0 {
            0
        } else {
            // fsyncs issued in one step run back to back.
            state.fsync_latency_ms.saturating_mul(syncs)
        }
    }

    /// The power goes out: everything not durable is lost; with `torn_writes`, an unsynced
    /// append may leave a random prefix of itself behind.
    pub fn power_loss(&self, random: &mut StdRng, torn_writes: bool) {
        let mut state = self.lock();
        let mut lost_bytes = 0u64;
        let mut torn = 0u64;
        for file in state.files.values_mut() {
            if !file.is_dirty() {
                continue;
            }
            let unsynced_is_pure_append = file.dirty_from >= file.durable.len()
                && file.cached.len() > file.durable.len()
                && file.cached.starts_with(&file.durable);
            let mut survivor = file.durable.clone();
            if unsynced_is_pure_append && torn_writes && random.gen_bool(0.5) {
                let tail = &file.cached[file.durable.len()..];
                let kept = random.gen_range(0..=tail.len());
                survivor.extend_from_slice(&tail[..kept]);
                torn += 1;
            }
            lost_bytes += (file.cached.len().saturating_sub(survivor.len())) as u64;
            file.cached = survivor.clone();
            file.durable = survivor;
            file.dirty_from = file.cached.len();
            file.cut_to = None;
        }
        state.pending_syncs = 0;
        state.counters.bytes_lost_to_power_loss += lost_bytes;
        state.counters.torn_writes += torn;
    }

    pub fn counters(&self) -> DiskCounters {
        self.lock().counters
    }

    /// The file's page-cache content (for tests and inspection).
    pub fn read_cached(&self, file: &str) -> Vec<u8> {
        self.lock()
            .files
            .get(file)
            .map(|state| state.cached.clone())
            .unwrap_or_default()
    }

    /// The file's durable content (for tests and inspection).
    pub fn read_durable(&self, file: &str) -> Vec<u8> {
        self.lock()
            .files
            .get(file)
            .map(|state| state.durable.clone())
            .unwrap_or_default()
    }
}

/// The `Storage` a node process writes through.
struct DiskStorage {
    disk: Disk,
}

impl Storage for DiskStorage {
    fn append(&mut self, file: &str, bytes: &[u8]) {
        let mut state = self.disk.lock();
        state.counters.bytes_written += bytes.len() as u64;
        let entry = state.files.entry(file.to_string()).or_default();
        if !entry.is_dirty() {
            entry.dirty_from = entry.cached.len();
        }
        entry.cached.extend_from_slice(bytes);
    }

    fn truncate(&mut self, file: &str, length_bytes: u64) {
        let mut state = self.disk.lock();
        if let Some(entry) = state.files.get_mut(file) {
            let length_bytes = usize::try_from(length_bytes).unwrap_or(usize::MAX);
            if length_bytes < entry.cached.len() {
                entry.cached.truncate(length_bytes);
                entry.dirty_from = entry.dirty_from.min(length_bytes);
                entry.cut_to = Some(
                    entry
                        .cut_to
                        .map_or(length_bytes, |cut| cut.min(length_bytes)),
                );
            }
        }
    }

    fn replace(&mut self, file: &str, bytes: &[u8]) {
        let mut state = self.disk.lock();
        state.counters.bytes_written += bytes.len() as u64;
        let entry = state.files.entry(file.to_string()).or_default();
        entry.cached = bytes.to_vec();
        entry.dirty_from = 0;
    }

    fn read(&self, file: &str) -> Vec<u8> {
        self.disk.read_cached(file)
    }

    fn sync(&mut self, file: &str) {
        let mut state = self.disk.lock();
        state.pending_syncs += 1;
        state.counters.syncs += 1;
        if let Some(entry) = state.files.get_mut(file) {
            entry.sync();
        }
        for entry in state.files.values_mut() {
            entry.commit_cut();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn crash_keeps_page_cache_but_power_loss_drops_unsynced_bytes() {
        let disk = Disk::new(1);
        let mut storage = disk.storage();
        storage.append("log", b"synced");
        storage.sync("log");
        storage.append("log", b"-unsynced");
        // A process crash: a new process reads through a new handle and sees the cache.
        assert_eq!(disk.storage().read("log"), b"synced-unsynced");
        let mut random = StdRng::seed_from_u64(7);
        disk.power_loss(&mut random, false);
        assert_eq!(disk.storage().read("log"), b"synced");
        assert_eq!(disk.counters().bytes_lost_to_power_loss, 9);
    }

    #[test]
    fn a_cut_is_durable_once_any_file_syncs_but_what_follows_it_is_not() {
        let disk = Disk::new(1);
        let mut storage = disk.storage();
        storage.append("log", b"0123456789");
        storage.sync("log");
        storage.truncate("log", 4);
        let mut random = StdRng::seed_from_u64(7);
        // No sync since the cut: power loss brings the cut bytes back.
        disk.power_loss(&mut random, false);
        assert_eq!(disk.storage().read("log"), b"0123456789");
        storage.truncate("log", 4);
        storage.append("log", b"ab");
        storage.append("checkpoint", b"epoch");
        storage.sync("checkpoint");
        disk.power_loss(&mut random, false);
        assert_eq!(disk.storage().read("log"), b"0123");
        assert_eq!(disk.storage().read("checkpoint"), b"epoch");
    }

    #[test]
    fn power_loss_may_tear_an_unsynced_append_but_keeps_every_synced_byte() {
        let mut torn_seen = false;
        for seed in 0..64 {
            let disk = Disk::new(1);
            let mut storage = disk.storage();
            storage.append("log", b"abc");
            storage.sync("log");
            storage.append("log", b"defghij");
            disk.power_loss(&mut StdRng::seed_from_u64(seed), true);
            let after = disk.storage().read("log");
            assert!(after.starts_with(b"abc"), "seed {seed}: {after:?}");
            assert!(b"abcdefghij".starts_with(&after), "seed {seed}: {after:?}");
            torn_seen |= after.len() > 3 && after.len() < 10;
        }
        assert!(torn_seen, "no seed tore the write");
    }

    #[test]
    fn unsynced_replace_is_lost_whole_on_power_loss() {
        let disk = Disk::new(1);
        let mut storage = disk.storage();
        storage.replace("checkpoint", b"old");
        storage.sync("checkpoint");
        storage.replace("checkpoint", b"new-content");
        disk.power_loss(&mut StdRng::seed_from_u64(1), true);
        assert_eq!(disk.storage().read("checkpoint"), b"old");
    }

    #[test]
    fn truncate_then_sync_makes_the_shorter_file_durable() {
        let disk = Disk::new(1);
        let mut storage = disk.storage();
        storage.append("log", b"0123456789");
        storage.sync("log");
        storage.truncate("log", 4);
        storage.append("log", b"xy");
        storage.sync("log");
        assert_eq!(disk.read_durable("log"), b"0123xy");
        disk.power_loss(&mut StdRng::seed_from_u64(1), true);
        assert_eq!(disk.storage().read("log"), b"0123xy");
    }

    #[test]
    fn unsynced_truncation_is_undone_by_power_loss() {
        let disk = Disk::new(1);
        let mut storage = disk.storage();
        storage.append("log", b"0123456789");
        storage.sync("log");
        storage.truncate("log", 4);
        disk.power_loss(&mut StdRng::seed_from_u64(1), true);
        assert_eq!(disk.storage().read("log"), b"0123456789");
    }

    #[test]
    fn fsync_cost_is_charged_once_per_sync() {
        let disk = Disk::new(5);
        let mut storage = disk.storage();
        storage.append("a", b"1");
        storage.sync("a");
        storage.sync("a");
        assert_eq!(disk.take_sync_cost_ms(), 10);
        assert_eq!(disk.take_sync_cost_ms(), 0);
    }
}
