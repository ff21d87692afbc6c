//! Deterministic text of realistic shape: prose with a little markdown, its HTML rendering, code, diffs,
//! CI logs, hex digests and tokens. Everything is drawn from word lists with the caller's RNG, so the same
//! RNG state gives the same text. Some text carries tabs, backslashes and non-ASCII characters on
//! purpose, so the backends' escaping is exercised.

use rand::RngExt;
use rand::rngs::StdRng;

const WORDS: &[&str] = &[
    "the",
    "the",
    "the",
    "a",
    "a",
    "to",
    "to",
    "of",
    "of",
    "and",
    "and",
    "in",
    "in",
    "is",
    "is",
    "it",
    "for",
    "for",
    "on",
    "with",
    "when",
    "this",
    "that",
    "we",
    "should",
    "can",
    "not",
    "after",
    "before",
    "build",
    "pipeline",
    "runner",
    "cache",
    "merge",
    "request",
    "branch",
    "commit",
    "release",
    "deploy",
    "issue",
    "label",
    "milestone",
    "project",
    "member",
    "permission",
    "token",
    "webhook",
    "upload",
    "import",
    "export",
    "archive",
    "database",
    "query",
    "index",
    "migration",
    "schema",
    "table",
    "row",
    "column",
    "timeout",
    "retry",
    "error",
    "warning",
    "failure",
    "crash",
    "panic",
    "regression",
    "fix",
    "feature",
    "refactor",
    "cleanup",
    "performance",
    "latency",
    "memory",
    "leak",
    "thread",
    "lock",
    "deadlock",
    "connection",
    "pool",
    "server",
    "client",
    "request",
    "response",
    "header",
    "payload",
    "endpoint",
    "API",
    "UI",
    "page",
    "button",
    "dialog",
    "sidebar",
    "dashboard",
    "chart",
    "graph",
    "search",
    "filter",
    "sort",
    "pagination",
    "cursor",
    "offset",
    "limit",
    "config",
    "setting",
    "option",
    "default",
    "value",
    "user",
    "admin",
    "owner",
    "maintainer",
    "developer",
    "reporter",
    "guest",
    "group",
    "namespace",
    "repository",
    "file",
    "path",
    "directory",
    "diff",
    "line",
    "hunk",
    "review",
    "comment",
    "thread",
    "discussion",
    "note",
    "reply",
    "approve",
    "reject",
    "block",
    "unblock",
    "close",
    "reopen",
    "update",
    "create",
    "delete",
    "rename",
    "move",
    "copy",
    "sync",
    "mirror",
    "backup",
    "restore",
    "upgrade",
    "downgrade",
    "version",
    "dependency",
    "crate",
    "package",
    "library",
    "module",
    "function",
    "method",
    "struct",
    "trait",
    "test",
    "spec",
    "flaky",
    "green",
    "red",
    "slow",
    "fast",
    "broken",
    "works",
    "fails",
    "seems",
    "looks",
    "probably",
    "maybe",
    "definitely",
    "again",
    "still",
    "now",
    "already",
    "only",
    "also",
    "because",
    "since",
    "while",
    "until",
    "every",
    "some",
    "many",
    "few",
    "large",
    "small",
    "empty",
    "missing",
    "duplicate",
    "stale",
    "expired",
    "invalid",
    "unexpected",
];

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yusuf", "Zoë",
    "Amélie", "Björn", "Chiara", "Dmitri", "Eun-ji", "Farah", "Giovanni", "Hana", "Ingrid",
    "Jonas", "Kenji", "Lucía", "Mateus", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Søren",
    "Tomás", "Uma",
];

const LAST: &[&str] = &[
    "Nguyen",
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Silva",
    "Dubois",
    "Johansson",
    "Novak",
    "Kim",
    "Patel",
    "O'Brien",
    "Fernández",
    "Jensen",
    "Ivanova",
    "Haddad",
    "Chen",
    "Schmidt",
    "Moreau",
    "Costa",
    "Larsen",
    "Yilmaz",
    "Andersson",
    "Wójcik",
    "Sato",
    "Mensah",
    "Lopez",
];

