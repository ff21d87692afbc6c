//! Rust names for generated items: field idents for column names (raw idents for keywords,
//! sanitized names plus `#[serde(rename)]` for anything else), type names for tables and records.

use crate::inflect;
use crate::plan::PlanIr;
use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && name != "_"
}

/// A Rust identifier for `name` and, when it had to be changed beyond `r#`, the original name
/// (for `#[serde(rename = "…")]`).
pub fn field(name: &str) -> (Ident, Option<String>) {
    if is_ident(name) && !KEYWORDS.contains(&name) {
        return (Ident::new(name, Span::call_site()), None);
    }
    if is_ident(name) && !NOT_RAW.contains(&name) {
        return (Ident::new_raw(name, Span::call_site()), None);
    }
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') || s.is_empty() {
        s.insert(0, '_');
    }
    if KEYWORDS.contains(&s.as_str()) || s == "_" {
        s.push('_');
    }
    (Ident::new(&s, Span::call_site()), Some(name.to_string()))
}

/// An identifier built from already-plain parts (`labels` + `text_color`).
pub fn ident(name: &str) -> Ident {
    field(name).0
}

/// A type identifier.
pub fn type_ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `UpperCamel` singular struct name per plan table (`Issue`, `AwardEmoji`), unique.
pub fn model_names(plan: &PlanIr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in &plan.tables {
        let mut base = inflect::type_name(&t.name);
        if !is_ident(&base) || KEYWORDS.contains(&base.as_str()) {
            base = format!(
                "{}Row",
                base.replace(|c: char| !c.is_ascii_alphanumeric(), "")
            );
        }
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("T{base}");
        }
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert_eq!(field("title").0.to_string(), "title");
        assert_eq!(field("ref").0.to_string(), "r#ref");
        assert_eq!(field("ref").1, None);
        assert_eq!(
            field("self"),
            (Ident::new("self_", Span::call_site()), Some("self".into()))
        );
        assert_eq!(field("2fa").0.to_string(), "_2fa");
        assert_eq!(field("Created At").0.to_string(), "created_at");
        assert_eq!(field("Created At").1.as_deref(), Some("Created At"));
    }
}
