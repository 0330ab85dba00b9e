//! The checks of a consume-transform-produce consumer (`processing =
//! "consume-transform-produce"`): an output topic of the scenario that it does not also
//! read, and a producer only for such a consumer.

use crate::scenario::{ConsumerWorkload, Scenario};
use crate::scenario_validation::Problem;

impl Scenario {
    pub(crate) fn validate_pipeline(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let key = |name: &str| format!("consumers[{index}].{name}");
        if !consumer.is_pipeline() {
            for (name, set) in [
                ("output_topic", consumer.output_topic.is_some()),
                ("producer", consumer.producer.is_some()),
            ] {
                if set {
                    problems.push(Problem::new(
                        key(name),
                        format!(
                            "{name} applies to processing = \"consume-transform-produce\" only; \
                             allowed: set that processing, or remove {name}"
                        ),
                    ));
                }
            }
            return;
        }
        let known: Vec<String> = self
            .topics
            .iter()
            .map(|topic| topic.name.to_string())
            .collect();
        let Some(output) = consumer.output_topic else {
            problems.push(Problem::new(
                key("output_topic"),
                format!(
                    "consume-transform-produce needs the topic it writes to; allowed: one of {}",
                    known.join(", ")
                ),
            ));
            return;
        };
        if !known.contains(&output.to_string()) {
            problems.push(Problem::new(
                key("output_topic"),
                format!(
                    "output_topic \"{output}\" is not a topic of the scenario; allowed: one of {}",
                    known.join(", ")
                ),
            ));
        } else if self.subscribed_topics(index).contains(&output) {
            problems.push(Problem::new(
                key("output_topic"),
                format!(
                    "output_topic \"{output}\" is also a topic it reads, so it would read its own \
                     output forever; allowed: a topic it does not subscribe to"
                ),
            ));
        }
    }
}

#[cfg(test)]
#[path = "scenario_validation_pipeline_tests.rs"]
mod tests;
