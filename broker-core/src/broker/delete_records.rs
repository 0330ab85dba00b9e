//! DeleteRecords reaching a broker. Kafka's admin client sends it to each partition's leader;
//! the model has no admin node, so the nemesis (the `delete-records` fault) hands the request
//! to the broker it resolved as leader, and the answer comes back the same way, never lost
//! or late. The partition's side is `partition/delete_records.rs`.

use super::Broker;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::protocol::{DeleteRecordsRequest, DeleteRecordsResponse};

impl Broker {
    /// Answers a DeleteRecords request for one partition: NOT_LEADER_OR_FOLLOWER when the
    /// broker is not running or does not host it, else the partition's answer.
    pub fn handle_delete_records(
        &mut self,
        now_ms: u64,
        request: &DeleteRecordsRequest,
    ) -> (DeleteRecordsResponse, Vec<Effect>) {
        let mut effects = Vec::new();
        let result = if !self.started || self.has_shut_down() {
            Err(ErrorCode::NotLeaderOrFollower)
        } else {
            let (mut context, partitions) = self.split(now_ms, &mut effects);
            match partitions.get_mut(&request.partition) {
                Some(replica) => replica.handle_delete_records(&mut context, request),
                None => Err(ErrorCode::NotLeaderOrFollower),
            }
        };
        if self.started {
            self.check_invariants(now_ms, false);
        }
        let response = DeleteRecordsResponse {
            partition: request.partition,
            result,
        };
        (response, effects)
    }
}
