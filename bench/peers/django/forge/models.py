"""Django models over forge's tables (see /tmp/brief/forge_schema.md in the hoist tree).

The tables are created by forge's own migrations (``forge/migrations/postgres``),
so every model is ``managed = False`` with an explicit ``db_table``, and every
foreign key names its column with ``db_column``. Polymorphic references
(``*_type`` / ``*_id`` pairs) are plain fields, as in the schema.

Models are declared parents first (a topological order of the foreign keys).
``dumpdata`` without natural keys serializes models in declaration order and
``loaddata`` inserts in file order, so this order lets every row's parents be
inserted before it, whether or not the database's FK constraints are
deferrable. Keep it that way when adding models.
"""

from django.db import models

# Every foreign key: the database owns referential actions; Django never
# cascades, and no reverse accessors are needed.
_FK = {"on_delete": models.DO_NOTHING, "related_name": "+"}


class User(models.Model):
    """``users``."""

    id = models.BigAutoField(primary_key=True)
    email = models.TextField(unique=True)
    username = models.TextField(unique=True)
    name = models.TextField()
    encrypted_password = models.TextField()
    otp_secret = models.TextField(null=True)
    admin = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "users"


class Project(models.Model):
    """``projects``: the tenant root."""

    id = models.BigAutoField(primary_key=True)
    name = models.TextField()
    path = models.TextField(unique=True)
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    visibility_level = models.BigIntegerField(default=0)
    creator = models.ForeignKey(User, db_column="creator_id", null=True, **_FK)
    runners_token = models.TextField(null=True)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "projects"


class ProjectFeature(models.Model):
    """``project_features`` (one per project)."""

    id = models.BigAutoField(primary_key=True)
    project = models.OneToOneField(Project, db_column="project_id", **_FK)
    issues_access_level = models.BigIntegerField(default=20)
    merge_requests_access_level = models.BigIntegerField(default=20)
    wiki_access_level = models.BigIntegerField(default=20)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "project_features"


class ProjectMember(models.Model):
    """``project_members``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    user = models.ForeignKey(User, db_column="user_id", **_FK)
    access_level = models.BigIntegerField()
    created_by = models.ForeignKey(User, db_column="created_by_id", null=True, **_FK)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "project_members"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="project_members_project_user"
            )
        ]


class Label(models.Model):
    """``labels``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    title = models.TextField()
    color = models.TextField()
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "labels"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "title"], name="labels_project_title"
            )
        ]


class LabelPriority(models.Model):
    """``label_priorities``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    label = models.ForeignKey(Label, db_column="label_id", **_FK)
    priority = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "label_priorities"


class Milestone(models.Model):
    """``milestones``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    iid = models.BigIntegerField()
    title = models.TextField()
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    state = models.TextField(default="active")
    due_date = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "milestones"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "iid"], name="milestones_project_iid"
            )
        ]


class Issue(models.Model):
    """``issues``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    iid = models.BigIntegerField()
    title = models.TextField()
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    cached_markdown_version = models.BigIntegerField(null=True)
    state = models.TextField(default="opened")
    confidential = models.BooleanField(default=False)
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    assignee = models.ForeignKey(User, db_column="assignee_id", null=True, **_FK)
    milestone = models.ForeignKey(
        Milestone, db_column="milestone_id", null=True, **_FK
    )
    relative_position = models.BigIntegerField(null=True)
    closed_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "issues"
        constraints = [
            models.UniqueConstraint(fields=["project", "iid"], name="issues_project_iid")
        ]


class IssueLink(models.Model):
    """``issue_links``."""

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(Issue, db_column="source_id", **_FK)
    target = models.ForeignKey(Issue, db_column="target_id", **_FK)
    link_type = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "issue_links"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target"], name="issue_links_source_target"
            )
        ]


class CiPipeline(models.Model):
    """``ci_pipelines``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    iid = models.BigIntegerField()
    ref = models.TextField()
    sha = models.TextField()
    status = models.TextField()
    user = models.ForeignKey(User, db_column="user_id", null=True, **_FK)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "ci_pipelines"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "iid"], name="ci_pipelines_project_iid"
            )
        ]


class CiBuild(models.Model):
    """``ci_builds``."""

    id = models.BigAutoField(primary_key=True)
    pipeline = models.ForeignKey(CiPipeline, db_column="pipeline_id", **_FK)
    name = models.TextField()
    stage = models.TextField()
    status = models.TextField()
    token = models.TextField(null=True)
    trace = models.TextField(null=True)
    user = models.ForeignKey(User, db_column="user_id", null=True, **_FK)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "ci_builds"


