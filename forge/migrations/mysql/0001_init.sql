-- forge reference schema, MariaDB/MySQL dialect (see /tmp/brief/forge_schema.md; keep the three dialects in
-- step: `forge schema dump` on each must give the same schema.snapshot.json).
-- Conventions: BIGINT AUTO_INCREMENT ids, BIGINT integers, TINYINT(1) booleans, DATETIME(6) timestamps (UTC),
-- VARCHAR(255) for indexed text, LONGTEXT for long content, TEXT otherwise. utf8mb4_bin everywhere, so text
-- compares and sorts by code point and unique keys are case-sensitive, as on SQLite and PostgreSQL.
-- Secondary indexes on every foreign key column that is not already the leading column of a unique index,
-- and on every polymorphic (type, id) pair.

CREATE TABLE users (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    username VARCHAR(255) NOT NULL,
    name TEXT NOT NULL,
    encrypted_password TEXT NOT NULL,
    otp_secret TEXT,
    admin TINYINT(1) NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_users_on_email (email),
    UNIQUE KEY index_users_on_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE projects (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    path VARCHAR(255) NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    visibility_level BIGINT NOT NULL DEFAULT 0,
    creator_id BIGINT,
    runners_token TEXT,
    archived TINYINT(1) NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_projects_on_path (path),
    KEY index_projects_on_creator_id (creator_id),
    CONSTRAINT fk_projects_creator_id FOREIGN KEY (creator_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE project_features (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    issues_access_level BIGINT NOT NULL DEFAULT 20,
    merge_requests_access_level BIGINT NOT NULL DEFAULT 20,
    wiki_access_level BIGINT NOT NULL DEFAULT 20,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_project_features_on_project_id (project_id),
    CONSTRAINT fk_project_features_project_id FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE project_members (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    access_level BIGINT NOT NULL,
    created_by_id BIGINT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_project_members_on_project_id_and_user_id (project_id, user_id),
    KEY index_project_members_on_user_id (user_id),
    KEY index_project_members_on_created_by_id (created_by_id),
    CONSTRAINT fk_project_members_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_project_members_user_id FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_project_members_created_by_id FOREIGN KEY (created_by_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE labels (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    title VARCHAR(255) NOT NULL,
    color TEXT NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_labels_on_project_id_and_title (project_id, title),
    CONSTRAINT fk_labels_project_id FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE label_priorities (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    label_id BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_label_priorities_on_project_id (project_id),
    KEY index_label_priorities_on_label_id (label_id),
    CONSTRAINT fk_label_priorities_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_label_priorities_label_id FOREIGN KEY (label_id) REFERENCES labels (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE milestones (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    iid BIGINT NOT NULL,
    title TEXT NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    state TEXT NOT NULL DEFAULT 'active',
    due_date DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_milestones_on_project_id_and_iid (project_id, iid),
    CONSTRAINT fk_milestones_project_id FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE issues (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    iid BIGINT NOT NULL,
    title TEXT NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    cached_markdown_version BIGINT,
    state TEXT NOT NULL DEFAULT 'opened',
    confidential TINYINT(1) NOT NULL DEFAULT 0,
    author_id BIGINT NOT NULL,
    assignee_id BIGINT,
    milestone_id BIGINT,
    relative_position BIGINT,
    closed_at DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_issues_on_project_id_and_iid (project_id, iid),
    KEY index_issues_on_author_id (author_id),
    KEY index_issues_on_assignee_id (assignee_id),
    KEY index_issues_on_milestone_id (milestone_id),
    CONSTRAINT fk_issues_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_issues_author_id FOREIGN KEY (author_id) REFERENCES users (id),
    CONSTRAINT fk_issues_assignee_id FOREIGN KEY (assignee_id) REFERENCES users (id),
    CONSTRAINT fk_issues_milestone_id FOREIGN KEY (milestone_id) REFERENCES milestones (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE issue_links (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    source_id BIGINT NOT NULL,
    target_id BIGINT NOT NULL,
    link_type BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_issue_links_on_source_id_and_target_id (source_id, target_id),
    KEY index_issue_links_on_target_id (target_id),
    CONSTRAINT fk_issue_links_source_id FOREIGN KEY (source_id) REFERENCES issues (id),
    CONSTRAINT fk_issue_links_target_id FOREIGN KEY (target_id) REFERENCES issues (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ci_pipelines (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    iid BIGINT NOT NULL,
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id BIGINT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6),
    UNIQUE KEY index_ci_pipelines_on_project_id_and_iid (project_id, iid),
    KEY index_ci_pipelines_on_user_id (user_id),
    CONSTRAINT fk_ci_pipelines_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_ci_pipelines_user_id FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ci_builds (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    pipeline_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    token TEXT,
    trace LONGTEXT,
    user_id BIGINT,
    started_at DATETIME(6),
    finished_at DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_ci_builds_on_pipeline_id (pipeline_id),
    KEY index_ci_builds_on_user_id (user_id),
    CONSTRAINT fk_ci_builds_pipeline_id FOREIGN KEY (pipeline_id) REFERENCES ci_pipelines (id),
    CONSTRAINT fk_ci_builds_user_id FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE merge_requests (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    iid BIGINT NOT NULL,
    title TEXT NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    cached_markdown_version BIGINT,
    state TEXT NOT NULL DEFAULT 'opened',
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    assignee_id BIGINT,
    milestone_id BIGINT,
    head_pipeline_id BIGINT,
    merge_commit_sha TEXT,
    merged_at DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_merge_requests_on_project_id_and_iid (project_id, iid),
    KEY index_merge_requests_on_author_id (author_id),
    KEY index_merge_requests_on_assignee_id (assignee_id),
    KEY index_merge_requests_on_milestone_id (milestone_id),
    KEY index_merge_requests_on_head_pipeline_id (head_pipeline_id),
    CONSTRAINT fk_merge_requests_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_merge_requests_author_id FOREIGN KEY (author_id) REFERENCES users (id),
    CONSTRAINT fk_merge_requests_assignee_id FOREIGN KEY (assignee_id) REFERENCES users (id),
    CONSTRAINT fk_merge_requests_milestone_id FOREIGN KEY (milestone_id) REFERENCES milestones (id),
    CONSTRAINT fk_merge_requests_head_pipeline_id FOREIGN KEY (head_pipeline_id) REFERENCES ci_pipelines (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE merge_request_diffs (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    merge_request_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    base_commit_sha TEXT NOT NULL,
    head_commit_sha TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_merge_request_diffs_on_merge_request_id (merge_request_id),
    CONSTRAINT fk_merge_request_diffs_merge_request_id FOREIGN KEY (merge_request_id) REFERENCES merge_requests (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE merge_request_diff_files (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    merge_request_diff_id BIGINT NOT NULL,
    relative_order BIGINT NOT NULL,
    old_path TEXT NOT NULL,
    new_path TEXT NOT NULL,
    diff LONGTEXT NOT NULL,
    new_file TINYINT(1) NOT NULL DEFAULT 0,
    deleted_file TINYINT(1) NOT NULL DEFAULT 0,
    KEY index_merge_request_diff_files_on_merge_request_diff_id (merge_request_diff_id),
    CONSTRAINT fk_merge_request_diff_files_merge_request_diff_id FOREIGN KEY (merge_request_diff_id) REFERENCES merge_request_diffs (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE label_links (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    label_id BIGINT NOT NULL,
    target_type VARCHAR(255) NOT NULL,
    target_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_label_links_on_label_id (label_id),
    KEY index_label_links_on_target_type_and_target_id (target_type, target_id),
    CONSTRAINT fk_label_links_label_id FOREIGN KEY (label_id) REFERENCES labels (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE snippets (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    content LONGTEXT NOT NULL,
    file_name TEXT NOT NULL,
    visibility_level BIGINT NOT NULL DEFAULT 0,
    secret_token TEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_snippets_on_project_id (project_id),
    KEY index_snippets_on_author_id (author_id),
    CONSTRAINT fk_snippets_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_snippets_author_id FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notes (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    noteable_type VARCHAR(255) NOT NULL,
    noteable_id BIGINT NOT NULL,
    note LONGTEXT NOT NULL,
    note_html LONGTEXT,
    cached_markdown_version BIGINT,
    author_id BIGINT NOT NULL,
    `system` TINYINT(1) NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_notes_on_project_id (project_id),
    KEY index_notes_on_noteable_type_and_noteable_id (noteable_type, noteable_id),
    KEY index_notes_on_author_id (author_id),
    CONSTRAINT fk_notes_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_notes_author_id FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE award_emoji (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    awardable_type VARCHAR(255) NOT NULL,
    awardable_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_award_emoji_on_user_id (user_id),
    KEY index_award_emoji_on_awardable_type_and_awardable_id (awardable_type, awardable_id),
    CONSTRAINT fk_award_emoji_user_id FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE events (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    target_type VARCHAR(255),
    target_id BIGINT,
    action BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_events_on_project_id (project_id),
    KEY index_events_on_author_id (author_id),
    KEY index_events_on_target_type_and_target_id (target_type, target_id),
    CONSTRAINT fk_events_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_events_author_id FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE timelogs (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    issue_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    time_spent BIGINT NOT NULL,
    spent_at DATETIME(6) NOT NULL,
    summary TEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_timelogs_on_issue_id (issue_id),
    KEY index_timelogs_on_user_id (user_id),
    CONSTRAINT fk_timelogs_issue_id FOREIGN KEY (issue_id) REFERENCES issues (id),
    CONSTRAINT fk_timelogs_user_id FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE releases (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    tag VARCHAR(255) NOT NULL,
    name TEXT NOT NULL,
    description LONGTEXT,
    description_html LONGTEXT,
    author_id BIGINT,
    released_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY index_releases_on_project_id_and_tag (project_id, tag),
    KEY index_releases_on_author_id (author_id),
    CONSTRAINT fk_releases_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_releases_author_id FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE release_links (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    link_type TEXT NOT NULL DEFAULT 'other',
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_release_links_on_release_id (release_id),
    CONSTRAINT fk_release_links_release_id FOREIGN KEY (release_id) REFERENCES releases (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhooks (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    url TEXT NOT NULL,
    token TEXT,
    push_events TINYINT(1) NOT NULL DEFAULT 1,
    issues_events TINYINT(1) NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY index_webhooks_on_project_id (project_id),
    CONSTRAINT fk_webhooks_project_id FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE uploads (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    model_type VARCHAR(255) NOT NULL,
    model_id BIGINT NOT NULL,
    path TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    checksum TEXT NOT NULL,
    uploaded_by_id BIGINT,
    created_at DATETIME(6) NOT NULL,
    KEY index_uploads_on_model_type_and_model_id (model_type, model_id),
    KEY index_uploads_on_uploaded_by_id (uploaded_by_id),
    CONSTRAINT fk_uploads_uploaded_by_id FOREIGN KEY (uploaded_by_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_logs (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    project_id BIGINT,
    author_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    details LONGTEXT,
    created_at DATETIME(6) NOT NULL,
    KEY index_audit_logs_on_project_id (project_id),
    KEY index_audit_logs_on_author_id (author_id),
    CONSTRAINT fk_audit_logs_project_id FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT fk_audit_logs_author_id FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE personal_access_tokens (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    revoked TINYINT(1) NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    KEY index_personal_access_tokens_on_user_id (user_id),
    CONSTRAINT fk_personal_access_tokens_user_id FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
