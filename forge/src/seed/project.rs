//! One project and everything in it, generated table by table (parents first) in one transaction.

use std::collections::BTreeMap;

use hoist::backend::Database;
use hoist::value::Value;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::SeedOptions;
use super::clock::{DAY, HOUR, MINUTE, PROJECT_SPAN, PROJECTS_EPOCH, SECOND, ts, ts_opt};
use super::columns;
use super::sink::{Ent, Sink};
use super::text::{self, pick};
use super::uploads::Uploads;
use super::writer::Writer;
use crate::ForgeError;

/// GitLab's access levels: guest, reporter, developer, maintainer, owner.
const ACCESS_LEVELS: &[i64] = &[10, 20, 30, 30, 30, 40, 40, 50];
/// GitLab's `Event` actions used here.
const CREATED: i64 = 1;
const CLOSED: i64 = 3;
const PUSHED: i64 = 5;
const COMMENTED: i64 = 6;
const MERGED: i64 = 7;
const JOINED: i64 = 8;
/// The markdown cache version an app would stamp on rendered HTML.
const MARKDOWN_VERSION: i64 = 1_966_080;

const PROJECT_ADJECTIVES: &[&str] = &[
    "Silent", "Rapid", "Golden", "Iron", "Hidden", "Northern", "Quiet", "Bright", "Crimson",
    "Lunar",
];
const PROJECT_NOUNS: &[&str] = &[
    "Harbor", "Forge", "Compass", "Lantern", "Orchard", "Beacon", "Falcon", "Meadow", "Quarry",
    "Atlas",
];
const LABEL_TITLES: &[&str] = &[
    "bug",
    "feature",
    "documentation",
    "enhancement",
    "security",
    "performance",
    "regression",
    "good first issue",
    "help wanted",
    "wontfix",
    "duplicate",
    "question",
    "priority::1",
    "priority::2",
    "priority::3",
    "severity::critical",
    "severity::minor",
    "backend",
    "frontend",
    "database",
    "ci/cd",
    "UX",
    "needs: review",
    "needs: design",
    "blocked",
    "tech debt",
    "Área: infraestructura",
    "🐛 crash",
    "flaky test",
    "Bug",
];
const MILESTONE_NAMES: &[&str] = &["Sprint", "Release", "Iteration", "Q"];
const PIPELINE_STATUSES: &[&str] = &[
    "success", "success", "success", "success", "failed", "canceled", "running", "pending",
    "skipped",
];
const BUILDS: &[(&str, &str)] = &[
    ("compile", "build"),
    ("rspec 1/2", "test"),
    ("rspec 2/2", "test"),
    ("deploy:production", "deploy"),
];
const EMOJI: &[&str] = &[
    "thumbsup",
    "thumbsup",
    "thumbsup",
    "thumbsdown",
    "tada",
    "heart",
    "rocket",
    "eyes",
    "smile",
    "100",
];
const SYSTEM_NOTES: &[&str] = &[
    "changed the description",
    "added ~bug label",
    "removed ~\"needs: review\" label",
    "mentioned in merge request !12",
    "changed milestone to %\"Sprint 4\"",
    "assigned to @root",
    "marked this issue as related to #3",
    "closed",
    "reopened",
    "changed title from **Fix cache** to **Fix the cache timeout**",
];
const RELEASE_LINKS: &[(&str, &str, &str)] = &[
    ("Linux amd64", "linux-amd64.tar.gz", "package"),
    ("macOS arm64", "darwin-arm64.tar.gz", "package"),
    ("Container image", "image.txt", "image"),
    ("Runbook", "runbook.md", "runbook"),
    ("Checksums", "SHA256SUMS", "other"),
];
const AUDIT_ACTIONS: &[&str] = &[
    "project.member.added",
    "project.member.access_level_changed",
    "project.visibility_changed",
    "project.runners_token.reset",
    "project.webhook.created",
    "user.personal_access_token.created",
];

