//! The peak RSS the bench reports is the measured child's own, not the bench's: on Linux a
//! child's `ru_maxrss` includes the high-water mark of the parent image it was spawned from, so
//! the bench measures through its `__measure-child` helper. This test holds 256 MiB, then
//! measures a tiny program both ways.

#![cfg(target_os = "linux")]

use hoist_bench::child::{Measurer, Spec, run_measured};

const HELD: usize = 256 * 1024 * 1024;

#[test]
fn the_helper_keeps_the_parent_rss_out_of_the_childs_figure() {
    // Touch every page so it is resident.
    let mut held = vec![0u8; HELD];
    for i in (0..HELD).step_by(4096) {
        held[i] = 1;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut spec = Spec::new("awk");
    spec.arg("BEGIN { print \"small\" }");

    let helper = Measurer::Helper(env!("CARGO_BIN_EXE_hoist-bench").into());
    let measured = run_measured(&helper, &spec, &dir.path().join("helper.stderr")).unwrap();
    assert!(measured.status.success(), "{:?}", measured.status);
    assert_eq!(measured.stdout_text(), "small\n");
    assert!(
        measured.max_rss_bytes < 32 * 1024 * 1024,
        "through the helper: {} bytes for awk",
        measured.max_rss_bytes
    );

    // Directly, the parent's 256 MiB leak into the child's figure: why the helper exists.
    let direct = run_measured(&Measurer::Direct, &spec, &dir.path().join("direct.stderr")).unwrap();
    assert!(
        direct.max_rss_bytes >= HELD as u64,
        "direct: {} bytes (the kernel no longer folds the parent's peak in? then the helper is \
         unnecessary but harmless)",
        direct.max_rss_bytes
    );
    assert_eq!(held[4096], 1);
}

#[test]
fn the_helper_reports_missing_programs_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let helper = Measurer::Helper(env!("CARGO_BIN_EXE_hoist-bench").into());
    let e = run_measured(
        &helper,
        &Spec::new("/nonexistent/python3"),
        &dir.path().join("a"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");

    let mut spec = Spec::new("sh");
    spec.arg("-c")
        .arg("echo out; echo err >&2; exit 7")
        .env("X", "1");
    let run = run_measured(&helper, &spec, &dir.path().join("b")).unwrap();
    assert_eq!(run.status, hoist_bench::child::ExitStatus::Code(7));
    assert_eq!(run.stdout_text(), "out\n");
    assert_eq!(run.stderr_tail(1), "err");
}
