//! Requests a broker has read off the socket but handles late: the `hold-requests` fault.
//! In Kafka a request the broker's network thread has read sits in the request queue until a
//! handler thread takes it; a handler stuck on a lock, or a queue backed up behind slow
//! requests, handles it seconds later. If the client's `request.timeout.ms` runs out first
//! it closes the connection and moves on (retries, or aborts its transaction), but the
//! broker still handles what it had read, and its answer goes nowhere. That late handling is
//! how a produce lands after its transaction's ABORT marker (KAFKA-14402) and how an EndTxn
//! ends the transaction after its own (KAFKA-17754).
//!
//! The network models a read request as a message in flight, and a closed connection drops
//! what is in flight on it; a held message is already read, so a close, a cut of the link or
//! its sender stopping leaves it (a stopped receiver still loses it). Only the named API is held; other messages
//! on the link pass it, and a held message does not hold up the link's FIFO order.

use crate::step_record::{DropReason, MessageId};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::protocol::Message;
use watermark_broker_core::spelling::unknown_name;
use watermark_broker_core::written::Written;

/// The request a `hold-requests` fault holds, by Kafka's API name.
/// Read by hand, so a mistake names the `api` key and its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HeldApi {
    /// A client's Produce (a transactional batch among them).
    Produce,
    /// A transactional producer's EndTxn (commit or abort).
    EndTxn,
    /// A partition leader's AlterPartition, held by the controller: KRaft's controller
    /// handles requests one at a time from its event queue, so one read now may be handled
    /// seconds later, after the registrations and fencings queued before it (KIP-903's
    /// story).
    AlterPartition,
}

impl HeldApi {
    pub const ALL: [HeldApi; 3] = [HeldApi::Produce, HeldApi::EndTxn, HeldApi::AlterPartition];

    /// Whether `message` is a request of this API.
    pub fn matches(self, message: &Message) -> bool {
        match self {
            HeldApi::Produce => matches!(message, Message::Produce(_)),
            HeldApi::EndTxn => matches!(message, Message::EndTxn(_)),
            HeldApi::AlterPartition => matches!(message, Message::AlterPartition(_)),
        }
    }
}

impl fmt::Display for HeldApi {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            HeldApi::Produce => "produce",
            HeldApi::EndTxn => "end-txn",
            HeldApi::AlterPartition => "alter-partition",
        })
    }
}

impl<'de> Deserialize<'de> for HeldApi {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HeldApi, D::Error> {
        let names = || HeldApi::ALL.map(|api| api.to_string());
        let unknown = |written: &str| {
            let known = names();
            D::Error::custom(unknown_name(
                "held request API",
                written,
                known.iter().map(String::as_str),
            ))
        };
        match Written::deserialize(deserializer)? {
            Written::Text(text) => HeldApi::ALL
                .into_iter()
                .find(|api| api.to_string() == text)
                .ok_or_else(|| unknown(&text)),
            other => Err(D::Error::custom(format!(
                "api is a request's name, not {}; allowed: {}",
                other.describe(),
                names().join(", ")
            ))),
        }
    }
}

/// The holds in force and the held messages still in flight.
#[derive(Debug, Default)]
pub(crate) struct HeldRequests {
    /// Per directed link and API: how long a request sent now is held.
    holds: BTreeMap<(NodeId, NodeId, HeldApi), u64>,
    /// Held messages in flight: read by their receiver, so a close or a cut leaves them.
    read: BTreeSet<MessageId>,
    /// Per link, the delivery time of the last held message, so held requests keep their
    /// order among themselves.
    last_delivery_ms: BTreeMap<(NodeId, NodeId), u64>,
}

impl HeldRequests {
    /// From now on, `api` requests from `from` to `to` are handled `delay_ms` late.
    pub(crate) fn hold(&mut self, from: NodeId, to: NodeId, api: HeldApi, delay_ms: u64) {
        self.holds.insert((from, to, api), delay_ms);
    }

    /// Ends every hold; messages already held keep their delivery time.
    pub(crate) fn release_all(&mut self) {
        self.holds.clear();
    }

    pub(crate) fn is_holding(&self) -> bool {
        !self.holds.is_empty()
    }

    /// The delivery time of `message` (sent as `id`, due at `earliest_ms` on an ordinary
    /// link) if a hold applies to it; `None` leaves it to the link's FIFO order.
    pub(crate) fn delivery_ms(
        &mut self,
        id: MessageId,
        from: NodeId,
        to: NodeId,
        message: &Message,
        earliest_ms: u64,
    ) -> Option<u64> {
        let delay_ms = self
            .holds
            .iter()
            .find(|((sender, receiver, api), _)| {
                (*sender, *receiver) == (from, to) && api.matches(message)
            })
            .map(|(_, delay_ms)| *delay_ms)?;
        let last = self.last_delivery_ms.entry((from, to)).or_insert(0);
        let delivery_ms = (earliest_ms + delay_ms).max(*last);
        *last = delivery_ms;
        self.read.insert(id);
        Some(delivery_ms)
    }

    /// Whether a drop for `reason` spares the message: a held one is already read, so only
    /// its receiver stopping loses it.
    pub(crate) fn spares(&self, id: MessageId, reason: DropReason) -> bool {
        self.read.contains(&id) && reason != DropReason::ReceiverDown
    }

    /// The message was delivered or dropped: it is no longer in flight.
    pub(crate) fn forget(&mut self, id: MessageId) {
        self.read.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_reads_by_its_kafka_name_and_an_unknown_one_lists_the_known() {
        let api: HeldApi = serde_json::from_str("\"end-txn\"").unwrap();
        assert_eq!(api, HeldApi::EndTxn);
        let error = serde_json::from_str::<HeldApi>("\"fetch\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`fetch`") && error.contains("produce, end-txn, alter-partition"),
            "{error}"
        );
        let error = serde_json::from_str::<HeldApi>("3")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not 3"), "{error}");
    }
}
