//! How the producer picks a partition for a record (Kafka's `Partitioner`,
//! `BuiltInPartitioner` and `RoundRobinPartitioner`).
//!
//! The key hash is Kafka's own: `murmur2` (`org.apache.kafka.common.utils.Utils.murmur2`,
//! seed `0x9747b28c`) of the key's serialized bytes, made positive with `& 0x7fffffff`, modulo
//! the partition count. A `u64` key is serialized as Kafka's `LongSerializer` does: eight
//! big-endian bytes. So a key lands on the partition a real Kafka producer would choose, on
//! every machine and every run (no `RandomState`).
//!
//! Records without a key, under `KeyHash`, go round-robin. Kafka since 2.4 uses the *sticky*
//! partitioner for them instead (KIP-480); round-robin is what PROTOCOL.md asks for and makes
//! the spread of records independent of batching.

use crate::config::Partitioner as PartitionerConfig;
use crate::ids::PartitionId;

/// Picks partitions; keeps the round-robin counter.
#[derive(Clone, Debug)]
pub struct Partitioner {
    config: PartitionerConfig,
    partition_count: u32,
    next_round_robin: u32,
}

impl Partitioner {
    pub fn new(config: PartitionerConfig, partition_count: u32) -> Partitioner {
        Partitioner {
            config,
            // A topic has at least one partition; zero would make every modulo divide by zero.
            partition_count: partition_count.max(1),
            next_round_robin: 0,
        }
    }

    /// The partition for the next record with this key.
    pub fn partition(&mut self, key: Option<u64>) -> PartitionId {
        match (self.config, key) {
            (PartitionerConfig::Explicit(partition), _) => partition,
            (PartitionerConfig::KeyHash, Some(key)) => partition_for_key(key, self.partition_count),
            (PartitionerConfig::KeyHash, None) | (PartitionerConfig::RoundRobin, _) => {
                let partition = PartitionId(self.next_round_robin % self.partition_count);
                self.next_round_robin = (self.next_round_robin + 1) % self.partition_count;
                partition
            }
        }
    }
}

/// Kafka's `BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key bytes)) % count`.
pub fn partition_for_key(key: u64, partition_count: u32) -> PartitionId {
    let hash = murmur2(&key.to_be_bytes()) & 0x7fff_ffff;
    PartitionId(hash % partition_count.max(1))
}

/// MurmurHash2, 32-bit, exactly as Kafka's `Utils.murmur2` computes it (Java's signed `int`
/// arithmetic is wrapping `u32` arithmetic here; `>>>` is a logical shift).
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    // Java takes `int length`; keys here are 8 bytes, so the cast never truncates.
    let mut h = SEED ^ (length as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors generated with Kafka's `Utils.murmur2` in Java (published with kafkajs's
    /// Java-compatible partitioner, `defaultJava/murmur2.spec.js`), as Java's signed ints.
    #[test]
    fn murmur2_matches_kafka_test_vectors() {
        let vectors: [(&str, i32); 5] = [
            ("0", 971_027_396),
            ("1", -1_993_445_489),
            ("128", -326_012_175),
            ("2187", -1_508_407_203),
            ("10000000", -1_830_336_757),
        ];
        for (input, expected) in vectors {
            assert_eq!(
                murmur2(input.as_bytes()) as i32,
                expected,
                "murmur2({input:?})"
            );
        }
    }

    #[test]
    fn partition_for_key_is_pinned_to_kafka_murmur2() {
        let mut partitioner = Partitioner::new(PartitionerConfig::KeyHash, 3);
        let first: Vec<PartitionId> = (0..8).map(|key| partitioner.partition(Some(key))).collect();
        let second: Vec<PartitionId> = (0..8).map(|key| partitioner.partition(Some(key))).collect();
        assert_eq!(first, second);
        // Pinned: a change of hash would silently move every keyed workload.
        assert_eq!(
            first,
            (0..8)
                .map(|key| partition_for_key(key, 3))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            first
                .iter()
                .map(|partition| partition.0)
                .collect::<Vec<_>>(),
            PINNED_KEY_PARTITIONS.to_vec()
        );
    }

    const PINNED_KEY_PARTITIONS: [u32; 8] = [2, 0, 0, 1, 0, 1, 1, 2];

    #[test]
    fn records_without_key_go_round_robin() {
        let mut partitioner = Partitioner::new(PartitionerConfig::KeyHash, 3);
        let partitions: Vec<u32> = (0..4).map(|_| partitioner.partition(None).0).collect();
        assert_eq!(partitions, vec![0, 1, 2, 0]);
        let mut explicit = Partitioner::new(PartitionerConfig::Explicit(PartitionId(2)), 3);
        assert_eq!(explicit.partition(Some(5)), PartitionId(2));
    }
}
