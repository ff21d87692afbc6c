-- Hand-written rows for every forge table (ids from the identity columns): the peer round-trip fixture.
-- Covers NULLs, unicode, quotes, newlines, non-UTC offsets, microsecond timestamps, polymorphic pairs.
INSERT INTO users (email, username, name, encrypted_password, otp_secret, admin, created_at, updated_at) VALUES
 ('ada@example.com', 'ada', 'Ada Lovelace', '$2a$10$abc', NULL, true, '2024-01-02 03:04:05.123456+00', '2024-01-02 03:04:05+00'),
 ('bob@example.com', 'bob', 'Bøb "Quote" O''Brien', '$2a$10$def', 'OTPSECRET', false, '2024-02-03 04:05:06+02', '2024-02-03 04:05:06+00');
INSERT INTO projects (name, path, description, description_html, visibility_level, creator_id, runners_token, archived, created_at, updated_at) VALUES
 ('Forge', 'forge', E'Multi\nline ✓ description', '<p>Multi</p>', 20, 1, 'tok', false, now(), now());
INSERT INTO project_features (project_id, created_at, updated_at) VALUES (1, now(), now());
INSERT INTO project_members (project_id, user_id, access_level, created_by_id, created_at, updated_at) VALUES
 (1, 1, 50, NULL, now(), now()), (1, 2, 30, 1, now(), now());
INSERT INTO labels (project_id, title, color, description, created_at, updated_at) VALUES
 (1, 'bug', '#ff0000', NULL, now(), now()), (1, 'feature', '#00ff00', 'new things', now(), now());
INSERT INTO label_priorities (project_id, label_id, priority, created_at, updated_at) VALUES (1, 1, 1, now(), now());
INSERT INTO milestones (project_id, iid, title, due_date, created_at, updated_at) VALUES (1, 1, 'v1.0', '2025-06-30 00:00:00+00', now(), now());
INSERT INTO issues (project_id, iid, title, description, author_id, assignee_id, milestone_id, relative_position, closed_at, created_at, updated_at) VALUES
 (1, 1, 'First issue', 'body', 1, 2, 1, 512, NULL, now(), now()),
 (1, 2, 'Second issue', NULL, 2, NULL, NULL, NULL, now(), now(), now());
INSERT INTO issue_links (source_id, target_id, link_type, created_at, updated_at) VALUES (1, 2, 1, now(), now());
INSERT INTO ci_pipelines (project_id, iid, ref, sha, status, user_id, created_at, updated_at, finished_at) VALUES
 (1, 1, 'main', 'abc123', 'success', 1, now(), now(), now());
INSERT INTO ci_builds (pipeline_id, name, stage, status, token, trace, user_id, started_at, finished_at, created_at, updated_at) VALUES
 (1, 'rspec', 'test', 'success', 'buildtok', E'line1\nline2', 1, now(), now(), now(), now());
INSERT INTO merge_requests (project_id, iid, title, source_branch, target_branch, author_id, milestone_id, head_pipeline_id, created_at, updated_at) VALUES
 (1, 1, 'Add feature', 'feat', 'main', 2, 1, 1, now(), now());
INSERT INTO merge_request_diffs (merge_request_id, state, base_commit_sha, head_commit_sha, created_at, updated_at) VALUES
 (1, 'collected', 'base', 'head', now(), now());
INSERT INTO merge_request_diff_files (merge_request_diff_id, relative_order, old_path, new_path, diff, new_file) VALUES
 (1, 0, 'a.rs', 'a.rs', E'@@ -1 +1 @@\n-a\n+b\n', true);
INSERT INTO label_links (label_id, target_type, target_id, created_at, updated_at) VALUES
 (1, 'Issue', 1, now(), now()), (2, 'MergeRequest', 1, now(), now());
INSERT INTO snippets (project_id, author_id, title, content, file_name, secret_token, created_at, updated_at) VALUES
 (1, 1, 'snip', 'fn main() {}', 'main.rs', NULL, now(), now());
INSERT INTO notes (project_id, noteable_type, noteable_id, note, author_id, system, created_at, updated_at) VALUES
 (1, 'Issue', 1, 'note on issue', 2, false, now(), now()),
 (1, 'MergeRequest', 1, 'note on MR', 1, true, now(), now()),
 (1, 'Snippet', 1, 'note on snippet', 1, false, now(), now());
INSERT INTO award_emoji (name, user_id, awardable_type, awardable_id, created_at, updated_at) VALUES
 ('thumbsup', 1, 'Issue', 1, now(), now()), ('tada', 2, 'Note', 1, now(), now());
INSERT INTO events (project_id, author_id, target_type, target_id, action, created_at, updated_at) VALUES
 (1, 1, 'Issue', 1, 1, now(), now()), (1, 2, NULL, NULL, 5, now(), now());
INSERT INTO timelogs (issue_id, user_id, time_spent, spent_at, summary, created_at, updated_at) VALUES (1, 2, 3600, now(), 'work', now(), now());
INSERT INTO releases (project_id, tag, name, author_id, released_at, created_at, updated_at) VALUES (1, 'v1.0', 'Release 1', 1, now(), now(), now());
INSERT INTO release_links (release_id, name, url, created_at, updated_at) VALUES (1, 'binary', 'https://example.com/bin', now(), now());
INSERT INTO webhooks (project_id, url, token, created_at, updated_at) VALUES (1, 'https://example.com/hook', 'hooktok', now(), now());
INSERT INTO uploads (model_type, model_id, path, filename, size, checksum, uploaded_by_id, created_at) VALUES
 ('Project', 1, 'uploads/ab/logo.png', 'logo.png', 1234, 'deadbeef', 1, now());
INSERT INTO audit_logs (project_id, author_id, action, details, created_at) VALUES (1, 1, 'project.create', NULL, now());
INSERT INTO personal_access_tokens (user_id, name, token_digest, created_at) VALUES (1, 'ci', 'digest', now());
