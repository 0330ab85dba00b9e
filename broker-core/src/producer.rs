//! Temporary stub with the agreed API; replaced by the clients work.
use crate::actor::{Actor, Effect, Input};
use crate::config::ProducerConfig;
use crate::ids::{BrokerId, ClientId};

pub struct Producer;
impl Producer {
    pub fn new(
        _client: ClientId,
        _config: ProducerConfig,
        _bootstrap_brokers: Vec<BrokerId>,
        _partition_count: u32,
    ) -> Producer {
        Producer
    }
    pub fn send(&mut self, _now_ms: u64, _value: u64, _key: Option<u64>) -> Vec<Effect> {
        Vec::new()
    }
    pub fn unfinished_sends(&self) -> usize {
        0
    }
}
impl Actor for Producer {
    fn handle(&mut self, _now_ms: u64, _input: Input) -> Vec<Effect> {
        Vec::new()
    }
    fn next_deadline_ms(&self) -> Option<u64> {
        None
    }
}
