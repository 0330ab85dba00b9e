//! Temporary stub with the agreed API; replaced by the replication work.
use crate::actor::{Actor, Effect, Input};
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::ids::{BrokerId, PartitionId};
use crate::replica_view::ReplicaView;
use crate::storage::Storage;

pub struct Broker {
    broker: BrokerId,
}
impl Broker {
    pub fn new(
        broker: BrokerId,
        _incarnation: u64,
        _config: BrokerConfig,
        _topic: TopicConfig,
        _bugs: BugSwitches,
        _storage: Box<dyn Storage>,
    ) -> Broker {
        Broker { broker }
    }
    pub fn broker_id(&self) -> BrokerId {
        self.broker
    }
    pub fn replica_view(&self, _partition: PartitionId) -> Option<ReplicaView<'_>> {
        None
    }
}
impl Actor for Broker {
    fn handle(&mut self, _now_ms: u64, _input: Input) -> Vec<Effect> {
        Vec::new()
    }
    fn next_deadline_ms(&self) -> Option<u64> {
        None
    }
}
