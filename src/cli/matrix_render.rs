//! How `watermark matrix` writes its grid and its documented table: markdown (the default,
//! and docs/MATRIX.md), or one self-contained HTML page (the report's approach: a template,
//! a style sheet inlined, every value escaped). Both are drawn from one [`Table`], so the
//! two formats always hold the same cells.

use crate::cli::matrix::{Agreement, Cell, DocumentedTable, Grid, Judgement};
use crate::cli::report_html::{escape_html, fill};
use std::fmt::Write as _;
use watermark_sim::documented_guarantees::{documented_row, Aspect, Promise};

const TEMPLATE: &str = include_str!("../../assets/matrix/matrix.html");
const STYLE: &str = include_str!("../../assets/matrix/matrix.css");

/// A table: headers, then one row of cells each (plain text; code spans in backticks).
struct Table {
    headers: Vec<String>,
    /// Each row with its agreement (the HTML row's class).
    rows: Vec<(Agreement, Vec<String>)>,
    /// The columns that hold numbers (right-aligned in HTML).
    numeric: Vec<usize>,
}

/// A titled document: a heading, paragraphs, the table, then sections of list items.
struct Document {
    title: String,
    intro: Vec<String>,
    table: Table,
    sections: Vec<(String, Vec<String>)>,
}

fn judgement_columns(judgement: &Judgement) -> Vec<String> {
    vec![
        judgement.runs.to_string(),
        judgement.lost.to_string(),
        judgement.duplicated.to_string(),
        judgement.diverged.to_string(),
        judgement.reordered.to_string(),
        judgement
            .observed
            .map_or("–".to_string(), |observed| observed.name().to_string()),
        judgement.documented_guarantee.name().to_string(),
    ]
}

const JUDGEMENT_HEADERS: [&str; 7] = [
    "runs",
    "lost",
    "duplicated",
    "diverged",
    "reordered",
    "observed",
    "documented",
];

