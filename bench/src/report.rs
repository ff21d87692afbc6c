//! The bench's result: one JSON object (`--json`) or a table, and the targets it is judged by.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::machine::Machine;

/// export ≤ 1.25 × COPY out.
pub const EXPORT_RATIO_TARGET: f64 = 1.25;
/// import ≤ 1.5 × COPY in.
pub const IMPORT_RATIO_TARGET: f64 = 1.5;
/// Peak RSS of each hoist process.
pub const PEAK_RSS_TARGET_BYTES: u64 = 64 * 1024 * 1024;
/// hoist export + import at least this many times faster than Django's dumpdata + loaddata.
pub const DJANGO_SPEEDUP_TARGET: f64 = 50.0;

/// Everything one bench run measured. Times are seconds; with `--repeat`, the fastest time and
/// the highest peak RSS over the runs (each run is in [`Report::runs`]).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Rows of the tenant (every exported table, distinct rows; users not included).
    pub rows: u64,
    pub rows_requested: u64,
    pub issues: usize,
    /// Wall time of the `forge export` process (start-up and connecting included).
    pub hoist_export_s: f64,
    /// Wall time of the `forge import` process.
    pub hoist_import_s: f64,
    pub copy_out_s: f64,
    pub copy_in_s: f64,
    /// `hoist_export_s / copy_out_s`.
    pub export_ratio: f64,
    /// `hoist_import_s / copy_in_s`.
    pub import_ratio: f64,
    pub peak_rss_export_bytes: u64,
    pub peak_rss_import_bytes: u64,
    /// `dumpdata`'s `call_command` time; null unless `django_status` is `measured`.
    pub django_dump_s: Option<f64>,
    /// `loaddata`'s `call_command` time; null unless measured.
    pub django_load_s: Option<f64>,
    /// `measured`, `unavailable`, `skipped` or `failed`.
    pub django_status: &'static str,
    /// Why Django has no numbers.
    pub django_reason: Option<String>,
    /// `(django_dump_s + django_load_s) / (hoist_export_s + hoist_import_s)`.
    pub django_speedup: Option<f64>,
    pub django_dump_speedup: Option<f64>,
    pub django_load_speedup: Option<f64>,
    pub django: Option<DjangoDetails>,
    /// forge's own timings (from connected to done), for comparison with the wall times.
    pub hoist_export_reported_s: f64,
    pub hoist_import_reported_s: f64,
    /// CPU time (user + system, all threads) of the forge processes: the rest of the wall time
    /// is spent waiting (mostly for PostgreSQL).
    pub hoist_export_cpu_s: f64,
    pub hoist_import_cpu_s: f64,
    pub archive_bytes: u64,
    /// Archive records: `rows` plus belongs_to targets repeated under each parent.
    pub archive_records: u64,
    pub upload_files: u64,
    /// Bytes of upload files the archive carries (COPY and Django move none).
    pub upload_bytes: u64,
    /// Bytes of the gzipped COPY files.
    pub copy_bytes: u64,
    /// Bytes of COPY text PostgreSQL sent.
    pub copy_raw_bytes: u64,
    /// Rows per table in the tenant.
    pub tables: BTreeMap<String, u64>,
    /// `ok` when hoist's target, COPY's target and the source hold the same row counts per table.
    pub row_check: String,
    /// Seeding the source (not a measurement of hoist).
    pub seed_s: f64,
    pub repeat: u32,
    pub runs: Vec<RunNumbers>,
    pub targets: BTreeMap<&'static str, Target>,
    /// The program measured as `forge`.
    pub forge: String,
    /// `release` or `debug` (the bench binary's and, by default, forge's profile).
    pub profile: &'static str,
    pub machine: Machine,
    /// Anything that makes the run invalid (the bench exits with 1 after printing the report).
    pub problems: Vec<String>,
}

/// Django's details when it was measured.
#[derive(Debug, Clone, Serialize)]
pub struct DjangoDetails {
    /// Wall time of the `peer.py dump` / `peer.py load` processes.
    pub dump_wall_s: f64,
    pub load_wall_s: f64,
    pub peak_rss_dump_bytes: u64,
    pub peak_rss_load_bytes: u64,
    pub dumped_objects: u64,
    pub loaded_objects: u64,
    pub fixture_bytes: u64,
    pub versions: String,
}

/// One repetition's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct RunNumbers {
    pub hoist_export_s: f64,
    pub copy_out_s: f64,
    pub hoist_import_s: f64,
    pub copy_in_s: f64,
    pub peak_rss_export_bytes: u64,
    pub peak_rss_import_bytes: u64,
    pub hoist_export_cpu_s: f64,
    pub hoist_import_cpu_s: f64,
    /// 1-minute load average when the repetition started.
    pub load_average_1m: Option<f64>,
}

/// A target and whether this run meets it (`met` is null when the value is unknown).
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `<=` or `>=`.
    pub comparison: &'static str,
    pub limit: f64,
    pub value: Option<f64>,
    pub met: Option<bool>,
}

