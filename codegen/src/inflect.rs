//! English singular/plural of snake_case names, following ActiveSupport's default inflections (so
//! the names GitLab's config uses resolve the way Rails resolves them). Only the last `_` segment
//! changes: `merge_request_diff_files` ↔ `merge_request_diff_file`.
//!
//! Deviations from Rails: `data`, `metadata` and `emoji` are uncountable (Rails would say
//! `datum`, `metadatum`; `emoji` has no Rails rule and already stays as is).

const UNCOUNTABLE: &[&str] = &[
    "equipment",
    "information",
    "rice",
    "money",
    "species",
    "series",
    "fish",
    "sheep",
    "jeans",
    "police",
    "news",
    "data",
    "metadata",
    "emoji",
    "feedback",
];

const IRREGULAR: &[(&str, &str)] = &[
    ("person", "people"),
    ("man", "men"),
    ("child", "children"),
    ("sex", "sexes"),
    ("move", "moves"),
    ("zombie", "zombies"),
    ("ox", "oxen"),
    ("mouse", "mice"),
    ("louse", "lice"),
    ("quiz", "quizzes"),
];

fn split(word: &str) -> (&str, &str) {
    match word.rfind('_') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    }
}

fn is_vowel_y(c: Option<char>) -> bool {
    matches!(c, Some('a' | 'e' | 'i' | 'o' | 'u' | 'y'))
}

/// The singular of a snake_case plural (`priorities` → `priority`, `award_emoji` → `award_emoji`).
pub fn singularize(word: &str) -> String {
    let (head, last) = split(word);
    format!("{head}{}", singular_word(last))
}

/// The plural of a snake_case singular (`project` → `projects`, `priority` → `priorities`).
pub fn pluralize(word: &str) -> String {
    let (head, last) = split(word);
    format!("{head}{}", plural_word(last))
}

fn singular_word(w: &str) -> String {
    if w.is_empty() || UNCOUNTABLE.contains(&w) {
        return w.to_string();
    }
    if let Some((s, _)) = IRREGULAR.iter().find(|(_, p)| *p == w) {
        return (*s).to_string();
    }
    let strip = |n: usize| w[..w.len() - n].to_string();
    for base in ["alias", "status"] {
        if w.ends_with(base) {
            return w.to_string();
        }
        if w.ends_with(&format!("{base}es")) {
            return strip(2);
        }
    }
    if let Some(stem) = w.strip_suffix("matrices") {
        return format!("{stem}matrix");
    }
    for (plural, singular) in [("vertices", "vertex"), ("indices", "index")] {
        if let Some(stem) = w.strip_suffix(plural) {
            return format!("{stem}{singular}");
        }
    }
    if w.ends_with("databases") {
        return strip(1);
    }
    for stem in ["octopi", "viri"] {
        if w.ends_with(stem) {
            return format!("{}us", &w[..w.len() - 1]);
        }
    }
    if w.ends_with("buses") {
        return strip(2);
    }
    if w.ends_with("shoes") {
        return strip(1);
    }
    if w.ends_with("oes") {
        return strip(2);
    }
    for suffix in ["xes", "ches", "sses", "shes"] {
        if w.ends_with(suffix) {
            return strip(2);
        }
    }
    if w.ends_with("movies") {
        return strip(1);
    }
    if let Some(stem) = w.strip_suffix("ies") {
        let before = stem.chars().last();
        if stem.ends_with("qu") || (before.is_some() && !is_vowel_y(before)) {
            return format!("{stem}y");
        }
    }
    if w.ends_with("tives") || w.ends_with("hives") {
        return strip(1);
    }
    if let Some(stem) = w.strip_suffix("ves") {
        return match stem.chars().last() {
            Some('l' | 'r') => format!("{stem}f"),
            Some(c) if c != 'f' => format!("{stem}fe"),
            _ => w.to_string(),
        };
    }
    for stem in [
        "analy", "ba", "diagno", "parenthe", "progno", "synop", "the",
    ] {
        if w.ends_with(&format!("{stem}ses")) {
            return format!("{}is", &w[..w.len() - 2]);
        }
    }
    if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return w.to_string();
    }
    if let Some(stem) = w.strip_suffix('s') {
        return stem.to_string();
    }
    w.to_string()
}

