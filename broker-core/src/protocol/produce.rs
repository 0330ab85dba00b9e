//! Produce: a producer sends a batch of records to a partition's leader, which answers
//! according to `acks`.

use crate::error::ErrorCode;
use crate::ids::{CorrelationId, Offset, TransactionalId};
use crate::record::ProducerRecord;
use crate::topic::TopicPartition;
use crate::written::Written;
use serde::{Deserialize, Deserializer, Serialize};

/// How many replicas must have a record before the producer hears back. A scenario file may
/// write it as Kafka users do, a number or a string: `1`, `-1`, `0`, `"all"`, `"1"`, `"-1"`,
/// `"0"`; it is always written back as `"all"`, `"1"` or `"0"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Acks {
    /// acks=0: the producer does not wait for any response.
    #[serde(rename = "0")]
    None,
    /// acks=1: the leader's own append is enough.
    #[serde(rename = "1")]
    Leader,
    /// acks=all (-1): every ISR member, and at least `min_insync_replicas`.
    #[serde(rename = "all")]
    All,
}

impl Acks {
    /// The forms a file may write, for error messages.
    pub const FORMS: &'static str = "1, -1, 0, \"all\", \"1\", \"-1\" or \"0\"";

    /// The setting a written value names, as Kafka's `acks` reads it.
    pub fn from_written(written: &Written) -> Option<Acks> {
        match written {
            Written::Integer(1) => Some(Acks::Leader),
            Written::Integer(-1) => Some(Acks::All),
            Written::Integer(0) => Some(Acks::None),
            Written::Text(text) => match text.to_ascii_lowercase().as_str() {
                "all" | "-1" => Some(Acks::All),
                "1" => Some(Acks::Leader),
                "0" => Some(Acks::None),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Acks, D::Error> {
        let written = Written::deserialize(deserializer)?;
        Acks::from_written(&written).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "acks = {} is not an acks setting; allowed: {}",
                written.describe(),
                Acks::FORMS
            ))
        })
    }
}

/// The transaction protocol a producer speaks, which Kafka reads from the produce request's
/// version: version 12 and later is transactions version 2 (KIP-890 part 2: the partition
/// leader adds the partition to the transaction, TRANSACTION_ABORTABLE and
/// CONCURRENT_TRANSACTIONS reach the producer), earlier versions version 1 (the producer adds
/// its partitions itself; the leader only verifies, KIP-890 part 1). Kafka 4.x clients speak
/// version 2 unless the cluster's `transaction.version` feature is below 2.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionVersion {
    /// Produce request version 11 (Kafka 3.8/3.9 clients): verification only.
    V1,
    /// Produce request version 12 (Kafka 4.x clients).
    #[default]
    V2,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub acks: Acks,
    /// How long the leader may hold an acks=all request in purgatory.
    pub timeout_ms: u64,
    /// Set by a transactional producer: the records are one transactional batch (Kafka's
    /// `ProduceRequest.transactionalId` with the batch's transactional attribute), part of
    /// the producer's ongoing transaction on this partition. `None` for every other producer.
    pub transactional_id: Option<TransactionalId>,
    /// Which transaction protocol the producer speaks; read only for a transactional produce
    /// (the leader's verification of it, `broker/transaction_verification.rs`).
    pub transaction_version: TransactionVersion,
    pub records: Vec<ProducerRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    /// The base offset of the appended batch.
    pub result: Result<Offset, ErrorCode>,
    /// The leader's log start offset (Kafka's `logStartOffset`, -1 when unknown). The
    /// producer reads it only with UNKNOWN_PRODUCER_ID, and the model's leader fills it only
    /// when its producer state refused the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_start_offset: Option<Offset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_reads_every_form_a_kafka_user_writes_and_writes_back_unchanged() {
        let cases = [
            ("1", Acks::Leader),
            ("-1", Acks::All),
            ("0", Acks::None),
            ("\"all\"", Acks::All),
            ("\"1\"", Acks::Leader),
            ("\"-1\"", Acks::All),
            ("\"0\"", Acks::None),
        ];
        for (text, acks) in cases {
            assert_eq!(serde_json::from_str::<Acks>(text).unwrap(), acks, "{text}");
        }
        assert_eq!(serde_json::to_string(&Acks::All).unwrap(), "\"all\"");
        assert_eq!(serde_json::to_string(&Acks::Leader).unwrap(), "\"1\"");
        assert_eq!(serde_json::to_string(&Acks::None).unwrap(), "\"0\"");
    }

    #[test]
    fn an_unknown_acks_value_lists_the_accepted_forms() {
        let error = serde_json::from_str::<Acks>("2").unwrap_err().to_string();
        assert!(
            error.starts_with("acks = 2 is not an acks setting; allowed: 1, -1, 0"),
            "{error}"
        );
    }
}
