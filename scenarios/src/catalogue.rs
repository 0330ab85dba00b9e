//! The catalogue (being written).
use watermark_sim::scenario::Scenario;

pub fn catalogue() -> Vec<Scenario> {
    Vec::new()
}

pub fn names() -> Vec<String> {
    catalogue().into_iter().map(|scenario| scenario.name).collect()
}

pub fn find(name: &str) -> Option<Scenario> {
    catalogue().into_iter().find(|scenario| scenario.name == name)
}