fn plural_word(w: &str) -> String {
    if w.is_empty() || UNCOUNTABLE.contains(&w) {
        return w.to_string();
    }
    if let Some((_, p)) = IRREGULAR.iter().find(|(s, _)| *s == w) {
        return (*p).to_string();
    }
    if IRREGULAR.iter().any(|(_, p)| *p == w) {
        return w.to_string();
    }
    if w.ends_with("alias") || w.ends_with("status") || w.ends_with("bus") {
        return format!("{w}es");
    }
    if w.ends_with("octopus") || w.ends_with("virus") {
        return format!("{}i", &w[..w.len() - 2]);
    }
    if w == "axis" || w == "testis" {
        return format!("{}es", &w[..w.len() - 2]);
    }
    if w.ends_with("buffalo") || w.ends_with("tomato") {
        return format!("{w}es");
    }
    if let Some(stem) = w.strip_suffix("sis") {
        return format!("{stem}ses");
    }
    if let Some(stem) = w.strip_suffix("um")
        && matches!(stem.chars().last(), Some('t' | 'i'))
    {
        return format!("{stem}a");
    }
    if let Some(stem) = w.strip_suffix("fe")
        && stem.chars().last().is_some_and(|c| c != 'f')
    {
        return format!("{stem}ves");
    }
    if let Some(stem) = w.strip_suffix('f')
        && matches!(stem.chars().last(), Some('l' | 'r'))
    {
        return format!("{stem}ves");
    }
    if let Some(stem) = w.strip_suffix('y') {
        let before = stem.chars().last();
        if stem.ends_with("qu") || (before.is_some() && !is_vowel_y(before)) {
            return format!("{stem}ies");
        }
    }
    for suffix in ["x", "ch", "ss", "sh"] {
        if w.ends_with(suffix) {
            return format!("{w}es");
        }
    }
    for (s, p) in [
        ("matrix", "matrices"),
        ("vertex", "vertices"),
        ("index", "indices"),
    ] {
        if let Some(stem) = w.strip_suffix(s) {
            return format!("{stem}{p}");
        }
    }
    if w.ends_with('s') {
        return w.to_string();
    }
    format!("{w}s")
}

/// `UpperCamelCase` of the singular: `merge_request_diff_files` → `MergeRequestDiffFile`.
pub fn type_name(table: &str) -> String {
    use heck::ToUpperCamelCase;
    singularize(table).to_upper_camel_case()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forge_names() {
        for (s, p) in [
            ("project", "projects"),
            ("issue", "issues"),
            ("label_priority", "label_priorities"),
            ("project_feature", "project_features"),
            ("merge_request_diff_file", "merge_request_diff_files"),
            ("award_emoji", "award_emoji"),
            ("ci_build", "ci_builds"),
            ("release", "releases"),
            ("status", "statuses"),
            ("address", "addresses"),
            ("box", "boxes"),
            ("match", "matches"),
            ("person", "people"),
            ("half", "halves"),
            ("wife", "wives"),
            ("analysis", "analyses"),
            ("key", "keys"),
            ("day", "days"),
            ("datum", "data"),
        ] {
            if s != "datum" {
                assert_eq!(singularize(p), s, "singular of {p}");
            }
            assert_eq!(pluralize(s), p, "plural of {s}");
        }
        assert_eq!(singularize("priorities"), "priority");
        assert_eq!(singularize("links"), "link");
        assert_eq!(singularize("label"), "label");
        assert_eq!(pluralize("issues"), "issues");
        assert_eq!(
            type_name("merge_request_diff_files"),
            "MergeRequestDiffFile"
        );
        assert_eq!(type_name("award_emoji"), "AwardEmoji");
        assert_eq!(type_name("project_features"), "ProjectFeature");
        assert_eq!(type_name("issues"), "Issue");
    }

    proptest! {
        /// Regular nouns (no inflection special case) round-trip.
        #[test]
        fn regular_nouns_round_trip(stem in "[bcdfgklmnprt][aeiou][bdgklnprt]", prefix in "([a-z]{2,5}_)?") {
            // irregular words (`men` ↔ `man`) are not regular nouns
            prop_assume!(!IRREGULAR.iter().any(|(s, p)| stem == *s || stem == *p));
            let word = format!("{prefix}{stem}");
            prop_assert_eq!(singularize(&pluralize(&word)), word);
        }
    }
}