/// Seed project number `index` (0-based) in its own transaction. Returns its id and the rows written.
pub async fn seed_project(
    db: &Database,
    opts: &SeedOptions,
    index: usize,
    users: &[i64],
) -> Result<(i64, BTreeMap<String, u64>), ForgeError> {
    let mut writer = Writer::start(db.begin_import().await?);
    let mut uploads = Uploads::new(&opts.uploads_dir);
    let mut rows = BTreeMap::new();
    let generated = Gen::new(opts, index, users)
        .run(&mut writer, &mut uploads, &mut rows)
        .await;
    let outcome = match writer.finish().await {
        // The writer's error is the cause of the generator's `WriterStopped`.
        Ok((tx, Err(e))) => Err((Some(tx), e)),
        Ok((tx, Ok(()))) => match generated {
            Ok(id) => Ok((tx, id)),
            Err(e) => Err((Some(tx), e)),
        },
        Err(e) => Err((None, e)),
    };
    let failure = match outcome {
        Ok((tx, id)) => match tx.commit().await {
            Ok(()) => return Ok((id, rows)),
            Err(e) => e.into(),
        },
        Err((tx, e)) => {
            if let Some(tx) = tx
                && let Err(rollback) = tx.rollback().await
            {
                tracing::warn!(error = %rollback, "rolling back the seed transaction failed");
            }
            e
        }
    };
    uploads.remove_written().await;
    Err(failure)
}

/// The generator's state for one project.
struct Gen<'a> {
    seed: u64,
    index: u64,
    /// Issues to create (N).
    n: usize,
    users: &'a [i64],
    project_id: i64,
    /// When the project was created (unix µs); everything else happens after.
    base: i64,
    /// User ids of the project's members (the creator first).
    members: Vec<i64>,
}

/// The tracked rows later tables refer to.
#[derive(Default)]
struct Made {
    labels: Vec<Ent>,
    milestones: Vec<Ent>,
    pipelines: Vec<Ent>,
    issues: Vec<Ent>,
    merge_requests: Vec<Ent>,
    diffs: Vec<Ent>,
    snippets: Vec<Ent>,
    notes: Vec<Ent>,
    releases: Vec<Ent>,
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn txt(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt_int(i: Option<i64>) -> Value {
    i.map_or(Value::Null, Value::Int)
}

fn opt_txt(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::Text)
}

/// Markdown between about `min` and `max` characters (cut at a word boundary when it overshoots).
fn prose(rng: &mut StdRng, min: usize, max: usize) -> String {
    let len = text::log_len(rng, min, max);
    let mut s = text::markdown(rng, len);
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = s[..cut].rfind(' ') {
            cut = space;
        }
        s.truncate(cut);
    }
    s
}

/// A markdown text and (usually) its cached HTML and markdown version.
fn rendered(rng: &mut StdRng, md: &str) -> (Value, Value) {
    if rng.random_bool(0.9) {
        (txt(text::html(md)), int(MARKDOWN_VERSION))
    } else {
        (Value::Null, Value::Null)
    }
}

/// A uniformly random element of a non-empty slice of plain values.
fn one_of(rng: &mut StdRng, items: &[i64]) -> i64 {
    items[rng.random_range(0..items.len())]
}