impl Target {
    fn at_most(limit: f64, value: Option<f64>) -> Target {
        Target {
            comparison: "<=",
            limit,
            value,
            met: value.map(|v| v <= limit),
        }
    }

    fn at_least(limit: f64, value: Option<f64>) -> Target {
        Target {
            comparison: ">=",
            limit,
            value,
            met: value.map(|v| v >= limit),
        }
    }

    fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        }
    }
}

/// The targets of a report's numbers.
pub fn targets(r: &Report) -> BTreeMap<&'static str, Target> {
    let mut t = BTreeMap::new();
    t.insert(
        "export_ratio",
        Target::at_most(EXPORT_RATIO_TARGET, Some(r.export_ratio)),
    );
    t.insert(
        "import_ratio",
        Target::at_most(IMPORT_RATIO_TARGET, Some(r.import_ratio)),
    );
    t.insert(
        "peak_rss_export_bytes",
        Target::at_most(
            PEAK_RSS_TARGET_BYTES as f64,
            Some(r.peak_rss_export_bytes as f64),
        ),
    );
    t.insert(
        "peak_rss_import_bytes",
        Target::at_most(
            PEAK_RSS_TARGET_BYTES as f64,
            Some(r.peak_rss_import_bytes as f64),
        ),
    );
    t.insert(
        "django_speedup",
        Target::at_least(DJANGO_SPEEDUP_TARGET, r.django_speedup),
    );
    t
}

/// `a / b` (infinite when `b` is zero: a step too fast to time is no baseline).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::INFINITY }
}

