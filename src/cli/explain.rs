//! `watermark explain`: one scenario, one seed, told as a story. The run keeps its step
//! records; `watermark_sim::teaching` replays them into replica tables and explains each
//! change; this file resolves the scenario as `run` does, applies the filters and picks the
//! rendering (text, `--markdown`, `--mermaid`). The exit code is `run`'s.

use crate::cli::args::ExplainArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::explain_filter::Filter;
use crate::cli::explain_mermaid::render_mermaid;
use crate::cli::explain_text::{render_step, Style};
use crate::cli::output::verdict_text;
use crate::cli::source::{resolve, Choice};
use std::collections::BTreeSet;
use watermark_broker_core::ids::NodeId;
use watermark_sim::runner::{run, RunOptions, RunReport};
use watermark_sim::step_record::Record;
use watermark_sim::teaching::explain_story::{Story, StoryStep};
use watermark_sim::teaching::explain_violation::explain_violation;

pub fn explain_command(args: &ExplainArgs) -> Result<Exit, BadInput> {
    let filter = Filter::parse(
        args.partition.as_deref(),
        args.node.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
        args.only.as_deref(),
    )?;
    let choice = Choice::parse(&args.switches)?;
    let resolved = resolve(&args.scenario, &choice)?;
    let options = RunOptions {
        keep_records: true,
        ..RunOptions::default()
    };
    let report = run(&resolved.scenario, args.seed, options);
    let story = Story::from_records(&report.records);
    let nodes = nodes_of(&report.records);
    filter.check_against(&story, &nodes)?;
    let steps: Vec<StoryStep> = story
        .steps
        .iter()
        .filter_map(|step| filter.apply(step))
        .collect();
    let out = if args.mermaid {
        render_mermaid(&story, &steps, &filter, &nodes)
    } else {
        let style = if args.markdown {
            Style::Markdown
        } else {
            Style::Text
        };
        render_story(&resolved.target, args.seed, &report, &story, &steps, style)
    };
    crate::cli::print(&out);
    Ok(Exit::for_report(&report))
}

/// Every node that stepped, in node order (controller, brokers, producers, consumers).
fn nodes_of(records: &[Record]) -> BTreeSet<NodeId> {
    records
        .iter()
        .filter_map(|record| match record {
            Record::Step(step) => Some(step.node),
            _ => None,
        })
        .collect()
}

fn render_story(
    target: &str,
    seed: u64,
    report: &RunReport,
    story: &Story,
    steps: &[StoryStep],
    style: Style,
) -> String {
    let mut out = match style {
        Style::Text => format!("explain {target} --seed {seed}\n\n"),
        Style::Markdown => format!("# `watermark explain {target} --seed {seed}`\n\n"),
    };
    for step in steps {
        out.push_str(&render_step(step, style));
    }
    out.push_str(&verdict(report, story, style));
    out
}

/// The verdict, then each violation with the checker's words and, where the view can, the
/// run's numbers behind it.
fn verdict(report: &RunReport, story: &Story, style: Style) -> String {
    let mut out = match style {
        Style::Text => format!("verdict  {}\n", verdict_text(report)),
        Style::Markdown => format!("## Verdict\n\n{}\n\n", verdict_text(report)),
    };
    if report.violations.is_empty() {
        out.push_str(match style {
            Style::Text => "violations  none\n",
            Style::Markdown => "No violations.\n",
        });
        return out;
    }
    if style == Style::Markdown {
        out.push_str("## Violations\n\n");
    } else {
        out.push_str("violations\n");
    }
    for violation in &report.violations {
        let explained = explain_violation(violation, &story.facts);
        match style {
            Style::Text => {
                out.push_str(&format!("  - {violation}\n"));
                if let Some(explained) = explained {
                    out.push_str(&format!("      why: {explained}\n"));
                }
            }
            Style::Markdown => {
                out.push_str(&format!("- {violation}"));
                if let Some(explained) = explained {
                    out.push_str(&format!(" — *why:* {explained}"));
                }
                out.push('\n');
            }
        }
    }
    out
}
