//! `watermark schema`: the JSON Schema of scenario files (docs/scenario.schema.json), for an
//! editor's TOML language server; `--markdown`: the key reference docs/SCENARIOS.md, which is
//! generated from the same schema.

use crate::cli::exit::Exit;
use watermark_scenarios::{scenario_docs, schema};

pub fn schema_command(markdown: bool) -> Exit {
    if markdown {
        crate::cli::print(&scenario_docs::scenarios_markdown());
    } else {
        crate::cli::print(&schema::scenario_schema_text());
    }
    Exit::Met
}
