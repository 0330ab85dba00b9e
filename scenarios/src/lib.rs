//! The scenario language and the catalogue. A scenario is written with the Rust
//! [`builder::ScenarioBuilder`] or as a TOML file ([`load`]); both produce the same
//! [`Scenario`] data that the simulator runs. The [`catalogue`] is the textbook: each entry
//! shows one documented Kafka guarantee holding or breaking, and explains why.

pub mod builder;
pub mod catalogue;
mod catalogue_consumer_truncation;
mod catalogue_controller_bugs;
mod catalogue_delete_records;
mod catalogue_fetch_from_follower;
mod catalogue_follower_bugs;
mod catalogue_group_swarm;
mod catalogue_groups;
mod catalogue_idempotence;
mod catalogue_leader_bugs;
mod catalogue_transaction_bugs;
mod catalogue_transaction_faults;
mod catalogue_transactions;
pub mod load;
pub mod scenario_docs;
pub mod schema;
pub mod starter;

pub use catalogue::{catalogue, find, names};
pub use load::{load_file, load_file_as, parse_toml, parse_toml_as, to_toml};
pub use watermark_sim::scenario::Scenario;
