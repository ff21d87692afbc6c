//! forge's tenant as hoist compiles it from `import_export.yml`, `safe_model_attributes.yml` and
//! `schema.snapshot.json` — plus forge's answers to the questions the config asks: the computed
//! `methods` and the `include_if_exportable` policy.

use serde_json::{Value, json};

hoist::tenant! {
    config = "../import_export.yml",
    attributes = "../safe_model_attributes.yml",
    schema = "../schema.snapshot.json",
}

/// forge's implementation of the config's `methods:`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForgeMethods;

impl Methods for ForgeMethods {
    fn labels_text_color(&self, row: &models::Label) -> Value {
        json!(text_color(&row.color))
    }

    fn issues_reference(&self, row: &models::Issue) -> Value {
        json!(format!("#{}", row.iid))
    }

    fn merge_requests_reference(&self, row: &models::MergeRequest) -> Value {
        json!(format!("!{}", row.iid))
    }
}

/// Readable text on a label of `color` (`#rrggbb`): dark on light colors, light on dark ones.
pub fn text_color(color: &str) -> &'static str {
    let hex = color.trim_start_matches('#');
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, f64::from)
    };
    if hex.len() != 6 {
        return "#FFFFFF";
    }
    let luminance = 0.299 * channel(0) + 0.587 * channel(2) + 0.114 * channel(4);
    if luminance > 150.0 {
        "#333333"
    } else {
        "#FFFFFF"
    }
}

/// Reporter, the lowest access level that sees confidential issues and private snippets.
pub const REPORTER: i64 = 20;

/// Who exports, and so which records may leave: confidential issues and private snippets only for
/// administrators, members with at least [`REPORTER`] access, and their authors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportViewer {
    pub user_id: Option<i64>,
    pub admin: bool,
    /// The viewer's access level in the exported project, if a member.
    pub access_level: Option<i64>,
}

impl ExportViewer {
    /// An administrator: everything is exported.
    pub fn admin() -> ExportViewer {
        ExportViewer {
            user_id: None,
            admin: true,
            access_level: None,
        }
    }

    fn sees_private(&self, author_id: i64) -> bool {
        self.admin
            || self.access_level.is_some_and(|l| l >= REPORTER)
            || self.user_id == Some(author_id)
    }
}

impl ExportPolicy for ExportViewer {
    fn issues(&self, row: &policy::Issue) -> bool {
        !row.confidential || self.sees_private(row.author_id)
    }

    fn snippets(&self, row: &policy::Snippet) -> bool {
        // visibility_level: 0 private, 10 internal, 20 public
        row.visibility_level > 0 || self.sees_private(row.author_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_color_follows_luminance() {
        assert_eq!(text_color("#FFFFFF"), "#333333");
        assert_eq!(text_color("#000000"), "#FFFFFF");
        assert_eq!(text_color("#F0E68C"), "#333333");
        assert_eq!(text_color("#8B0000"), "#FFFFFF");
        assert_eq!(text_color("nonsense"), "#FFFFFF");
    }

    #[test]
    fn plan_is_forge_shaped() {
        assert_eq!(PLAN.root.name, "project");
        assert_eq!(PLAN.table_of(&PLAN.root).name, "projects");
        let names: Vec<&str> = PLAN.tables.iter().map(|t| t.name).collect();
        assert!(names.contains(&"merge_request_diff_files"));
        assert!(!names.contains(&"audit_logs"));
        assert!(!names.contains(&"users"));
    }
}