/// What a disagreement is, in one sentence: the aspects and what the documentation said.
fn disagreement(judgement: &Judgement) -> String {
    let aspects = |aspects: &[Aspect]| {
        aspects
            .iter()
            .map(|aspect| aspect.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows_saying = |aspect: Aspect, promise: Promise| {
        judgement
            .documented
            .rows
            .iter()
            .filter(|id| documented_row(id).is_some_and(|row| row.promise(aspect) == Some(promise)))
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let about = |list: &[Aspect], promise: Promise| {
        list.iter()
            .map(|aspect| format!("{} ({})", aspect.name(), rows_saying(*aspect, promise)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let also_stronger =
        if judgement.stronger.is_empty() || judgement.agreement == Agreement::Stronger {
            String::new()
        } else {
            format!(
                "; also documented as possible but shown by no seed: {}",
                about(&judgement.stronger, Promise::Allows)
            )
        };
    let sentence = match judgement.agreement {
        Agreement::Weaker => format!(
            "shown where the documentation forbids it: {}",
            about(&judgement.weaker, Promise::Forbids)
        ),
        Agreement::KnownKafkaBug => format!(
            "{} only in runs where the producer renumbered batches already sent (KAFKA-14034)",
            aspects(&judgement.known_kafka_bug)
        ),
        Agreement::Stronger => format!(
            "documented as possible but shown by no seed: {}; try more seeds",
            about(&judgement.stronger, Promise::Allows)
        ),
        Agreement::ReleaseBug => format!(
            "shown where the documentation forbids it: {}; the same seeds keep the promise \
             without the release's switches {}",
            about(&judgement.weaker, Promise::Forbids),
            judgement
                .release_switches
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Agreement::Panicked => format!("{} run(s) panicked", judgement.panicked),
        Agreement::Agrees | Agreement::Refused => String::new(),
    };
    sentence + &also_stronger
}

fn legend() -> Vec<String> {
    Agreement::LEGEND
        .iter()
        .map(|(agreement, text)| format!("{}: {text}", agreement.mark()))
        .collect()
}

fn cell_name(cell: &Cell) -> String {
    let mut words = cell.settings.clone();
    if let Some(kafka) = &cell.kafka {
        words.push(format!("kafka={kafka}"));
    }
    words.join(" ")
}

fn grid_document(grid: &Grid) -> Document {
    let mut headers: Vec<String> = grid.axes.iter().map(|(axis, _)| axis.clone()).collect();
    let axis_count = headers.len();
    headers.extend(JUDGEMENT_HEADERS.iter().map(|header| header.to_string()));
    headers.push("documented rows".to_string());
    headers.push("agreement".to_string());
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut used_rows: Vec<&str> = Vec::new();
    for cell in &grid.cells {
        let mut columns: Vec<String> = cell.stated.iter().map(|setting| setting.value()).collect();
        if let Some(kafka) = &cell.kafka {
            columns.push(kafka.clone());
        }
        let agreement = cell.agreement();
        match &cell.judgement {
            Some(judgement) => {
                columns.extend(judgement_columns(judgement));
                columns.push(judgement.documented.rows.join(", "));
                for id in &judgement.documented.rows {
                    if !used_rows.contains(id) {
                        used_rows.push(id);
                    }
                }
            }
            None => columns.extend(std::iter::repeat_n(
                "–".to_string(),
                JUDGEMENT_HEADERS.len() + 1,
            )),
        }
        columns.push(agreement.mark().to_string());
        if let Some(refusal) = &cell.refused {
            notes.push(format!("{}: n/a: {refusal}", cell_name(cell)));
        } else if let Some(judgement) = &cell.judgement {
            if agreement != Agreement::Agrees {
                let mut note = format!(
                    "{}: {} — {}",
                    cell_name(cell),
                    agreement.mark(),
                    disagreement(judgement)
                );
                if let (Some(seed), Some(replay)) = (judgement.first_seed, &cell.replay) {
                    let _ = write!(note, "; first seed {seed}: `{replay}`");
                }
                notes.push(note);
            }
        }
        rows.push((agreement, columns));
    }
    let axes: Vec<String> = grid
        .axes
        .iter()
        .map(|(axis, values)| format!("{axis} {}", values.join(",")))
        .collect();
    used_rows.sort_by_key(|id| {
        watermark_sim::documented_guarantees::DOCUMENTED_ROWS
            .iter()
            .position(|row| row.id == *id)
    });
    let row_notes = used_rows
        .iter()
        .filter_map(|id| documented_row(id))
        .map(|row| format!("`{}` — {}: {}", row.id, row.settings, row.documented))
        .collect();
    Document {
        title: format!("Guarantee matrix: {}, seeds {}", grid.swarm, grid.seeds),
        intro: vec![
            format!(
                "Each cell runs `{}` over seeds {} with the cell's settings stated over the \
                 swarm's own ({}); every other setting is the swarm's, drawn per seed. Each \
                 seed is judged against the documented rows that apply to the configuration \
                 it drew.",
                grid.swarm,
                grid.seeds,
                axes.join(" × ")
            ),
            "Columns count runs: `lost` (something acknowledged or committed is gone), \
             `duplicated`, `diverged` (replicas differ), `reordered` (a producer's records \
             out of send order); `observed` is the weakest guarantee any run gave, \
             `documented` what the applicable rows promise."
                .to_string(),
        ],
        table: Table {
            headers,
            rows,
            numeric: (axis_count..axis_count + 5).collect(),
        },
        sections: vec![
            ("Disagreements".to_string(), notes),
            ("Documented rows".to_string(), row_notes),
            ("Legend".to_string(), legend()),
        ],
    }
}

fn documented_document(table: &DocumentedTable) -> Document {
    let mut headers: Vec<String> = vec!["settings".to_string(), "documented result".to_string()];
    headers.extend(JUDGEMENT_HEADERS.iter().map(|header| header.to_string()));
    headers.push("scenarios".to_string());
    headers.push("agreement".to_string());
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut sources = Vec::new();
    for row in &table.rows {
        let mut settings = row.settings.to_string();
        if !row.in_design_table {
            settings.push_str(" *");
        }
        let mut columns = vec![settings, row.documented_result.to_string()];
        columns.extend(judgement_columns(&row.judgement));
        columns.push(
            row.scenarios
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let agreement = row.judgement.agreement;
        columns.push(agreement.mark().to_string());
        rows.push((agreement, columns));
        sources.push(format!("{}: {}", row.settings, row.source));
        if agreement != Agreement::Agrees {
            let mut note = format!(
                "{}: {} — {}",
                row.settings,
                agreement.mark(),
                disagreement(&row.judgement)
            );
            if let (Some(seed), Some(replay)) = (row.judgement.first_seed, &row.replay) {
                let _ = write!(note, "; first seed {seed}: `{replay}`");
            }
            notes.push(note);
        }
    }
    Document {
        title: format!(
            "Kafka's documented guarantees, reproduced (seeds {})",
            table.seeds
        ),
        intro: vec![
            format!(
                "Generated by `watermark matrix --documented --seeds {}`. Each row of Kafka's \
                 documented guarantees (DESIGN.md) runs on the catalogue scenarios that \
                 demonstrate it, seeds {} each, and is judged only on what it speaks to (loss, \
                 duplication, a producer's order): `observed` is the weakest guarantee any run \
                 gave, `documented` the row's own. Rows marked * are not in DESIGN.md's table \
                 but are documented by Kafka too.",
                table.seeds, table.seeds
            ),
            "Columns count runs: `lost` (something acknowledged or committed is gone), \
             `duplicated`, `diverged` (replicas differ), `reordered` (a producer's records \
             out of send order)."
                .to_string(),
        ],
        table: Table {
            headers,
            rows,
            numeric: (2..7).collect(),
        },
        sections: vec![
            ("Disagreements".to_string(), notes),
            (
                "Where Kafka documents each row (in our words)".to_string(),
                sources,
            ),
            ("Legend".to_string(), legend()),
        ],
    }
}

pub fn grid_markdown(grid: &Grid) -> String {
    markdown(&grid_document(grid))
}

pub fn documented_markdown(table: &DocumentedTable) -> String {
    markdown(&documented_document(table))
}

pub fn grid_html(grid: &Grid) -> String {
    html(&grid_document(grid))
}

pub fn documented_html(table: &DocumentedTable) -> String {
    html(&documented_document(table))
}

/// A markdown table cell: pipes escaped, no line breaks.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(document: &Document) -> String {
    let mut out = format!("# {}\n\n", document.title);
    for paragraph in &document.intro {
        let _ = writeln!(out, "{paragraph}\n");
    }
    let table = &document.table;
    let _ = writeln!(out, "| {} |", table.headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        table
            .headers
            .iter()
            .enumerate()
            .map(|(index, _)| if table.numeric.contains(&index) {
                "---:"
            } else {
                "---"
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for (_, columns) in &table.rows {
        let cells: Vec<String> = columns.iter().map(|cell| markdown_cell(cell)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for (heading, items) in &document.sections {
        let _ = writeln!(out, "\n## {heading}\n");
        if items.is_empty() {
            out.push_str("None.\n");
        }
        for item in items {
            let _ = writeln!(out, "- {item}");
        }
    }
    out
}

/// Escapes `text` and turns `code` spans into `<code>` elements.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    for (index, part) in text.split('`').enumerate() {
        if index % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape_html(part));
        } else {
            out.push_str(&escape_html(part));
        }
    }
    out
}

fn agreement_class(agreement: Agreement) -> &'static str {
    match agreement {
        Agreement::Agrees => "agrees",
        Agreement::Stronger => "stronger",
        Agreement::KnownKafkaBug => "known-kafka-bug",
        Agreement::ReleaseBug => "release-bug",
        Agreement::Weaker => "weaker",
        Agreement::Panicked => "panicked",
        Agreement::Refused => "refused",
    }
}

fn html(document: &Document) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape_html(&document.title));
    for paragraph in &document.intro {
        let _ = writeln!(body, "<p>{}</p>", inline_html(paragraph));
    }
    let table = &document.table;
    body.push_str("<table>\n<thead><tr>");
    for header in &table.headers {
        let _ = write!(body, "<th>{}</th>", escape_html(header));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    let last = table.headers.len().saturating_sub(1);
    for (agreement, columns) in &table.rows {
        let _ = write!(body, "<tr class=\"{}\">", agreement_class(*agreement));
        for (index, cell) in columns.iter().enumerate() {
            let class = if index == last {
                " class=\"agreement\""
            } else if table.numeric.contains(&index) {
                " class=\"number\""
            } else {
                ""
            };
            let _ = write!(body, "<td{class}>{}</td>", inline_html(cell));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    for (heading, items) in &document.sections {
        let _ = writeln!(body, "<h2>{}</h2>", escape_html(heading));
        if items.is_empty() {
            body.push_str("<p>None.</p>\n");
            continue;
        }
        body.push_str("<ul>\n");
        for item in items {
            let _ = writeln!(body, "<li>{}</li>", inline_html(item));
        }
        body.push_str("</ul>\n");
    }
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape_html(&document.title)),
            ("STYLE", STYLE),
            ("BODY", &body),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_elements_and_everything_is_escaped() {
        assert_eq!(
            inline_html("run `a<b` & <c>"),
            "run <code>a&lt;b</code> &amp; &lt;c&gt;"
        );
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        assert_eq!(markdown_cell("a|b"), "a\\|b");
    }

    #[test]
    fn the_assets_load_nothing_from_a_network() {
        for text in [TEMPLATE, STYLE] {
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("@import") && !text.contains("url("));
        }
        assert!(!STYLE.contains("</style"));
    }
}
