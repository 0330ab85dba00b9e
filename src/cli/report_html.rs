//! The report's one HTML file: the page template, its style sheet and its script
//! (assets/report/) with the run's data inlined, so the file opens anywhere, offline, and
//! can be mailed or attached to a ticket as it is.

use watermark_sim::teaching::report_data::ReportData;

const TEMPLATE: &str = include_str!("../../assets/report/report.html");
const STYLE: &str = include_str!("../../assets/report/report.css");
const SCRIPT: &str = include_str!("../../assets/report/report.js");

/// The page for one run.
pub fn report_html(data: &ReportData) -> String {
    let title = format!(
        "{} seed {} · watermark report",
        data.header.scenario, data.header.seed
    );
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape_html(&title)),
            ("STYLE", STYLE),
            ("SCRIPT", SCRIPT),
            ("DATA", &data.to_embedded_json()),
        ],
    )
}

/// Replaces each `{{NAME}}` of `template` with its value, in one pass over the template:
/// a value is never searched again, so a scenario description that happens to contain
/// `{{SCRIPT}}` stays text. A placeholder with no value stays as written.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text safe inside an element or an attribute.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_each_placeholder_once_and_never_rescans_a_value() {
        let filled = fill(
            "<a>{{ONE}}</a>{{TWO}}{{UNKNOWN}}",
            &[("ONE", "{{TWO}}"), ("TWO", "2")],
        );
        assert_eq!(filled, "<a>{{TWO}}</a>2{{UNKNOWN}}");
    }

    #[test]
    fn titles_are_escaped() {
        assert_eq!(escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn the_assets_load_nothing_from_a_network_and_cannot_close_their_element() {
        for (name, text) in [
            ("report.html", TEMPLATE),
            ("report.css", STYLE),
            ("report.js", SCRIPT),
        ] {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{name}"
            );
            assert!(
                !text.contains("@import") && !text.contains("url("),
                "{name}"
            );
        }
        assert!(!SCRIPT.contains("</script"), "report.js");
        assert!(!STYLE.contains("</style"), "report.css");
        for placeholder in ["{{TITLE}}", "{{STYLE}}", "{{SCRIPT}}", "{{DATA}}"] {
            assert_eq!(TEMPLATE.matches(placeholder).count(), 1, "{placeholder}");
        }
    }
}
