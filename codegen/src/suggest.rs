//! "Did you mean …?" suggestions.

/// The candidate closest to `name` if it is close enough to be a likely typo (Damerau-Levenshtein
/// distance at most a third of the name's length, at least 1). Ties keep the earliest candidate.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let d = strsim::damerau_levenshtein(name, candidate);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `Some("did you mean `x`?")` when there is a close candidate.
pub fn help<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["title", "description", "state"];
        assert_eq!(did_you_mean("titel", names), Some("title"));
        assert_eq!(did_you_mean("descripton", names), Some("description"));
        assert_eq!(did_you_mean("no_such_column", names), None);
        assert_eq!(did_you_mean("title", names), None);
        assert_eq!(
            help("stat", names).as_deref(),
            Some("did you mean `state`?")
        );
    }
}