/// `k` distinct indices below `n` (fewer when `n < k`).
fn distinct(rng: &mut StdRng, n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let x = rng.random_range(0..n);
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

impl<'a> Gen<'a> {
    fn new(opts: &SeedOptions, index: usize, users: &'a [i64]) -> Gen<'a> {
        Gen {
            seed: opts.seed,
            index: index as u64,
            n: opts.issues,
            users,
            project_id: 0,
            base: 0,
            members: Vec::new(),
        }
    }

    fn rng(&self, stream: &str) -> StdRng {
        StdRng::seed_from_u64(super::stream_seed(self.seed, self.index, stream))
    }

    /// The creation time of item `i` of `count`, spread over the project's life, strictly increasing
    /// in `i`.
    fn spread(&self, rng: &mut StdRng, i: usize, count: usize) -> i64 {
        let step = (PROJECT_SPAN / count.max(1) as i64).max(1);
        self.base + HOUR + step * i as i64 + rng.random_range(0..step)
    }

    fn any_user(&self, rng: &mut StdRng) -> i64 {
        self.users[rng.random_range(0..self.users.len())]
    }

    fn member(&self, rng: &mut StdRng) -> i64 {
        self.members[rng.random_range(0..self.members.len())]
    }

    /// An author: usually a member, sometimes an outside contributor.
    fn author(&self, rng: &mut StdRng) -> i64 {
        if rng.random_bool(0.85) {
            self.member(rng)
        } else {
            self.any_user(rng)
        }
    }

    fn maybe_member(&self, rng: &mut StdRng, p: f64) -> Value {
        if rng.random_bool(p) {
            int(self.member(rng))
        } else {
            Value::Null
        }
    }

    async fn run(
        mut self,
        w: &mut Writer,
        uploads: &mut Uploads,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<i64, ForgeError> {
        let mut made = Made::default();
        self.project(w, rows).await?;
        self.features(w, rows).await?;
        self.project_members(w, rows).await?;
        made.labels = self.labels(w, rows).await?;
        self.label_priorities(w, rows, &made).await?;
        made.milestones = self.milestones(w, rows).await?;
        made.pipelines = self.pipelines(w, rows).await?;
        self.builds(w, rows, &made).await?;
        made.issues = self.issues(w, rows, &made).await?;
        self.issue_links(w, rows, &made).await?;
        self.timelogs(w, rows, &made).await?;
        made.merge_requests = self.merge_requests(w, rows, &made).await?;
        made.diffs = self.diffs(w, rows, &made).await?;
        self.diff_files(w, rows, &made).await?;
        made.snippets = self.snippets(w, rows).await?;
        made.notes = self.notes(w, rows, &made).await?;
        self.award_emoji(w, rows, &made).await?;
        self.label_links(w, rows, &made).await?;
        self.events(w, rows, &made).await?;
        made.releases = self.releases(w, rows).await?;
        self.release_links(w, rows, &made).await?;
        self.webhooks(w, rows).await?;
        self.uploads(w, rows, uploads, &made).await?;
        self.audit_logs(w, rows).await?;
        Ok(self.project_id)
    }

    async fn project(
        &mut self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("projects");
        let ids = w.allocate("projects", 1).await?;
        let Some(&id) = ids.first() else {
            return Err(ForgeError::Seed {
                table: "projects",
                reason: "the database allocated no id".into(),
            });
        };
        self.project_id = id;
        self.base = PROJECTS_EPOCH + self.index as i64 * 3 * DAY + rng.random_range(0..DAY);
        // The creator is an ordinary user when there is one (user #1 is the instance admin).
        let creator = if self.users.len() > 1 {
            self.users[rng.random_range(1..self.users.len())]
        } else {
            self.users[0]
        };
        self.members.push(creator);
        let name = format!(
            "{} {}",
            pick(&mut rng, PROJECT_ADJECTIVES),
            pick(&mut rng, PROJECT_NOUNS)
        );
        let path = format!("{}-{id}", text::slug(&name));
        let description = prose(&mut rng, 100, 600);
        let html = text::html(&description);
        let row = vec![
            int(id),
            txt(name),
            txt(path),
            txt(description),
            txt(html),
            int(one_of(&mut rng, &[0, 10, 20])),
            int(creator),
            txt(format!("GR1348941{}", text::token(&mut rng, 20))),
            Value::Bool(self.index > 0 && rng.random_bool(0.2)),
            ts(self.base),
            ts(self.base + PROJECT_SPAN + rng.random_range(0..30 * DAY)),
        ];
        w.insert_with_ids("projects", columns::PROJECTS, vec![row])
            .await?;
        *rows.entry("projects".to_owned()).or_default() += 1;
        Ok(())
    }

    async fn features(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("project_features");
        let mut sink = Sink::new("project_features", columns::PROJECT_FEATURES);
        let levels = &[0, 10, 20, 20, 20];
        let row = vec![
            Value::Null,
            int(self.project_id),
            int(one_of(&mut rng, levels)),
            int(one_of(&mut rng, levels)),
            int(one_of(&mut rng, levels)),
            ts(self.base),
            ts(self.base + rng.random_range(0..100 * DAY)),
        ];
        sink.push(w, row, self.base).await?;
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn project_members(
        &mut self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("project_members");
        let creator = self.members[0];
        let mut candidates: Vec<i64> = self
            .users
            .iter()
            .copied()
            .filter(|&u| u != creator)
            .collect();
        let others = 9.min(candidates.len());
        for i in 0..others {
            let j = rng.random_range(i..candidates.len());
            candidates.swap(i, j);
        }
        self.members.extend_from_slice(&candidates[..others]);
        let mut sink = Sink::new("project_members", columns::PROJECT_MEMBERS);
        for (i, &user) in self.members.iter().enumerate() {
            let at = self.base + i as i64 * rng.random_range(HOUR..20 * DAY);
            let (level, created_by) = if i == 0 {
                (50, Value::Null)
            } else {
                (one_of(&mut rng, ACCESS_LEVELS), int(creator))
            };
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(user),
                int(level),
                created_by,
                ts(at),
                ts(at + rng.random_range(0..60 * DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn labels(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("labels");
        let mut sink = Sink::tracked("labels", columns::LABELS);
        for (k, i) in distinct(&mut rng, LABEL_TITLES.len(), 20)
            .into_iter()
            .enumerate()
        {
            let at = self.base + MINUTE * (k as i64 + 1) + rng.random_range(0..MINUTE);
            let (description, html) = if rng.random_bool(0.6) {
                let d = text::sentence(&mut rng, 4, 14);
                let h = text::html(&d);
                (txt(d), txt(h))
            } else {
                (Value::Null, Value::Null)
            };
            let row = vec![
                Value::Null,
                int(self.project_id),
                txt(LABEL_TITLES[i]),
                txt(format!("#{}", text::hex(&mut rng, 6))),
                description,
                html,
                ts(at),
                ts(at + rng.random_range(0..200 * DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn label_priorities(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("label_priorities");
        let mut sink = Sink::new("label_priorities", columns::LABEL_PRIORITIES);
        let mut priority = 0;
        for label in &made.labels {
            if rng.random_bool(0.5) {
                let at = label.at + rng.random_range(MINUTE..10 * DAY);
                let row = vec![
                    Value::Null,
                    int(self.project_id),
                    int(label.id),
                    int(priority),
                    ts(at),
                    ts(at),
                ];
                priority += 1;
                sink.push(w, row, at).await?;
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn milestones(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("milestones");
        let count = self.n / 20 + 1;
        let kind = pick(&mut rng, MILESTONE_NAMES);
        let mut sink = Sink::tracked("milestones", columns::MILESTONES);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let due = at + rng.random_range(7 * DAY..60 * DAY);
            let description = rng.random_bool(0.7).then(|| prose(&mut rng, 50, 400));
            let html = description.as_deref().map(text::html);
            let closed = i + 2 < count && rng.random_bool(0.9);
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(i as i64 + 1),
                txt(format!("{kind} {}", i + 1)),
                opt_txt(description),
                opt_txt(html),
                txt(if closed { "closed" } else { "active" }),
                ts_opt(rng.random_bool(0.8).then_some(due)),
                ts(at),
                ts(if closed { due + DAY } else { at + HOUR }),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn pipelines(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("ci_pipelines");
        let count = self.n / 2;
        let mut sink = Sink::tracked("ci_pipelines", columns::CI_PIPELINES);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let status = pick(&mut rng, PIPELINE_STATUSES);
            let finished = !matches!(status, "running" | "pending");
            let finished_at = finished.then(|| at + rng.random_range(MINUTE..2 * HOUR));
            let git_ref = if rng.random_bool(0.4) {
                "main".to_owned()
            } else {
                format!("{}-{}", i + 1, text::slug(&text::title(&mut rng)))
            };
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(i as i64 + 1),
                txt(git_ref),
                txt(text::hex(&mut rng, 40)),
                txt(status),
                self.maybe_member(&mut rng, 0.9),
                ts(at),
                ts(finished_at.unwrap_or(at + SECOND)),
                ts_opt(finished_at),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn builds(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("ci_builds");
        let mut sink = Sink::new("ci_builds", columns::CI_BUILDS);
        for pipeline in &made.pipelines {
            let count = rng.random_range(2..=4usize);
            let user = self.maybe_member(&mut rng, 0.9);
            let mut t = pipeline.at + rng.random_range(SECOND..MINUTE);
            for &(name, stage) in &BUILDS[..count] {
                let status = pick(&mut rng, PIPELINE_STATUSES);
                let started = (status != "pending").then_some(t);
                let finished = (!matches!(status, "pending" | "running"))
                    .then(|| t + rng.random_range(10 * SECOND..20 * MINUTE));
                let trace = started.map(|_| {
                    let len = text::log_len(&mut rng, 1024, 4096);
                    text::trace(&mut rng, len)
                });
                let row = vec![
                    Value::Null,
                    int(pipeline.id),
                    txt(name),
                    txt(stage),
                    txt(status),
                    opt_txt(rng.random_bool(0.9).then(|| text::token(&mut rng, 20))),
                    opt_txt(trace),
                    user.clone(),
                    ts_opt(started),
                    ts_opt(finished),
                    ts(pipeline.at),
                    ts(finished.unwrap_or(pipeline.at)),
                ];
                sink.push(w, row, pipeline.at).await?;
                t = finished.unwrap_or(t) + rng.random_range(SECOND..MINUTE);
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn issues(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("issues");
        let mut sink = Sink::tracked("issues", columns::ISSUES);
        let positions = (self.n as i64).max(1) * 1000;
        let mut last_position = 0;
        for i in 0..self.n {
            let at = self.spread(&mut rng, i, self.n);
            let description = rng.random_bool(0.97).then(|| prose(&mut rng, 200, 2000));
            let (html, version) = match &description {
                Some(d) => rendered(&mut rng, d),
                None => (Value::Null, Value::Null),
            };
            let closed_at = rng
                .random_bool(0.4)
                .then(|| at + rng.random_range(HOUR..90 * DAY));
            // ~30% unpositioned; a few ties, broken by id on export.
            let position = match rng.random_range(0..100u32) {
                0..30 => None,
                30..32 if i > 0 => Some(last_position),
                _ => Some(rng.random_range(-positions..positions)),
            };
            if let Some(p) = position {
                last_position = p;
            }
            let milestone = (!made.milestones.is_empty() && rng.random_bool(0.6))
                .then(|| made.milestones[rng.random_range(0..made.milestones.len())].id);
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(i as i64 + 1),
                txt(text::title(&mut rng)),
                opt_txt(description),
                html,
                version,
                txt(if closed_at.is_some() {
                    "closed"
                } else {
                    "opened"
                }),
                Value::Bool(rng.random_bool(0.05)),
                int(self.author(&mut rng)),
                self.maybe_member(&mut rng, 0.7),
                opt_int(milestone),
                opt_int(position),
                ts_opt(closed_at),
                ts(at),
                ts(closed_at.unwrap_or(at) + rng.random_range(0..DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn issue_links(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("issue_links");
        let mut sink = Sink::new("issue_links", columns::ISSUE_LINKS);
        // Link k joins issue 10k with one of the next nine; odd links point from the later issue back
        // to the earlier one, so both directions (lower→higher id and higher→lower) occur.
        for k in 0..made.issues.len() / 10 {
            let a = 10 * k;
            let b = a + rng.random_range(1..10usize);
            let (source, target) = if k % 2 == 0 {
                (made.issues[a], made.issues[b])
            } else {
                (made.issues[b], made.issues[a])
            };
            let at = source.at.max(target.at) + rng.random_range(MINUTE..10 * DAY);
            let row = vec![
                Value::Null,
                int(source.id),
                int(target.id),
                int(if rng.random_bool(0.7) { 0 } else { 1 }),
                ts(at),
                ts(at),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn timelogs(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("timelogs");
        let mut sink = Sink::new("timelogs", columns::TIMELOGS);
        for issue in &made.issues {
            for _ in 0..rng.random_range(0..=2u32) {
                let spent = issue.at + rng.random_range(HOUR..30 * DAY);
                let at = spent + rng.random_range(0..HOUR);
                let row = vec![
                    Value::Null,
                    int(issue.id),
                    int(self.member(&mut rng)),
                    int(rng.random_range(1..=32i64) * 900),
                    ts(spent),
                    opt_txt(
                        rng.random_bool(0.5)
                            .then(|| text::sentence(&mut rng, 3, 10)),
                    ),
                    ts(at),
                    ts(at),
                ];
                sink.push(w, row, at).await?;
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn merge_requests(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("merge_requests");
        let count = self.n / 2;
        let mut sink = Sink::tracked("merge_requests", columns::MERGE_REQUESTS);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let title = text::title(&mut rng);
            let description = rng.random_bool(0.95).then(|| prose(&mut rng, 200, 2000));
            let (html, version) = match &description {
                Some(d) => rendered(&mut rng, d),
                None => (Value::Null, Value::Null),
            };
            let state = match rng.random_range(0..100u32) {
                0..30 => "opened",
                30..85 => "merged",
                _ => "closed",
            };
            let merged_at = (state == "merged").then(|| at + rng.random_range(HOUR..20 * DAY));
            // Most merge requests point at the pipeline of the same position (same project).
            let head_pipeline = made
                .pipelines
                .get(i)
                .filter(|_| rng.random_bool(0.6))
                .map(|p| p.id);
            let milestone = (!made.milestones.is_empty() && rng.random_bool(0.5))
                .then(|| made.milestones[rng.random_range(0..made.milestones.len())].id);
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(i as i64 + 1),
                txt(title.clone()),
                opt_txt(description),
                html,
                version,
                txt(state),
                txt(format!("{}-{}", i + 1, text::slug(&title))),
                txt(if rng.random_bool(0.9) {
                    "main"
                } else {
                    "stable"
                }),
                int(self.author(&mut rng)),
                self.maybe_member(&mut rng, 0.6),
                opt_int(milestone),
                opt_int(head_pipeline),
                opt_txt(merged_at.map(|_| text::hex(&mut rng, 40))),
                ts_opt(merged_at),
                ts(at),
                ts(merged_at.unwrap_or(at) + rng.random_range(0..DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn diffs(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("merge_request_diffs");
        let mut sink = Sink::tracked("merge_request_diffs", columns::MERGE_REQUEST_DIFFS);
        for mr in &made.merge_requests {
            let mut at = mr.at + rng.random_range(SECOND..MINUTE);
            let base = text::hex(&mut rng, 40);
            for _ in 0..rng.random_range(1..=2u32) {
                let row = vec![
                    Value::Null,
                    int(mr.id),
                    txt("collected"),
                    txt(base.clone()),
                    txt(text::hex(&mut rng, 40)),
                    ts(at),
                    ts(at + SECOND),
                ];
                sink.push(w, row, at).await?;
                at += rng.random_range(HOUR..5 * DAY);
            }
        }
        sink.finish(w, rows).await
    }

    async fn diff_files(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("merge_request_diff_files");
        let mut sink = Sink::new(
            "merge_request_diff_files",
            columns::MERGE_REQUEST_DIFF_FILES,
        );
        for diff in &made.diffs {
            for order in 0..rng.random_range(1..=5i64) {
                let old_path = text::file_path(&mut rng);
                let (new_path, new_file, deleted_file) = match rng.random_range(0..20u32) {
                    0..3 => (old_path.clone(), true, false),
                    3 => (old_path.clone(), false, true),
                    4 => (text::file_path(&mut rng), false, false),
                    _ => (old_path.clone(), false, false),
                };
                let len = text::log_len(&mut rng, 1024, 8192);
                let row = vec![
                    Value::Null,
                    int(diff.id),
                    int(order),
                    txt(old_path),
                    txt(new_path),
                    txt(text::diff(&mut rng, len)),
                    Value::Bool(new_file),
                    Value::Bool(deleted_file),
                ];
                sink.push(w, row, diff.at).await?;
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn snippets(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("snippets");
        let count = self.n / 20 + 1;
        let mut sink = Sink::tracked("snippets", columns::SNIPPETS);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let len = text::log_len(&mut rng, 200, 2000);
            let file_name = text::file_path(&mut rng);
            let file_name = file_name
                .rsplit('/')
                .next()
                .unwrap_or("snippet.txt")
                .to_owned();
            let visibility = one_of(&mut rng, &[0, 10, 20]);
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(self.author(&mut rng)),
                txt(text::title(&mut rng)),
                txt(text::code(&mut rng, len)),
                txt(file_name),
                int(visibility),
                opt_txt(rng.random_bool(0.5).then(|| text::hex(&mut rng, 40))),
                ts(at),
                ts(at + rng.random_range(0..30 * DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn notes(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("notes");
        let mut sink = Sink::tracked("notes", columns::NOTES);
        let targets: [(&str, &[Ent], u32); 3] = [
            ("Issue", &made.issues, 6),
            ("MergeRequest", &made.merge_requests, 4),
            ("Snippet", &made.snippets, 4),
        ];
        for (noteable_type, noteables, max) in targets {
            for noteable in noteables {
                let mut at = noteable.at;
                for _ in 0..rng.random_range(0..=max) {
                    at += rng.random_range(MINUTE..5 * DAY);
                    let system = rng.random_bool(0.1);
                    let note = if system {
                        pick(&mut rng, SYSTEM_NOTES).to_owned()
                    } else {
                        prose(&mut rng, 50, 500)
                    };
                    let (html, version) = rendered(&mut rng, &note);
                    let row = vec![
                        Value::Null,
                        int(self.project_id),
                        txt(noteable_type),
                        int(noteable.id),
                        txt(note),
                        html,
                        version,
                        int(self.author(&mut rng)),
                        Value::Bool(system),
                        ts(at),
                        ts(at
                            + if rng.random_bool(0.1) {
                                rng.random_range(MINUTE..DAY)
                            } else {
                                0
                            }),
                    ];
                    sink.push(w, row, at).await?;
                }
            }
        }
        sink.finish(w, rows).await
    }

    async fn award_emoji(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("award_emoji");
        let mut sink = Sink::new("award_emoji", columns::AWARD_EMOJI);
        let targets: [(&str, &[Ent], f64, u32); 3] = [
            ("Issue", &made.issues, 0.5, 2),
            ("MergeRequest", &made.merge_requests, 0.5, 1),
            ("Note", &made.notes, 0.25, 1),
        ];
        for (awardable_type, awardables, p, max) in targets {
            for awardable in awardables {
                if !rng.random_bool(p) {
                    continue;
                }
                for _ in 0..rng.random_range(1..=max) {
                    let at = awardable.at + rng.random_range(MINUTE..3 * DAY);
                    let row = vec![
                        Value::Null,
                        txt(pick(&mut rng, EMOJI)),
                        int(self.any_user(&mut rng)),
                        txt(awardable_type),
                        int(awardable.id),
                        ts(at),
                        ts(at),
                    ];
                    sink.push(w, row, at).await?;
                }
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn label_links(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("label_links");
        let mut sink = Sink::new("label_links", columns::LABEL_LINKS);
        let targets: [(&str, &[Ent], usize); 2] = [
            ("Issue", &made.issues, 4),
            ("MergeRequest", &made.merge_requests, 3),
        ];
        for (target_type, targets, max) in targets {
            for target in targets {
                let k = rng.random_range(0..=max);
                for label in distinct(&mut rng, made.labels.len(), k) {
                    let at = target.at + rng.random_range(0..2 * DAY);
                    let row = vec![
                        Value::Null,
                        int(made.labels[label].id),
                        txt(target_type),
                        int(target.id),
                        ts(at),
                        ts(at),
                    ];
                    sink.push(w, row, at).await?;
                }
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn events(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("events");
        let mut sink = Sink::new("events", columns::EVENTS);
        // (target type, targets, chance of an event, follow-up action and its chance)
        // Per target table: the first action, the share of rows that get it, and a follow-up action
        // with its chance.
        type FollowUp = Option<(i64, f64)>;
        let sources: [(&str, &[Ent], i64, f64, FollowUp); 4] = [
            ("Milestone", &made.milestones, CREATED, 1.0, None),
            ("Issue", &made.issues, CREATED, 1.0, Some((CLOSED, 0.3))),
            (
                "MergeRequest",
                &made.merge_requests,
                CREATED,
                1.0,
                Some((MERGED, 0.5)),
            ),
            ("Note", &made.notes, COMMENTED, 1.0 / 3.0, None),
        ];
        for (target_type, targets, action, p, follow_up) in sources {
            for target in targets {
                if !rng.random_bool(p) {
                    continue;
                }
                let mut events = vec![(action, target.at)];
                if let Some((later, q)) = follow_up
                    && rng.random_bool(q)
                {
                    events.push((later, target.at + rng.random_range(HOUR..30 * DAY)));
                }
                for (action, at) in events {
                    let row = vec![
                        Value::Null,
                        int(self.project_id),
                        int(self.author(&mut rng)),
                        txt(target_type),
                        int(target.id),
                        int(action),
                        ts(at),
                        ts(at),
                    ];
                    sink.push(w, row, at).await?;
                }
            }
        }
        // Events without a target: pushes, and members joining.
        let pushes = self.n / 10 + 1;
        let joins = self.members.len();
        for i in 0..pushes + joins {
            let (action, at) = if i < pushes {
                (PUSHED, self.spread(&mut rng, i, pushes))
            } else {
                (JOINED, self.base + (i - pushes) as i64 * HOUR)
            };
            let row = vec![
                Value::Null,
                int(self.project_id),
                int(self.member(&mut rng)),
                Value::Null,
                Value::Null,
                int(action),
                ts(at),
                ts(at),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn releases(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<Vec<Ent>, ForgeError> {
        let mut rng = self.rng("releases");
        let count = self.n / 50 + 1;
        let mut sink = Sink::tracked("releases", columns::RELEASES);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let tag = format!("v{}.{}.0", 1 + i / 10, i % 10);
            let description = rng.random_bool(0.9).then(|| prose(&mut rng, 100, 1500));
            let html = description.as_deref().map(text::html);
            let row = vec![
                Value::Null,
                int(self.project_id),
                txt(tag.clone()),
                txt(format!("Release {tag}")),
                opt_txt(description),
                opt_txt(html),
                self.maybe_member(&mut rng, 0.9),
                ts(at + rng.random_range(0..HOUR)),
                ts(at),
                ts(at + HOUR),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await
    }

    async fn release_links(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("release_links");
        let mut sink = Sink::new("release_links", columns::RELEASE_LINKS);
        for (i, release) in made.releases.iter().enumerate() {
            for link in distinct(&mut rng, RELEASE_LINKS.len(), 2) {
                let (name, file, link_type) = RELEASE_LINKS[link];
                let row = vec![
                    Value::Null,
                    int(release.id),
                    txt(name),
                    txt(format!(
                        "https://downloads.forge.test/{}/v{}.{}.0/{file}",
                        self.project_id,
                        1 + i / 10,
                        i % 10
                    )),
                    txt(link_type),
                    ts(release.at + MINUTE),
                    ts(release.at + MINUTE),
                ];
                sink.push(w, row, release.at).await?;
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn webhooks(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("webhooks");
        let mut sink = Sink::new("webhooks", columns::WEBHOOKS);
        for (i, host) in ["ci.example.com", "chat.example.org"]
            .into_iter()
            .enumerate()
        {
            let at = self.base + (i as i64 + 1) * DAY + rng.random_range(0..HOUR);
            let row = vec![
                Value::Null,
                int(self.project_id),
                txt(format!("https://{host}/hooks/{}", text::hex(&mut rng, 16))),
                txt(text::token(&mut rng, 24)),
                Value::Bool(i == 0 || rng.random_bool(0.5)),
                Value::Bool(i == 1 || rng.random_bool(0.5)),
                ts(at),
                ts(at + rng.random_range(0..100 * DAY)),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn uploads(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
        uploads: &mut Uploads,
        made: &Made,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("uploads");
        let mut sink = Sink::new("uploads", columns::UPLOADS);
        let project = [Ent {
            id: self.project_id,
            at: self.base,
        }];
        let models: [(&str, &[Ent], f64); 3] = [
            ("Project", &project, 1.0),
            ("Issue", &made.issues, 0.05),
            ("Note", &made.notes, 0.05),
        ];
        for (model_type, models, p) in models {
            for model in models {
                let count = if model_type == "Project" { 3 } else { 1 };
                if !rng.random_bool(p) {
                    continue;
                }
                for _ in 0..count {
                    let file = uploads.make(&mut rng, self.project_id);
                    uploads.write(&file).await?;
                    let at = model.at + rng.random_range(0..HOUR);
                    let row = vec![
                        Value::Null,
                        txt(model_type),
                        int(model.id),
                        txt(file.path),
                        txt(file.filename),
                        int(file.bytes.len() as i64),
                        txt(file.checksum),
                        self.maybe_member(&mut rng, 0.95),
                        ts(at),
                    ];
                    sink.push(w, row, at).await?;
                }
            }
        }
        sink.finish(w, rows).await?;
        Ok(())
    }

    async fn audit_logs(
        &self,
        w: &mut Writer,
        rows: &mut BTreeMap<String, u64>,
    ) -> Result<(), ForgeError> {
        let mut rng = self.rng("audit_logs");
        let count = self.n / 10 + 1;
        let mut sink = Sink::new("audit_logs", columns::AUDIT_LOGS);
        for i in 0..count {
            let at = self.spread(&mut rng, i, count);
            let action = pick(&mut rng, AUDIT_ACTIONS);
            let details = rng.random_bool(0.8).then(|| {
                format!(
                    r#"{{"author_name":"root","target_id":{},"ip_address":"10.0.{}.{}"}}"#,
                    rng.random_range(1..10_000u32),
                    rng.random_range(0..256u32),
                    rng.random_range(1..255u32)
                )
            });
            let row = vec![
                Value::Null,
                if rng.random_bool(0.9) {
                    int(self.project_id)
                } else {
                    Value::Null
                },
                int(self.any_user(&mut rng)),
                txt(action),
                opt_txt(details),
                ts(at),
            ];
            sink.push(w, row, at).await?;
        }
        sink.finish(w, rows).await?;
        Ok(())
    }
}
