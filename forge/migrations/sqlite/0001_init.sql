-- forge reference schema, SQLite dialect (see /tmp/brief/forge_schema.md; keep the three dialects in step:
-- `forge schema dump` on each must give the same schema.snapshot.json).
-- Conventions: INTEGER PRIMARY KEY AUTOINCREMENT ids, INTEGER integers, TEXT text, BOOLEAN (0/1) booleans,
-- DATETIME timestamps (stored as UTC text). Secondary indexes on every foreign key column that is not
-- already the leading column of a unique index, and on every polymorphic (type, id) pair.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    encrypted_password TEXT NOT NULL,
    otp_secret TEXT,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_users_on_email ON users (email);
CREATE UNIQUE INDEX index_users_on_username ON users (username);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    visibility_level INTEGER NOT NULL DEFAULT 0,
    creator_id INTEGER REFERENCES users (id),
    runners_token TEXT,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_projects_on_path ON projects (path);
CREATE INDEX index_projects_on_creator_id ON projects (creator_id);

CREATE TABLE project_features (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    issues_access_level INTEGER NOT NULL DEFAULT 20,
    merge_requests_access_level INTEGER NOT NULL DEFAULT 20,
    wiki_access_level INTEGER NOT NULL DEFAULT 20,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_project_features_on_project_id ON project_features (project_id);

CREATE TABLE project_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    access_level INTEGER NOT NULL,
    created_by_id INTEGER REFERENCES users (id),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_project_members_on_project_id_and_user_id ON project_members (project_id, user_id);
CREATE INDEX index_project_members_on_user_id ON project_members (user_id);
CREATE INDEX index_project_members_on_created_by_id ON project_members (created_by_id);

CREATE TABLE labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    title TEXT NOT NULL,
    color TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_labels_on_project_id_and_title ON labels (project_id, title);

CREATE TABLE label_priorities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    label_id INTEGER NOT NULL REFERENCES labels (id),
    priority INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_label_priorities_on_project_id ON label_priorities (project_id);
CREATE INDEX index_label_priorities_on_label_id ON label_priorities (label_id);

CREATE TABLE milestones (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    state TEXT NOT NULL DEFAULT 'active',
    due_date DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_milestones_on_project_id_and_iid ON milestones (project_id, iid);

CREATE TABLE issues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    cached_markdown_version INTEGER,
    state TEXT NOT NULL DEFAULT 'opened',
    confidential BOOLEAN NOT NULL DEFAULT FALSE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    assignee_id INTEGER REFERENCES users (id),
    milestone_id INTEGER REFERENCES milestones (id),
    relative_position INTEGER,
    closed_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_issues_on_project_id_and_iid ON issues (project_id, iid);
CREATE INDEX index_issues_on_author_id ON issues (author_id);
CREATE INDEX index_issues_on_assignee_id ON issues (assignee_id);
CREATE INDEX index_issues_on_milestone_id ON issues (milestone_id);

CREATE TABLE issue_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES issues (id),
    target_id INTEGER NOT NULL REFERENCES issues (id),
    link_type INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_issue_links_on_source_id_and_target_id ON issue_links (source_id, target_id);
CREATE INDEX index_issue_links_on_target_id ON issue_links (target_id);

CREATE TABLE ci_pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    iid INTEGER NOT NULL,
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    finished_at DATETIME
);
CREATE UNIQUE INDEX index_ci_pipelines_on_project_id_and_iid ON ci_pipelines (project_id, iid);
CREATE INDEX index_ci_pipelines_on_user_id ON ci_pipelines (user_id);

CREATE TABLE ci_builds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id INTEGER NOT NULL REFERENCES ci_pipelines (id),
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    token TEXT,
    trace TEXT,
    user_id INTEGER REFERENCES users (id),
    started_at DATETIME,
    finished_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_ci_builds_on_pipeline_id ON ci_builds (pipeline_id);
CREATE INDEX index_ci_builds_on_user_id ON ci_builds (user_id);

CREATE TABLE merge_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    cached_markdown_version INTEGER,
    state TEXT NOT NULL DEFAULT 'opened',
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),
    assignee_id INTEGER REFERENCES users (id),
    milestone_id INTEGER REFERENCES milestones (id),
    head_pipeline_id INTEGER REFERENCES ci_pipelines (id),
    merge_commit_sha TEXT,
    merged_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_merge_requests_on_project_id_and_iid ON merge_requests (project_id, iid);
