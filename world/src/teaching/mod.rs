//! Teaching views (issue 11), all drawn from the step records (docs/STYLE.md, rule 17):
//! the replica state replayed from them, each replica-state change with the reason its
//! deciding actor reported, and client steps in words (`watermark explain`: text, markdown
//! or mermaid); the space-time diagram, client history and violations of the HTML report
//! (`watermark report`) and its ShiViz export.

pub mod explain_change;
pub mod explain_client;
mod explain_hold;
pub mod explain_story;
pub mod explain_violation;
pub mod explain_words;
pub mod replica_state;
pub mod report_data;
pub mod report_history;
pub mod report_replicas;
#[cfg(test)]
mod report_test_support;
pub mod report_violations;
pub mod shiviz;
pub mod space_time;