const CODE_LINES: &[&str] = &[
    "let mut rows = Vec::with_capacity(batch_size);",
    "for row in batch.iter() {",
    "}",
    "    if row.is_empty() { continue; }",
    "    total += row.len();",
    "fn process(input: &str) -> Result<Output, Error> {",
    "    let parsed = input.parse::<u64>()?;",
    "    Ok(Output::new(parsed))",
    "match value {",
    "    Some(v) => v,",
    "    None => return Err(Error::Missing(\"value\")),",
    "SELECT id, title FROM issues WHERE project_id = $1 ORDER BY id;",
    "def handle(request):",
    "    return render(request, \"issues/show.html\", {\"issue\": issue})",
    "const path = \"C:\\\\Users\\\\build\\\\cache\";",
    "\tprintf(\"%s\\t%d\\n\", name, count);",
    "// TODO: handle the timeout case",
    "# frozen_string_literal: true",
    "class IssuesController < ApplicationController",
    "  before_action :authorize_read_issue!",
    "import { fetchIssues } from '~/issues/api';",
    "export default { name: 'IssueList', props: ['issues'] };",
    "    assert_eq!(result, expected, \"mismatch for {key}\");",
    "if err != nil {\n\treturn fmt.Errorf(\"loading config: %w\", err)\n}",
    "SELECT count(*) FROM notes WHERE noteable_type = 'Issue';",
    "echo \"deploying to ${ENVIRONMENT}\" && ./deploy.sh --verbose",
];

const FILE_DIRS: &[&str] = &[
    "src",
    "src/api",
    "src/models",
    "app/controllers",
    "app/models",
    "lib",
    "spec/models",
    "tests",
    "docs",
    "config",
    "db/migrate",
    "frontend/components",
    ".gitlab",
    "scripts",
];

const FILE_STEMS: &[&str] = &[
    "issue",
    "merge_request",
    "pipeline",
    "project",
    "user",
    "label",
    "milestone",
    "note",
    "export",
    "import",
    "archive",
    "settings",
    "router",
    "client",
    "server",
    "worker",
    "cache",
    "schema",
    "main",
];

const FILE_EXTS: &[&str] = &[
    "rs", "rb", "py", "go", "ts", "vue", "sql", "yml", "md", "sh",
];

const LOG_LINES: &[&str] = &[
    "Running with gitlab-runner 16.11.0 (91a27b2a) on docker-auto-scale 8a3f21c7",
    "Preparing the \"docker+machine\" executor",
    "Using Docker executor with image rust:1.95 ...",
    "Pulling docker image rust:1.95 ...",
    "Getting source from Git repository",
    "Fetching changes with git depth set to 20...",
    "Checking out 1a2b3c4d as detached HEAD (ref is main)...",
    "Restoring cache",
    "Checking cache for default-protected...",
    "Executing \"step_script\" stage of the job script",
    "\u{1b}[32;1m$ cargo build --locked\u{1b}[0;m",
    "   Compiling serde v1.0.228",
    "   Compiling tokio v1.54.0",
    "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 41.07s",
    "\u{1b}[32;1m$ cargo test --workspace\u{1b}[0;m",
    "running 128 tests",
    "test export::tests::keyset_pagination ... ok",
    "test import::tests::rollback_leaves_no_rows ... ok",
    "test archive::tests::rejects_symlinks ... ok",
    "test result: ok. 128 passed; 0 failed; 0 ignored; 0 measured",
    "warning: unused variable: `row`",
    "error[E0308]: mismatched types",
    "Saving cache for successful job",
    "Uploading artifacts for successful job",
    "Cleaning up project directory and file based variables",
    "Job succeeded",
    "C:\\builds\\forge\\target\\debug\\deps\tcopied",
];