CREATE INDEX index_merge_requests_on_author_id ON merge_requests (author_id);
CREATE INDEX index_merge_requests_on_assignee_id ON merge_requests (assignee_id);
CREATE INDEX index_merge_requests_on_milestone_id ON merge_requests (milestone_id);
CREATE INDEX index_merge_requests_on_head_pipeline_id ON merge_requests (head_pipeline_id);

CREATE TABLE merge_request_diffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merge_request_id INTEGER NOT NULL REFERENCES merge_requests (id),
    state TEXT NOT NULL,
    base_commit_sha TEXT NOT NULL,
    head_commit_sha TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_merge_request_diffs_on_merge_request_id ON merge_request_diffs (merge_request_id);

CREATE TABLE merge_request_diff_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merge_request_diff_id INTEGER NOT NULL REFERENCES merge_request_diffs (id),
    relative_order INTEGER NOT NULL,
    old_path TEXT NOT NULL,
    new_path TEXT NOT NULL,
    diff TEXT NOT NULL,
    new_file BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_file BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX index_merge_request_diff_files_on_merge_request_diff_id ON merge_request_diff_files (merge_request_diff_id);

CREATE TABLE label_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label_id INTEGER NOT NULL REFERENCES labels (id),
    target_type TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_label_links_on_label_id ON label_links (label_id);
CREATE INDEX index_label_links_on_target_type_and_target_id ON label_links (target_type, target_id);

CREATE TABLE snippets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    file_name TEXT NOT NULL,
    visibility_level INTEGER NOT NULL DEFAULT 0,
    secret_token TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_snippets_on_project_id ON snippets (project_id);
CREATE INDEX index_snippets_on_author_id ON snippets (author_id);

CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    noteable_type TEXT NOT NULL,
    noteable_id INTEGER NOT NULL,
    note TEXT NOT NULL,
    note_html TEXT,
    cached_markdown_version INTEGER,
    author_id INTEGER NOT NULL REFERENCES users (id),
    system BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_notes_on_project_id ON notes (project_id);
CREATE INDEX index_notes_on_noteable_type_and_noteable_id ON notes (noteable_type, noteable_id);
CREATE INDEX index_notes_on_author_id ON notes (author_id);

CREATE TABLE award_emoji (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    awardable_type TEXT NOT NULL,
    awardable_id INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_award_emoji_on_user_id ON award_emoji (user_id);
CREATE INDEX index_award_emoji_on_awardable_type_and_awardable_id ON award_emoji (awardable_type, awardable_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    target_type TEXT,
    target_id INTEGER,
    action INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_events_on_project_id ON events (project_id);
CREATE INDEX index_events_on_author_id ON events (author_id);
CREATE INDEX index_events_on_target_type_and_target_id ON events (target_type, target_id);

CREATE TABLE timelogs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id INTEGER NOT NULL REFERENCES issues (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    time_spent INTEGER NOT NULL,
    spent_at DATETIME NOT NULL,
    summary TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_timelogs_on_issue_id ON timelogs (issue_id);
CREATE INDEX index_timelogs_on_user_id ON timelogs (user_id);

CREATE TABLE releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    tag TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    description_html TEXT,
    author_id INTEGER REFERENCES users (id),
    released_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX index_releases_on_project_id_and_tag ON releases (project_id, tag);
CREATE INDEX index_releases_on_author_id ON releases (author_id);

CREATE TABLE release_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id INTEGER NOT NULL REFERENCES releases (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    link_type TEXT NOT NULL DEFAULT 'other',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_release_links_on_release_id ON release_links (release_id);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    url TEXT NOT NULL,
    token TEXT,
    push_events BOOLEAN NOT NULL DEFAULT TRUE,
    issues_events BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX index_webhooks_on_project_id ON webhooks (project_id);

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_type TEXT NOT NULL,
    model_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    uploaded_by_id INTEGER REFERENCES users (id),
    created_at DATETIME NOT NULL
);
CREATE INDEX index_uploads_on_model_type_and_model_id ON uploads (model_type, model_id);
CREATE INDEX index_uploads_on_uploaded_by_id ON uploads (uploaded_by_id);

CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER REFERENCES projects (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    details TEXT,
    created_at DATETIME NOT NULL
);
CREATE INDEX index_audit_logs_on_project_id ON audit_logs (project_id);
CREATE INDEX index_audit_logs_on_author_id ON audit_logs (author_id);

CREATE TABLE personal_access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL
);
CREATE INDEX index_personal_access_tokens_on_user_id ON personal_access_tokens (user_id);
