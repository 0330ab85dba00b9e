//! `explain` as plain text (a terminal, a printed handout) and as markdown (`--markdown`):
//! per step its time and node, each change with its reason, and the replica table of each
//! partition it changed; then the verdict with every violation explained.

use crate::cli::output::table;
use watermark_sim::teaching::explain_story::{Line, StoryStep};
use watermark_sim::teaching::explain_words::{brokers, seconds};
use watermark_sim::teaching::replica_state::{PartitionState, Role};
use watermark_sim::trace::value_name;

/// The header columns of a replica table.
const COLUMNS: [&str; 8] = [
    "replica",
    "role",
    "leo",
    "hw",
    "epoch",
    "leader isr",
    "controller isr",
    "last records",
];

/// Plain text or markdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Text,
    Markdown,
}

/// One step, rendered.
pub fn render_step(step: &StoryStep, style: Style) -> String {
    let who = match step.node {
        Some(node) => node.to_string(),
        None => "nemesis".to_string(),
    };
    let mut out = match style {
        Style::Text => format!("t={}  {who}\n", seconds(step.time_ms)),
        Style::Markdown => format!("### t={} · {who}\n\n", seconds(step.time_ms)),
    };
    for line in &step.lines {
        out.push_str(&render_line(line, style));
    }
    for (partition, state) in &step.tables {
        let rows = table_rows(state);
        match style {
            Style::Text => {
                out.push_str(&format!("\n  {partition}{}\n", controller_words(state)));
                for row in table(&COLUMNS, &rows).lines() {
                    out.push_str(&format!("  {row}\n"));
                }
            }
            Style::Markdown => {
                out.push_str(&format!("\n**{partition}**{}\n\n", controller_words(state)));
                out.push_str(&markdown_table(&rows));
            }
        }
    }
    out.push('\n');
    out
}

fn render_line(line: &Line, style: Style) -> String {
    let why = line.why.as_deref().unwrap_or("(no reason recorded)");
    match (style, line.why.is_some() || is_change(line)) {
        (Style::Text, true) => format!("  - {}\n      why: {why}\n", line.what),
        (Style::Text, false) => format!("  - {}\n", line.what),
        (Style::Markdown, true) => format!("- {} — *why:* {why}\n", line.what),
        (Style::Markdown, false) => format!("- {}\n", line.what),
    }
}

/// Whether the line is a replica-state change, which must say why.
fn is_change(line: &Line) -> bool {
    use watermark_sim::teaching::explain_story::EntryKind;
    matches!(
        line.kind,
        EntryKind::Isr | EntryKind::HighWatermark | EntryKind::Leader | EntryKind::Truncation
    )
}

/// `: controller leader b1 e1, ISR {1,2,3}` (and the ELR when it has members).
fn controller_words(state: &PartitionState) -> String {
    let controller = &state.controller;
    let leader = controller
        .leader
        .map_or("none".to_string(), |leader| leader.to_string());
    let epoch = controller
        .leader_epoch
        .map_or("-".to_string(), |epoch| epoch.to_string());
    let elr = if controller.elr.is_empty() {
        String::new()
    } else {
        format!(", ELR {}", brokers(&controller.elr))
    };
    format!(
        " (controller: leader {leader} {epoch}, ISR {}{elr})",
        brokers(&controller.isr)
    )
}

fn table_rows(state: &PartitionState) -> Vec<Vec<String>> {
    state
        .replicas
        .iter()
        .map(|(broker, replica)| {
            let records: Vec<String> = replica
                .log
                .iter()
                .map(|record| format!("{}:{}", record.offset, value_name(record.value)))
                .collect();
            vec![
                broker.to_string(),
                match replica.role {
                    Role::Leader => "leader",
                    Role::Follower => "follower",
                    Role::Offline => "offline",
                }
                .to_string(),
                replica.log_end_offset.to_string(),
                replica.high_watermark.to_string(),
                replica
                    .leader_epoch
                    .map_or("-".to_string(), |epoch| epoch.to_string()),
                replica
                    .leader_isr
                    .as_deref()
                    .map_or("-".to_string(), brokers),
                brokers(&state.controller.isr),
                records.join(" "),
            ]
        })
        .collect()
}

fn markdown_table(rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", COLUMNS.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(COLUMNS.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| cell.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
