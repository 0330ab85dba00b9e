//! The Kafka-style protocol as sans-IO state machines: brokers (log, leader-epoch cache,
//! replication, ISR, high watermark), the controller and the clients. Nothing here knows it
//! is simulated: time arrives as `now_ms`, the disk is a [`storage::Storage`], and every
//! output is an [`actor::Effect`] for the caller to execute.

pub mod actor;
pub mod broker;
pub mod bugs;
pub mod client_metadata;
pub mod config;
pub mod consumer;
pub mod controller;
pub mod coordinator;
pub mod error;
pub mod event;
pub mod ids;
mod json_schema;
pub mod kafka_version;
pub mod log;
pub mod mark;
pub mod metadata;
pub mod offsets_topic;
pub mod partition;
pub mod partitioner;
pub mod producer;
pub mod protocol;
pub mod reason;
pub mod record;
pub mod replica_view;
pub mod spelling;
pub mod storage;
pub mod timer;
pub mod topic;
pub mod transaction;
pub mod transaction_state_topic;
pub mod written;

pub use actor::{Actor, Effect, Input};
pub use bugs::{BugSwitch, BugSwitches};
pub use error::ErrorCode;
pub use event::Event;
pub use ids::*;
pub use mark::Mark;
pub use topic::{TopicName, TopicPartition};
