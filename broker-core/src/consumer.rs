//! Temporary stub with the agreed API; replaced by the clients work.
use crate::actor::{Actor, Effect, Input};
use crate::config::ConsumerConfig;
use crate::ids::{BrokerId, ClientId, Offset, PartitionId};

pub struct Consumer;
impl Consumer {
    pub fn new(
        _client: ClientId,
        _config: ConsumerConfig,
        _bootstrap_brokers: Vec<BrokerId>,
        _partitions: Vec<PartitionId>,
    ) -> Consumer {
        Consumer
    }
    pub fn position(&self, _partition: PartitionId) -> Option<Offset> {
        None
    }
}
impl Actor for Consumer {
    fn handle(&mut self, _now_ms: u64, _input: Input) -> Vec<Effect> {
        Vec::new()
    }
    fn next_deadline_ms(&self) -> Option<u64> {
        None
    }
}
