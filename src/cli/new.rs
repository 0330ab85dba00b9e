//! `watermark new NAME [-o FILE]`: writes a commented starter scenario that runs as written.
//! It never overwrites a file: an existing one is bad input.

use crate::cli::exit::{BadInput, Exit};
use std::io::Write as _;
use std::path::PathBuf;
use watermark_scenarios::starter;

pub fn new_command(name: &str, output: Option<&str>) -> Result<Exit, BadInput> {
    if let Some(problem) = starter::name_problem(name) {
        return Err(BadInput(problem));
    }
    let path = output.map_or_else(|| PathBuf::from(format!("{name}.toml")), PathBuf::from);
    // `create_new` refuses an existing file atomically: no check-then-write race.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => BadInput(format!(
                "{} already exists; allowed: a path that does not exist yet (-o FILE)",
                path.display()
            )),
            _ => BadInput(format!("cannot create {}: {error}", path.display())),
        })?;
    file.write_all(starter::starter_scenario(name).as_bytes())
        .map_err(|error| BadInput(format!("cannot write {}: {error}", path.display())))?;
    crate::cli::print(&format!(
        "wrote {path}; run it with: watermark run {path} --seed 0\n",
        path = path.display()
    ));
    Ok(Exit::Met)
}