const EMOJI_TEXT: &[&str] = &[
    ":+1:",
    "🎉",
    "👀",
    "🚀",
    "✅",
    "❌",
    "—",
    "→",
    "naïve",
    "façade",
    "日本語",
];

/// A uniformly random element of a non-empty slice.
pub fn pick<'a, T: ?Sized>(rng: &mut StdRng, items: &[&'a T]) -> &'a T {
    items[rng.random_range(0..items.len())]
}

/// A length between `min` and `max` (inclusive), log-uniformly distributed: most texts are short,
/// a few are long, as in real data.
pub fn log_len(rng: &mut StdRng, min: usize, max: usize) -> usize {
    let (lo, hi) = ((min.max(1) as f64).ln(), (max.max(min).max(1) as f64).ln());
    let x: f64 = rng.random_range(0.0..=1.0);
    ((lo + (hi - lo) * x).exp().round() as usize).clamp(min, max.max(min))
}

/// A person's first and last name.
pub fn person(rng: &mut StdRng) -> (&'static str, &'static str) {
    (pick(rng, FIRST), pick(rng, LAST))
}

/// A sentence of `min..=max` words, capitalized, ending with a period.
pub fn sentence(rng: &mut StdRng, min: usize, max: usize) -> String {
    let mut s = String::new();
    push_sentence(rng, &mut s, min, max);
    s
}

/// A title: a short sentence without the period.
pub fn title(rng: &mut StdRng) -> String {
    let mut s = sentence(rng, 3, 9);
    s.pop();
    s
}

