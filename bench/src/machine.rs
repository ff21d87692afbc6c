//! The machine a run was measured on: CPUs, memory, load, kernel, PostgreSQL and its settings.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgPool;

/// What the numbers depend on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the bench.
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    /// 1, 5 and 15-minute load averages when the bench started and when it ended.
    pub load_average_start: Option<[f64; 3]>,
    pub load_average_end: Option<[f64; 3]>,
    pub postgres_version: Option<String>,
    /// Server settings that change write and read speed.
    pub postgres_settings: BTreeMap<String, String>,
}

/// PostgreSQL settings recorded with every run.
pub const POSTGRES_SETTINGS: [&str; 6] = [
    "shared_buffers",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "max_wal_size",
    "work_mem",
];

impl Machine {
    /// CPUs, memory, kernel and the load average now.
    pub fn probe() -> Machine {
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: read("/proc/cpuinfo").and_then(|s| cpu_model(&s)),
            memory_bytes: read("/proc/meminfo").and_then(|s| mem_total(&s)),
            kernel: read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()),
            load_average_start: load_average(),
            ..Machine::default()
        }
    }

    /// Record PostgreSQL's version and settings (best effort).
    pub async fn probe_postgres(&mut self, pool: &PgPool) {
        self.postgres_version = sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(pool)
            .await
            .ok();
        for name in POSTGRES_SETTINGS {
            if let Ok(v) = sqlx::query_scalar::<_, String>("SELECT current_setting($1)")
                .bind(name)
                .fetch_one(pool)
                .await
            {
                self.postgres_settings.insert(name.to_owned(), v);
            }
        }
    }
}

/// The 1, 5 and 15-minute load averages (`/proc/loadavg`).
pub fn load_average() -> Option<[f64; 3]> {
    parse_loadavg(&read("/proc/loadavg")?)
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn parse_loadavg(s: &str) -> Option<[f64; 3]> {
    let mut it = s.split_whitespace().map(str::parse::<f64>);
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        assert_eq!(
            parse_loadavg("2.02 2.38 2.43 3/512 31850\n"),
            Some([2.02, 2.38, 2.43])
        );
        assert_eq!(parse_loadavg("garbage"), None);
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags : x\n"),
            Some("AMD EPYC 7B13".into())
        );
        assert_eq!(
            mem_total("MemTotal:       24731648 kB\nMemFree: 1 kB\n"),
            Some(24_731_648 * 1024)
        );
    }

    #[test]
    fn probe_sees_at_least_one_cpu() {
        assert!(Machine::probe().cpus >= 1);
    }
}
