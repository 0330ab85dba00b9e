//! `explain --mermaid`: a `sequenceDiagram` a code host renders. A participant per node,
//! each message an arrow at its send (`-x` when it was dropped), a note for each ISR, high
//! watermark, leader and truncation change and for each fault. The filters apply; past
//! [`ARROWS_MAX`] messages the rest are counted in a closing note, so a long run still
//! renders.

use crate::cli::explain_filter::Filter;
use std::collections::BTreeSet;
use watermark_broker_core::ids::NodeId;
use watermark_sim::teaching::explain_story::{Arrow, EntryKind, Story, StoryStep};
use watermark_sim::teaching::explain_words::seconds;

/// The most message arrows one diagram draws.
pub const ARROWS_MAX: usize = 400;

/// The whole diagram.
pub fn render_mermaid(
    story: &Story,
    steps: &[StoryStep],
    filter: &Filter,
    nodes: &BTreeSet<NodeId>,
) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for node in nodes {
        out.push_str(&format!("    participant {node}\n"));
    }
    let arrows: Vec<&Arrow> = story
        .arrows
        .iter()
        .filter(|arrow| filter.keeps_time(arrow.time_ms))
        .filter(|arrow| filter.keeps_node(arrow.from) || filter.keeps_node(arrow.to))
        .collect();
    let drawn = arrows.len().min(ARROWS_MAX);
    let mut arrow_index = 0;
    for step in steps {
        while arrow_index < drawn && arrows[arrow_index].time_ms <= step.time_ms {
            out.push_str(&arrow_line(arrows[arrow_index]));
            arrow_index += 1;
        }
        out.push_str(&notes(step));
    }
    while arrow_index < drawn {
        out.push_str(&arrow_line(arrows[arrow_index]));
        arrow_index += 1;
    }
    if arrows.len() > drawn {
        let first = nodes
            .iter()
            .next()
            .map_or("ctl".to_string(), ToString::to_string);
        out.push_str(&format!(
            "    Note over {first}: {} more messages not drawn, narrow with --from, --to or --node\n",
            arrows.len() - drawn
        ));
    }
    out
}

fn arrow_line(arrow: &Arrow) -> String {
    let shape = if arrow.dropped { "-x" } else { "->>" };
    let lost = if arrow.dropped { " (dropped)" } else { "" };
    format!(
        "    {}{shape}{}: {}{lost}\n",
        arrow.from, arrow.to, arrow.kind
    )
}

/// A note per change or fault of the step, over the node it happened on.
fn notes(step: &StoryStep) -> String {
    let mut out = String::new();
    for line in &step.lines {
        let noted = matches!(
            line.kind,
            EntryKind::Isr
                | EntryKind::HighWatermark
                | EntryKind::Leader
                | EntryKind::Truncation
                | EntryKind::Fault
        );
        if !noted {
            continue;
        }
        let over = match (step.node, step.fault_nodes.as_slice()) {
            (Some(node), _) => node.to_string(),
            (None, [only]) => only.to_string(),
            (None, [first, .., last]) => format!("{first},{last}"),
            (None, []) => "ctl".to_string(),
        };
        out.push_str(&format!(
            "    Note over {over}: {} {}\n",
            seconds(step.time_ms),
            label(&line.what)
        ));
    }
    out
}

/// Mermaid ends a message at `;` and reads `#` as an entity: both are replaced.
fn label(text: &str) -> String {
    text.replace(';', ",").replace('#', "no.")
}