class MergeRequest(models.Model):
    """``merge_requests``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    iid = models.BigIntegerField()
    title = models.TextField()
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    cached_markdown_version = models.BigIntegerField(null=True)
    state = models.TextField(default="opened")
    source_branch = models.TextField()
    target_branch = models.TextField()
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    assignee = models.ForeignKey(User, db_column="assignee_id", null=True, **_FK)
    milestone = models.ForeignKey(
        Milestone, db_column="milestone_id", null=True, **_FK
    )
    head_pipeline = models.ForeignKey(
        CiPipeline, db_column="head_pipeline_id", null=True, **_FK
    )
    merge_commit_sha = models.TextField(null=True)
    merged_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "merge_requests"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "iid"], name="merge_requests_project_iid"
            )
        ]


class MergeRequestDiff(models.Model):
    """``merge_request_diffs``."""

    id = models.BigAutoField(primary_key=True)
    merge_request = models.ForeignKey(
        MergeRequest, db_column="merge_request_id", **_FK
    )
    state = models.TextField()
    base_commit_sha = models.TextField()
    head_commit_sha = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "merge_request_diffs"


class MergeRequestDiffFile(models.Model):
    """``merge_request_diff_files`` (no timestamps)."""

    id = models.BigAutoField(primary_key=True)
    merge_request_diff = models.ForeignKey(
        MergeRequestDiff, db_column="merge_request_diff_id", **_FK
    )
    relative_order = models.BigIntegerField()
    old_path = models.TextField()
    new_path = models.TextField()
    diff = models.TextField()
    new_file = models.BooleanField(default=False)
    deleted_file = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "merge_request_diff_files"


class LabelLink(models.Model):
    """``label_links``; polymorphic target: Issue | MergeRequest."""

    id = models.BigAutoField(primary_key=True)
    label = models.ForeignKey(Label, db_column="label_id", **_FK)
    target_type = models.TextField()
    target_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "label_links"


class Snippet(models.Model):
    """``snippets``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    title = models.TextField()
    content = models.TextField()
    file_name = models.TextField()
    visibility_level = models.BigIntegerField(default=0)
    secret_token = models.TextField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "snippets"


class Note(models.Model):
    """``notes``; polymorphic noteable: Issue | MergeRequest | Snippet."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    noteable_type = models.TextField()
    noteable_id = models.BigIntegerField()
    note = models.TextField()
    note_html = models.TextField(null=True)
    cached_markdown_version = models.BigIntegerField(null=True)
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    system = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "notes"


class AwardEmoji(models.Model):
    """``award_emoji``; polymorphic awardable: Issue | MergeRequest | Note."""

    id = models.BigAutoField(primary_key=True)
    name = models.TextField()
    user = models.ForeignKey(User, db_column="user_id", **_FK)
    awardable_type = models.TextField()
    awardable_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "award_emoji"


class Event(models.Model):
    """``events``; polymorphic target: Issue | MergeRequest | Note | Milestone."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    target_type = models.TextField(null=True)
    target_id = models.BigIntegerField(null=True)
    action = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "events"


class Timelog(models.Model):
    """``timelogs``."""

    id = models.BigAutoField(primary_key=True)
    issue = models.ForeignKey(Issue, db_column="issue_id", **_FK)
    user = models.ForeignKey(User, db_column="user_id", **_FK)
    time_spent = models.BigIntegerField()
    spent_at = models.DateTimeField()
    summary = models.TextField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "timelogs"


class Release(models.Model):
    """``releases``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    tag = models.TextField()
    name = models.TextField()
    description = models.TextField(null=True)
    description_html = models.TextField(null=True)
    author = models.ForeignKey(User, db_column="author_id", null=True, **_FK)
    released_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "releases"
        constraints = [
            models.UniqueConstraint(fields=["project", "tag"], name="releases_project_tag")
        ]


class ReleaseLink(models.Model):
    """``release_links``."""

    id = models.BigAutoField(primary_key=True)
    release = models.ForeignKey(Release, db_column="release_id", **_FK)
    name = models.TextField()
    url = models.TextField()
    link_type = models.TextField(default="other")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "release_links"


class Webhook(models.Model):
    """``webhooks``."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", **_FK)
    url = models.TextField()
    token = models.TextField(null=True)
    push_events = models.BooleanField(default=True)
    issues_events = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "webhooks"


class Upload(models.Model):
    """``uploads``; polymorphic model: Project | Issue | Note (rows only, not the files)."""

    id = models.BigAutoField(primary_key=True)
    model_type = models.TextField()
    model_id = models.BigIntegerField()
    path = models.TextField()
    filename = models.TextField()
    size = models.BigIntegerField()
    checksum = models.TextField()
    uploaded_by = models.ForeignKey(
        User, db_column="uploaded_by_id", null=True, **_FK
    )
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "uploads"


class AuditLog(models.Model):
    """``audit_logs`` (hoist does not export it; see README.md for ``--exclude``)."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, db_column="project_id", null=True, **_FK)
    author = models.ForeignKey(User, db_column="author_id", **_FK)
    action = models.TextField()
    details = models.TextField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "audit_logs"


class PersonalAccessToken(models.Model):
    """``personal_access_tokens`` (hoist does not export it; see README.md for ``--exclude``)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, db_column="user_id", **_FK)
    name = models.TextField()
    token_digest = models.TextField()
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "personal_access_tokens"
