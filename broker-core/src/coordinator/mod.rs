//! The group coordinator (Kafka's `group-coordinator` module, classic protocol), hosted by
//! the broker that leads a group's `__consumer_offsets` partition.

mod group_state;

pub use group_state::GroupState;
