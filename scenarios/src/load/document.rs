//! Where each key of a scenario file is written: every key and value of the parsed TOML
//! document with its key path (`faults.scripted[2].target`) and its byte span, so a problem
//! found on the [`Scenario`](watermark_sim::scenario::Scenario) can point at its line, and an
//! error toml reports at a byte offset can name its key.

use std::ops::Range;
use toml_edit::{ImDocument, Item, Value};

/// One key (or array element) as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `producers[0].config.acks`.
    pub path: String,
    /// From the key (or the value, for an array element) to the end of the value.
    pub span: Range<usize>,
    /// The value alone.
    pub value: Range<usize>,
}

/// Where each line of a text starts, to turn byte offsets into line numbers.
#[derive(Clone, Debug)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        Lines {
            starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(index, _)| index + 1))
                .collect(),
        }
    }

    /// The line (from 1) holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

/// Every key of a document with its place, and the text to turn offsets into lines.
#[derive(Clone, Debug)]
pub struct Document {
    entries: Vec<Entry>,
    lines: Lines,
    /// Whether the file writes a single `[topic]` rather than `[[topics]]`: its topic's keys
    /// are `topic.*`, though the scenario holds them in `topics[0]`.
    legacy_topic: bool,
}

impl Document {
    /// Indexes a parsed document.
    pub fn new(text: &str, document: &ImDocument<&str>) -> Document {
        let mut entries = Vec::new();
        collect_item("", document.as_item(), None, &mut entries);
        let table = document.as_table();
        Document {
            entries,
            lines: Lines::new(text),
            legacy_topic: table.contains_key("topic") && !table.contains_key("topics"),
        }
    }

    /// Every entry, in the order written.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    /// The key path as the file writes it: `topics[0].x` is `topic.x` in a file with a single
    /// `[topic]` table.
    pub fn written_path(&self, path: &str) -> String {
        match path.strip_prefix("topics[0]") {
            Some(rest) if self.legacy_topic => format!("topic{rest}"),
            _ => path.to_string(),
        }
    }

    /// The line of `path`, or of its nearest written ancestor (a key left out is reported on
    /// its table's line); `None` when nothing on the way is written.
    pub fn line_of_path(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(entry) = self.entries.iter().find(|entry| entry.path == path) {
                return Some(self.line_of(entry.span.start));
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// Whether the file writes the key at `path` itself.
    pub fn writes(&self, path: &str) -> bool {
        let written = self.written_path(path);
        self.entries.iter().any(|entry| entry.path == written)
    }

    /// The innermost key whose span holds `offset` (of two with the same span, the deeper:
    /// an array's only table before the array).
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|entry| entry.span.contains(&offset))
            .min_by_key(|entry| (entry.span.len(), std::cmp::Reverse(entry.path.len())))
            .map(|entry| entry.path.as_str())
    }

    /// The entries inside the table at `path`, at any depth.
    pub fn entries_under<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |entry| {
            entry
                .path
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Records `item` under `path` (its key starting at `key_start`), then its children.
fn collect_item(path: &str, item: &Item, key_start: Option<usize>, entries: &mut Vec<Entry>) {
    if let (false, Some(span)) = (path.is_empty(), item.span()) {
        let start = key_start.unwrap_or(span.start).min(span.start);
        entries.push(Entry {
            path: path.to_string(),
            span: start..span.end.max(start + 1),
            value: span,
        });
    }
    match item {
        Item::Table(table) => {
            for (key, child) in table.iter() {
                let key_start = table
                    .key(key)
                    .and_then(|key| key.span())
                    .map(|span| span.start);
                collect_item(&join(path, key), child, key_start, entries);
            }
        }
        Item::ArrayOfTables(tables) => {
            for (index, table) in tables.iter().enumerate() {
                let child = Item::Table(table.clone());
                collect_item(&format!("{path}[{index}]"), &child, None, entries);
            }
        }
        Item::Value(value) => collect_value(path, value, entries),
        Item::None => {}
    }
}

fn collect_value(path: &str, value: &Value, entries: &mut Vec<Entry>) {
    match value {
        Value::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                let element_path = format!("{path}[{index}]");
                if let Some(span) = element.span() {
                    entries.push(Entry {
                        path: element_path.clone(),
                        span: span.clone(),
                        value: span,
                    });
                }
                collect_value(&element_path, element, entries);
            }
        }
        Value::InlineTable(table) => {
            for (key, child) in table.iter() {
                let child_path = join(path, key);
                if let Some(span) = child.span() {
                    let start = table
                        .key(key)
                        .and_then(|key| key.span())
                        .map_or(span.start, |key| key.start);
                    entries.push(Entry {
                        path: child_path.clone(),
                        span: start..span.end,
                        value: span,
                    });
                }
                collect_value(&child_path, child, entries);
            }
        }
        _ => {}
    }
}

/// A file states exactly the settings it writes.
impl watermark_sim::kafka_profile::StatedSettings for Document {
    fn states(&self, path: &str) -> bool {
        self.writes(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n\n[topic]\npartitions = 2\n\n[[faults.scripted]]\nat_ms = 5\nfault = \"crash\"\ntarget = { broker = 7 }\n";

    fn document() -> Document {
        Document::new(TEXT, &ImDocument::parse(TEXT).unwrap())
    }

    #[test]
    fn every_key_has_its_line_and_a_left_out_key_has_its_tables() {
        let document = document();
        assert_eq!(document.line_of_path("name"), Some(1));
        assert_eq!(document.line_of_path("topic.partitions"), Some(4));
        assert_eq!(document.line_of_path("faults.scripted[0].target"), Some(9));
        assert_eq!(
            document.line_of_path("faults.scripted[0].target.broker"),
            Some(9)
        );
        assert_eq!(document.line_of_path("faults.scripted[0].label"), Some(6));
        assert_eq!(document.line_of_path("brokers"), None);
    }

    #[test]
    fn an_offset_names_the_innermost_key_and_a_single_topic_keeps_its_name() {
        let document = document();
        let offset = TEXT.find("7 }").unwrap();
        assert_eq!(
            document.path_at(offset),
            Some("faults.scripted[0].target.broker")
        );
        assert_eq!(
            document.written_path("topics[0].partitions"),
            "topic.partitions"
        );
    }
}
