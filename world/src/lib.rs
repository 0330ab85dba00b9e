//! The simulated world, without madsim: the network and disk models, the fault vocabulary
//! and swarm schedule, the client history, the checkers, the trace and the world's step loop
//! (one node is fed everything due, its effects executed). Nothing here reads a clock,
//! spawns a task or knows which executor drives it: the madsim node shells and runner in
//! `watermark-sim` drive it in simulated time, and an exhaustive explorer could drive the
//! same world step by step. It builds and tests without `--cfg madsim`.

pub mod application;
pub mod application_consumer;
pub mod application_history;
pub mod application_lag;
pub mod application_pipeline;
pub mod application_transactional;
pub mod cell_settings;
pub mod checkers;
pub mod configuration;
pub mod convergence;
pub mod ddmin;
pub mod delivery_queue;
pub mod disk;
pub mod documented_guarantees;
pub mod edn;
pub mod fault;
pub mod fault_shape;
pub mod fault_validation;
mod hanging_transaction;
pub mod held_requests;
pub mod history;
pub mod history_edn;
pub mod history_file;
mod json_schema;
pub mod kafka_profile;
pub mod network;
pub mod not_applied;
pub mod pipeline_client;
pub mod processing;
pub mod scenario;
pub mod scenario_validation;
mod scenario_validation_groups;
mod scenario_validation_pipeline;
pub mod settings_diff;
pub mod shrink;
pub mod sink;
pub mod step_record;
pub mod swarm;
pub mod teaching;
pub mod trace;
mod trace_group_events;
mod trace_reason_events;
mod trace_transaction_events;
mod trace_txn_offset_events;
pub mod transactional_send_outcome;
pub mod trigger;
pub mod verdict;
pub mod violation;
pub mod world;
