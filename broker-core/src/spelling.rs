//! Suggestions for misspelled names a user writes (marks, checkers, fault kinds, bug
//! switches): the error names what was written and the closest known name, so a typo is a
//! one-line fix rather than a silent default (docs/STYLE.md, rule 16).

/// The known name closest to `name`, if one is close enough to be a likely typo.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| {
            (
                strsim::normalized_damerau_levenshtein(name, candidate),
                candidate,
            )
        })
        .filter(|(similarity, _)| *similarity >= 0.5)
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, candidate)| candidate)
}

/// "unknown KIND `name`; did you mean `closest`?" or, with nothing close, the known names.
pub fn unknown_name<'a>(
    kind: &str,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match closest(name, known.clone()) {
        Some(suggestion) => format!("unknown {kind} `{name}`; did you mean `{suggestion}`?"),
        None => {
            let all: Vec<&str> = known.into_iter().collect();
            format!("unknown {kind} `{name}`; known: {}", all.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_miss_gets_the_closest_name_and_nonsense_gets_the_list() {
        let known = ["lost-write", "duplicate", "poll-skip"];
        assert_eq!(closest("lost-writes", known), Some("lost-write"));
        assert_eq!(closest("dupliate", known), Some("duplicate"));
        assert_eq!(closest("zzzzzzzzzzzz", known), None);
        assert_eq!(
            unknown_name("checker", "zzz", known),
            "unknown checker `zzz`; known: lost-write, duplicate, poll-skip"
        );
    }
}
