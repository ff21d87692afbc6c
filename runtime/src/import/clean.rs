//! Which keys of an archive record the importer keeps.
//!
//! DESIGN.md "Import semantics / Cleaning": drop `id` handling to the engine; drop `*_id`/`*_ids` that the
//! Plan does not declare as references; drop `*_html`, `cached_markdown_version`, keys containing
//! `attributes`, `remote_*_url`; drop any key that is not an exported column. Every dropped key is
//! reported (aggregated) as a warning.

use crate::plan::{Column, Role};

/// Why a key was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Not an exported column, relation or method of this model.
    UnknownKey,
    /// Rendered or cached content (`*_html`, `cached_markdown_version`) is recomputed by the app.
    Rendered,
    /// Mass-assignment bait (`*attributes*`) or remote fetch bait (`remote_*_url`).
    Prohibited,
    /// A foreign key the plan does not declare as a reference.
    UndeclaredReference,
}

impl DropReason {
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::UnknownKey => "not an exported column of this model",
            DropReason::Rendered => "rendered/cached content is never imported",
            DropReason::Prohibited => "prohibited key",
            DropReason::UndeclaredReference => "foreign key not declared as a reference",
        }
    }
}

/// Whether a key that names an exported column may still not be imported, and why.
pub(crate) fn prohibited(key: &str, column: Option<&Column>) -> Option<DropReason> {
    if key.ends_with("_html") || key == "cached_markdown_version" {
        return Some(DropReason::Rendered);
    }
    if key.contains("attributes") || (key.starts_with("remote_") && key.ends_with("_url")) {
        return Some(DropReason::Prohibited);
    }
    if key.ends_with("_id") || key.ends_with("_ids") {
        let declared = column.is_some_and(|c| {
            matches!(
                c.role,
                Role::Reference { .. } | Role::PolymorphicId { .. } | Role::UserReference
            )
        });
        if !declared {
            return Some(DropReason::UndeclaredReference);
        }
    }
    match column {
        None => Some(DropReason::UnknownKey),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::LogicalType;

    fn col(name: &'static str, role: Role) -> Column {
        Column {
            name,
            ty: LogicalType::Integer,
            nullable: true,
            role,
        }
    }

    #[test]
    fn rules() {
        let data = col("title", Role::Data);
        assert_eq!(prohibited("title", Some(&data)), None);
        assert_eq!(prohibited("title", None), Some(DropReason::UnknownKey));
        let html = col("description_html", Role::Data);
        assert_eq!(
            prohibited("description_html", Some(&html)),
            Some(DropReason::Rendered)
        );
        assert_eq!(
            prohibited("cached_markdown_version", None),
            Some(DropReason::Rendered)
        );
        assert_eq!(
            prohibited("project_attributes", None),
            Some(DropReason::Prohibited)
        );
        assert_eq!(
            prohibited("remote_avatar_url", None),
            Some(DropReason::Prohibited)
        );
        let fk = col("owner_id", Role::Data);
        assert_eq!(
            prohibited("owner_id", Some(&fk)),
            Some(DropReason::UndeclaredReference)
        );
        let r = col("milestone_id", Role::Reference { table: 1 });
        assert_eq!(prohibited("milestone_id", Some(&r)), None);
        let u = col("author_id", Role::UserReference);
        assert_eq!(prohibited("author_id", Some(&u)), None);
    }
}