/// The human-readable table.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let load = |l: Option<[f64; 3]>| l.map_or("?".to_owned(), |l| format!("{:.2}", l[0]));
    let _ = writeln!(
        s,
        "hoist bench — {} rows ({} issues; {} requested), {} profile",
        group(r.rows),
        group(r.issues as u64),
        group(r.rows_requested),
        r.profile
    );
    let _ = writeln!(
        s,
        "machine: {} CPUs, {} memory, PostgreSQL {}, load average {} → {}",
        r.machine.cpus,
        r.machine
            .memory_bytes
            .map_or("?".to_owned(), |b| format!("{:.1} GiB", b as f64 / GIB)),
        r.machine.postgres_version.as_deref().unwrap_or("?"),
        load(r.machine.load_average_start),
        load(r.machine.load_average_end),
    );
    if r.repeat > 1 {
        let _ = writeln!(
            s,
            "{} repetitions: fastest time and highest peak RSS of each",
            r.repeat
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<22} {:>10} {:>10} {:>12}  vs baseline (target)",
        "", "seconds", "rows/s", "peak RSS"
    );
    let rate = |secs: f64| {
        if secs > 0.0 {
            group((r.rows as f64 / secs).round() as u64)
        } else {
            "-".into()
        }
    };
    let verdict = |name: &str| r.targets.get(name).map_or("n/a", Target::verdict);
    let _ = writeln!(
        s,
        "{:<22} {:>10.3} {:>10} {:>12}  {:.2}× COPY out (≤ {EXPORT_RATIO_TARGET}×: {})",
        "hoist export",
        r.hoist_export_s,
        rate(r.hoist_export_s),
        mib(r.peak_rss_export_bytes),
        r.export_ratio,
        verdict("export_ratio"),
    );
    let _ = writeln!(
        s,
        "{:<22} {:>10.3} {:>10} {:>12}",
        "COPY out + gzip",
        r.copy_out_s,
        rate(r.copy_out_s),
        "",
    );
    let _ = writeln!(
        s,
        "{:<22} {:>10.3} {:>10} {:>12}  {:.2}× COPY in (≤ {IMPORT_RATIO_TARGET}×: {})",
        "hoist import",
        r.hoist_import_s,
        rate(r.hoist_import_s),
        mib(r.peak_rss_import_bytes),
        r.import_ratio,
        verdict("import_ratio"),
    );
    let _ = writeln!(
        s,
        "{:<22} {:>10.3} {:>10} {:>12}",
        "COPY in",
        r.copy_in_s,
        rate(r.copy_in_s),
        "",
    );
    match (r.django_dump_s, r.django_load_s, r.django_speedup) {
        (Some(dump), Some(load), Some(speedup)) => {
            let _ = writeln!(
                s,
                "{:<22} {:>10.3} {:>10} {:>12}",
                "Django dumpdata",
                dump,
                rate(dump),
                r.django
                    .as_ref()
                    .map_or(String::new(), |d| mib(d.peak_rss_dump_bytes)),
            );
            let _ = writeln!(
                s,
                "{:<22} {:>10.3} {:>10} {:>12}",
                "Django loaddata",
                load,
                rate(load),
                r.django
                    .as_ref()
                    .map_or(String::new(), |d| mib(d.peak_rss_load_bytes)),
            );
            let _ = writeln!(
                s,
                "{:<22} {speedup:>9.1}×{:>24}  (≥ {DJANGO_SPEEDUP_TARGET}×: {})",
                "hoist vs Django",
                "",
                verdict("django_speedup"),
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "{:<22} {}: {}",
                "Django",
                r.django_status,
                r.django_reason.as_deref().unwrap_or("")
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "forge CPU time (user + system): export {:.2} s, import {:.2} s",
        r.hoist_export_cpu_s, r.hoist_import_cpu_s
    );
    let _ = writeln!(
        s,
        "peak RSS ≤ {}: export {}, import {}",
        mib(PEAK_RSS_TARGET_BYTES),
        verdict("peak_rss_export_bytes"),
        verdict("peak_rss_import_bytes"),
    );
    let _ = writeln!(
        s,
        "archive {} ({} records, {} upload files of {}); COPY files {} ({} of COPY text)",
        mib(r.archive_bytes),
        group(r.archive_records),
        group(r.upload_files),
        mib(r.upload_bytes),
        mib(r.copy_bytes),
        mib(r.copy_raw_bytes),
    );
    let _ = writeln!(
        s,
        "rows check: {}; seeding took {:.1} s",
        r.row_check, r.seed_s
    );
    for p in &r.problems {
        let _ = writeln!(s, "PROBLEM: {p}");
    }
    s.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report {
            rows: 99_755,
            rows_requested: 100_000,
            issues: 4_875,
            hoist_export_s: 3.9,
            hoist_import_s: 16.5,
            copy_out_s: 3.0,
            copy_in_s: 9.0,
            export_ratio: 1.3,
            import_ratio: 16.5 / 9.0,
            peak_rss_export_bytes: 34 * 1024 * 1024,
            peak_rss_import_bytes: 33 * 1024 * 1024,
            django_dump_s: Some(40.0),
            django_load_s: Some(800.0),
            django_status: "measured",
            django_reason: None,
            django_speedup: Some(840.0 / 20.4),
            django_dump_speedup: Some(40.0 / 3.9),
            django_load_speedup: Some(800.0 / 16.5),
            django: Some(DjangoDetails {
                dump_wall_s: 41.0,
                load_wall_s: 801.0,
                peak_rss_dump_bytes: 300 * 1024 * 1024,
                peak_rss_load_bytes: 200 * 1024 * 1024,
                dumped_objects: 99_805,
                loaded_objects: 99_805,
                fixture_bytes: 30_000_000,
                versions: "Django 5.2.19".into(),
            }),
            hoist_export_reported_s: 3.85,
            hoist_import_reported_s: 16.4,
            hoist_export_cpu_s: 3.1,
            hoist_import_cpu_s: 6.2,
            archive_bytes: 14_734_570,
            archive_records: 113_163,
            upload_files: 939,
            upload_bytes: 12_000_000,
            copy_bytes: 13_000_000,
            copy_raw_bytes: 90_000_000,
            tables: BTreeMap::from([("issues".to_owned(), 4_875)]),
            row_check: "ok".into(),
            seed_s: 6.0,
            repeat: 1,
            runs: Vec::new(),
            targets: BTreeMap::new(),
            forge: "forge".into(),
            profile: "release",
            machine: Machine {
                cpus: 2,
                memory_bytes: Some(24 * 1024 * 1024 * 1024),
                postgres_version: Some("15.20".into()),
                load_average_start: Some([2.0, 2.0, 2.0]),
                load_average_end: Some([2.5, 2.0, 2.0]),
                ..Machine::default()
            },
            problems: Vec::new(),
        };
        r.targets = targets(&r);
        r
    }

    #[test]
    fn targets_judge_the_numbers() {
        let r = sample();
        assert_eq!(r.targets["export_ratio"].met, Some(false));
        assert_eq!(r.targets["import_ratio"].met, Some(false));
        assert_eq!(r.targets["peak_rss_export_bytes"].met, Some(true));
        assert_eq!(r.targets["django_speedup"].met, Some(false));
        let mut no_django = sample();
        no_django.django_speedup = None;
        assert_eq!(targets(&no_django)["django_speedup"].met, None);
    }

    #[test]
    fn the_table_reads_well() {
        insta::assert_snapshot!(render(&sample()));
    }

    #[test]
    fn the_table_says_why_django_is_missing() {
        let mut r = sample();
        r.django_dump_s = None;
        r.django_load_s = None;
        r.django_speedup = None;
        r.django_status = "skipped";
        r.django_reason = Some("1,000,000 rows > --django-max-rows 200,000".into());
        r.problems.push("row counts differ".into());
        r.targets = targets(&r);
        let text = render(&r);
        assert!(
            text.contains(
                "Django                 skipped: 1,000,000 rows > --django-max-rows 200,000"
            ),
            "{text}"
        );
        assert!(text.contains("PROBLEM: row counts differ"), "{text}");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn json_has_the_documented_keys_first() {
        let v = serde_json::to_value(sample()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            &keys[..11],
            [
                "rows",
                "rows_requested",
                "issues",
                "hoist_export_s",
                "hoist_import_s",
                "copy_out_s",
                "copy_in_s",
                "export_ratio",
                "import_ratio",
                "peak_rss_export_bytes",
                "peak_rss_import_bytes",
            ]
        );
        assert!(v["django_dump_s"].is_f64());
    }
}
