//! The `forge` binary; see [`forge::cli`].

use std::process::ExitCode;

use clap::Parser;
use forge::cli::{Cli, init_logging, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            // Help and version go to stdout; usage errors to stderr.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Err(e) = init_logging() {
        eprintln!("error: {}", e.one_line());
        return ExitCode::from(1);
    }
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
    match runtime.block_on(run(&cli)) {
        Ok(output) => {
            if cli.json {
                println!("{}", output.json);
            } else {
                println!("{}", output.human);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(1)
        }
    }
}
