//! `watermark list`: one line per catalogue scenario with its expected guarantee and summary.

use crate::cli::exit::Exit;
use std::fmt::Write as _;

pub fn list_command() -> Exit {
    let catalogue = watermark_scenarios::catalogue();
    if catalogue.is_empty() {
        eprintln!("the catalogue is empty");
        return Exit::Met;
    }
    let name_width = catalogue
        .iter()
        .map(|scenario| scenario.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for scenario in &catalogue {
        let guarantee = scenario.expect.guarantee.name();
        let _ = writeln!(
            out,
            "{:<name_width$}  {guarantee:<13}  {}",
            scenario.name, scenario.summary
        );
    }
    crate::cli::print(&out);
    Exit::Met
}
