//! `hoist-bench`: see the crate docs (`hoist_bench`) and `BENCHMARKS.md`.
//!
//! Two internal modes, used when the bench re-executes itself:
//! - `hoist-bench forge <args>` runs forge's command line (the default `forge` the bench measures;
//!   see `hoist_bench::forge_child`);
//! - `hoist-bench __measure-child REPORT PROGRAM ARGS…` runs PROGRAM and records its wall time and
//!   peak RSS (see `hoist_bench::child`).

use std::process::ExitCode;

use clap::Parser;
use hoist_bench::child::{HELPER_SUBCOMMAND, helper_main};
use hoist_bench::forge_child::{FORGE_SUBCOMMAND, run_forge_cli};
use hoist_bench::{BenchOptions, report};

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    match args.nth(1) {
        Some(first) if first == FORGE_SUBCOMMAND => return run_forge_cli(args),
        Some(first) if first == HELPER_SUBCOMMAND => return helper_main(args),
        _ => {}
    }
    let opts = match BenchOptions::try_parse() {
        Ok(o) => o,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // sqlx warns about every statement slower than 1 s; VACUUM, CHECKPOINT and the COPYs
        // of a large run all are, by design.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::query=error"));
    // Logs go to stderr; stdout carries only the report.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime failed: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(hoist_bench::run(&opts)) {
        Ok(report) => {
            if opts.json {
                match serde_json::to_string(&report) {
                    Ok(line) => println!("{line}"),
                    Err(e) => {
                        eprintln!("error: writing the JSON report failed: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{}", report::render(&report));
            }
            if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                for p in &report.problems {
                    eprintln!("error: {p}");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(1)
        }
    }
}
