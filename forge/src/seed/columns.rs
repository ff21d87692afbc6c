//! The columns the seed generator writes, per table, in table order (every column of forge's schema;
//! a test checks them against `schema.snapshot.json`).

use hoist::value::LogicalType::{self, Boolean as B, Integer as I, Text as T, Timestamp as Ts};

/// Column list of one table: `(name, logical type)`.
pub type Columns = &'static [(&'static str, LogicalType)];

pub const USERS: Columns = &[
    ("id", I),
    ("email", T),
    ("username", T),
    ("name", T),
    ("encrypted_password", T),
    ("otp_secret", T),
    ("admin", B),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const PERSONAL_ACCESS_TOKENS: Columns = &[
    ("id", I),
    ("user_id", I),
    ("name", T),
    ("token_digest", T),
    ("revoked", B),
    ("created_at", Ts),
];
pub const PROJECTS: Columns = &[
    ("id", I),
    ("name", T),
    ("path", T),
    ("description", T),
    ("description_html", T),
    ("visibility_level", I),
    ("creator_id", I),
    ("runners_token", T),
    ("archived", B),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const PROJECT_FEATURES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("issues_access_level", I),
    ("merge_requests_access_level", I),
    ("wiki_access_level", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const PROJECT_MEMBERS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("user_id", I),
    ("access_level", I),
    ("created_by_id", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const LABELS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("title", T),
    ("color", T),
    ("description", T),
    ("description_html", T),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const LABEL_PRIORITIES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("label_id", I),
    ("priority", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const MILESTONES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("iid", I),
    ("title", T),
    ("description", T),
    ("description_html", T),
    ("state", T),
    ("due_date", Ts),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const ISSUES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("iid", I),
    ("title", T),
    ("description", T),
    ("description_html", T),
    ("cached_markdown_version", I),
    ("state", T),
    ("confidential", B),
    ("author_id", I),
    ("assignee_id", I),
    ("milestone_id", I),
    ("relative_position", I),
    ("closed_at", Ts),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const ISSUE_LINKS: Columns = &[
    ("id", I),
    ("source_id", I),
    ("target_id", I),
    ("link_type", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const CI_PIPELINES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("iid", I),
    ("ref", T),
    ("sha", T),
    ("status", T),
    ("user_id", I),
    ("created_at", Ts),
    ("updated_at", Ts),
    ("finished_at", Ts),
];
pub const CI_BUILDS: Columns = &[
    ("id", I),
    ("pipeline_id", I),
    ("name", T),
    ("stage", T),
    ("status", T),
    ("token", T),
    ("trace", T),
    ("user_id", I),
    ("started_at", Ts),
    ("finished_at", Ts),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const MERGE_REQUESTS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("iid", I),
    ("title", T),
    ("description", T),
    ("description_html", T),
    ("cached_markdown_version", I),
    ("state", T),
    ("source_branch", T),
    ("target_branch", T),
    ("author_id", I),
    ("assignee_id", I),
    ("milestone_id", I),
    ("head_pipeline_id", I),
    ("merge_commit_sha", T),
    ("merged_at", Ts),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const MERGE_REQUEST_DIFFS: Columns = &[
    ("id", I),
    ("merge_request_id", I),
    ("state", T),
    ("base_commit_sha", T),
    ("head_commit_sha", T),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const MERGE_REQUEST_DIFF_FILES: Columns = &[
    ("id", I),
    ("merge_request_diff_id", I),
    ("relative_order", I),
    ("old_path", T),
    ("new_path", T),
    ("diff", T),
    ("new_file", B),
    ("deleted_file", B),
];
pub const LABEL_LINKS: Columns = &[
    ("id", I),
    ("label_id", I),
    ("target_type", T),
    ("target_id", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const SNIPPETS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("author_id", I),
    ("title", T),
    ("content", T),
    ("file_name", T),
    ("visibility_level", I),
    ("secret_token", T),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const NOTES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("noteable_type", T),
    ("noteable_id", I),
    ("note", T),
    ("note_html", T),
    ("cached_markdown_version", I),
    ("author_id", I),
    ("system", B),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const AWARD_EMOJI: Columns = &[
    ("id", I),
    ("name", T),
    ("user_id", I),
    ("awardable_type", T),
    ("awardable_id", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const EVENTS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("author_id", I),
    ("target_type", T),
    ("target_id", I),
    ("action", I),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const TIMELOGS: Columns = &[
    ("id", I),
    ("issue_id", I),
    ("user_id", I),
    ("time_spent", I),
    ("spent_at", Ts),
    ("summary", T),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const RELEASES: Columns = &[
    ("id", I),
    ("project_id", I),
    ("tag", T),
    ("name", T),
    ("description", T),
    ("description_html", T),
    ("author_id", I),
    ("released_at", Ts),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const RELEASE_LINKS: Columns = &[
    ("id", I),
    ("release_id", I),
    ("name", T),
    ("url", T),
    ("link_type", T),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const WEBHOOKS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("url", T),
    ("token", T),
    ("push_events", B),
    ("issues_events", B),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const UPLOADS: Columns = &[
    ("id", I),
    ("model_type", T),
    ("model_id", I),
    ("path", T),
    ("filename", T),
    ("size", I),
    ("checksum", T),
    ("uploaded_by_id", I),
    ("created_at", Ts),
];
pub const AUDIT_LOGS: Columns = &[
    ("id", I),
    ("project_id", I),
    ("author_id", I),
    ("action", T),
    ("details", T),
    ("created_at", Ts),
];

/// Every table the generator writes, with its columns, in insert order (parents first).
pub const ALL: &[(&str, Columns)] = &[
    ("users", USERS),
    ("personal_access_tokens", PERSONAL_ACCESS_TOKENS),
    ("projects", PROJECTS),
    ("project_features", PROJECT_FEATURES),
    ("project_members", PROJECT_MEMBERS),
    ("labels", LABELS),
    ("label_priorities", LABEL_PRIORITIES),
    ("milestones", MILESTONES),
    ("ci_pipelines", CI_PIPELINES),
    ("ci_builds", CI_BUILDS),
    ("issues", ISSUES),
    ("issue_links", ISSUE_LINKS),
    ("timelogs", TIMELOGS),
    ("merge_requests", MERGE_REQUESTS),
    ("merge_request_diffs", MERGE_REQUEST_DIFFS),
    ("merge_request_diff_files", MERGE_REQUEST_DIFF_FILES),
    ("snippets", SNIPPETS),
    ("notes", NOTES),
    ("award_emoji", AWARD_EMOJI),
    ("label_links", LABEL_LINKS),
    ("events", EVENTS),
    ("releases", RELEASES),
    ("release_links", RELEASE_LINKS),
    ("webhooks", WEBHOOKS),
    ("uploads", UPLOADS),
    ("audit_logs", AUDIT_LOGS),
];

#[cfg(test)]
mod tests {
    use hoist::schema::Schema;

    /// The generator writes every table of the checked-in snapshot, every column, same order and type.
    #[test]
    fn columns_match_the_schema_snapshot() {
        let schema = Schema::from_json(include_str!("../../../schema.snapshot.json")).unwrap();
        let mut ours: Vec<&str> = super::ALL.iter().map(|(t, _)| *t).collect();
        ours.sort_unstable();
        let theirs: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(ours, theirs);
        for (table, columns) in super::ALL {
            let t = schema.table(table).unwrap();
            let want: Vec<(&str, _)> = t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
            assert_eq!(columns.to_vec(), want, "columns of {table}");
        }
    }
}
