//! The broker's and controller's view of a disk: named files of bytes. Writes land in the
//! page cache; only `sync` makes them survive a power loss. The simulator supplies a disk
//! model that really loses unsynced bytes; [`MemoryStorage`] is a perfect disk for unit tests.

use std::collections::BTreeMap;

/// A node's disk.
pub trait Storage: Send {
    /// Appends bytes at the end of the file (creating it if absent).
    fn append(&mut self, file: &str, bytes: &[u8]);
    /// Cuts the file to `length_bytes` (no effect if it is already shorter).
    fn truncate(&mut self, file: &str, length_bytes: u64);
    /// Replaces the file's whole content, as write-to-temporary-then-rename does: after a
    /// power loss the file holds either the old content or the new, never a mix.
    fn replace(&mut self, file: &str, bytes: &[u8]);
    /// The file's current content as this process sees it (page cache included); empty if
    /// the file does not exist.
    fn read(&self, file: &str) -> Vec<u8>;
    /// fsync: makes the file's current content durable.
    fn sync(&mut self, file: &str);
}

/// A disk that never loses anything, for unit tests of the state machines.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    pub files: BTreeMap<String, Vec<u8>>,
    /// How many times `sync` was called, per file.
    pub sync_counts: BTreeMap<String, u64>,
}

impl Storage for MemoryStorage {
    fn append(&mut self, file: &str, bytes: &[u8]) {
        self.files
            .entry(file.to_string())
            .or_default()
            .extend_from_slice(bytes);
    }

    fn truncate(&mut self, file: &str, length_bytes: u64) {
        if let Some(content) = self.files.get_mut(file) {
            let length_bytes = usize::try_from(length_bytes).unwrap_or(usize::MAX);
            content.truncate(length_bytes);
        }
    }

    fn replace(&mut self, file: &str, bytes: &[u8]) {
        self.files.insert(file.to_string(), bytes.to_vec());
    }

    fn read(&self, file: &str) -> Vec<u8> {
        self.files.get(file).cloned().unwrap_or_default()
    }

    fn sync(&mut self, file: &str) {
        *self.sync_counts.entry(file.to_string()).or_default() += 1;
    }
}