fn push_sentence(rng: &mut StdRng, out: &mut String, min: usize, max: usize) {
    let n = rng.random_range(min..=max.max(min));
    for i in 0..n {
        let w = pick(rng, WORDS);
        if i == 0 {
            let mut chars = w.chars();
            if let Some(c) = chars.next() {
                out.extend(c.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push(' ');
            match rng.random_range(0..40u32) {
                0 => {
                    out.push('`');
                    out.push_str(w);
                    out.push('`');
                }
                1 => {
                    out.push('#');
                    out.push_str(&rng.random_range(1..2000u32).to_string());
                }
                2 => out.push_str(pick(rng, EMOJI_TEXT)),
                _ => out.push_str(w),
            }
        }
    }
    out.push('.');
}

/// Markdown prose of about `len` characters (never less): paragraphs, sometimes a list or a code block.
pub fn markdown(rng: &mut StdRng, len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    while out.len() < len {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        match rng.random_range(0..10u32) {
            0 => {
                for _ in 0..rng.random_range(2..5u32) {
                    out.push_str("- ");
                    push_sentence(rng, &mut out, 3, 8);
                    out.push('\n');
                }
                out.pop();
            }
            1 => {
                out.push_str("```\n");
                for _ in 0..rng.random_range(1..5u32) {
                    out.push_str(pick(rng, CODE_LINES));
                    out.push('\n');
                }
                out.push_str("```");
            }
            _ => {
                for i in 0..rng.random_range(1..5u32) {
                    if i > 0 {
                        out.push(' ');
                    }
                    push_sentence(rng, &mut out, 5, 16);
                }
            }
        }
    }
    out
}

/// A plain HTML rendering of [`markdown`] output (as an app would cache it): paragraphs, lists and
/// code blocks, with `&`, `<`, `>` and `"` escaped.
pub fn html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4 + 16);
    for block in markdown.split("\n\n") {
        if let Some(code) = block
            .strip_prefix("```\n")
            .and_then(|b| b.strip_suffix("```"))
        {
            out.push_str("<pre><code>");
            escape_into(&mut out, code);
            out.push_str("</code></pre>\n");
        } else if block.starts_with("- ") {
            out.push_str("<ul>\n");
            for item in block.lines() {
                out.push_str("<li>");
                escape_into(&mut out, item.trim_start_matches("- "));
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        } else {
            out.push_str("<p data-sourcepos=\"1:1\" dir=\"auto\">");
            escape_into(&mut out, block);
            out.push_str("</p>\n");
        }
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Source code of about `len` characters.
pub fn code(rng: &mut StdRng, len: usize) -> String {
    let mut out = String::with_capacity(len + 80);
    while out.len() < len {
        out.push_str(pick(rng, CODE_LINES));
        out.push('\n');
    }
    out
}

/// A repository file path such as `src/api/issue.rs`.
pub fn file_path(rng: &mut StdRng) -> String {
    format!(
        "{}/{}.{}",
        pick(rng, FILE_DIRS),
        pick(rng, FILE_STEMS),
        pick(rng, FILE_EXTS)
    )
}

/// A unified diff of about `len` characters (hunks of context, removed and added lines).
pub fn diff(rng: &mut StdRng, len: usize) -> String {
    let mut out = String::with_capacity(len + 120);
    let mut line = rng.random_range(1..400u32);
    while out.len() < len {
        let (old, new) = (rng.random_range(3..12u32), rng.random_range(3..12u32));
        out.push_str(&format!("@@ -{line},{old} +{line},{new} @@\n"));
        for _ in 0..rng.random_range(4..14u32) {
            out.push(match rng.random_range(0..4u32) {
                0 => '-',
                1 => '+',
                _ => ' ',
            });
            out.push_str(pick(rng, CODE_LINES));
            out.push('\n');
        }
        line += rng.random_range(20..200u32);
    }
    out
}

/// A CI job log of about `len` characters (ANSI colour codes, tabs, Windows paths included).
pub fn trace(rng: &mut StdRng, len: usize) -> String {
    let mut out = String::with_capacity(len + 100);
    let mut i = 0;
    while out.len() < len {
        // The first lines are the runner's preamble, in order; then anything goes.
        let line = if i < 5 {
            LOG_LINES[i]
        } else {
            pick(rng, LOG_LINES)
        };
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

/// `n` lowercase hex digits.
pub fn hex(rng: &mut StdRng, n: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| DIGITS[rng.random_range(0..16usize)] as char)
        .collect()
}

/// A URL-safe random token of `n` characters (as an app would generate for secrets).
pub fn token(rng: &mut StdRng, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..64usize)] as char)
        .collect()
}

/// A lowercase slug of a title: `Fix the cache` → `fix-the-cache`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn text_is_deterministic_and_sized() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        let (ma, mb) = (markdown(&mut a, 500), markdown(&mut b, 500));
        assert_eq!(ma, mb);
        assert!(ma.len() >= 500 && ma.len() < 2000, "{}", ma.len());
        let d = diff(&mut a, 1024);
        assert!(d.starts_with("@@ -") && d.len() >= 1024);
        assert!(trace(&mut a, 1024).starts_with("Running with gitlab-runner"));
        assert_eq!(hex(&mut a, 40).len(), 40);
        assert!(
            token(&mut a, 20)
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn log_len_stays_in_bounds() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let n = log_len(&mut rng, 200, 2000);
            assert!((200..=2000).contains(&n));
        }
        assert_eq!(log_len(&mut rng, 5, 5), 5);
    }

    #[test]
    fn html_escapes_and_wraps() {
        let h = html("a <b> & \"c\"\n\n- x\n- y\n\n```\nif a < b {}\n```");
        assert_eq!(
            h,
            "<p data-sourcepos=\"1:1\" dir=\"auto\">a &lt;b&gt; &amp; &quot;c&quot;</p>\n\
             <ul>\n<li>x</li>\n<li>y</li>\n</ul>\n<pre><code>if a &lt; b {}\n</code></pre>\n"
        );
    }

    #[test]
    fn slug_is_url_safe() {
        assert_eq!(slug("Fix the `cache` — now!"), "fix-the-cache-now");
    }
}
