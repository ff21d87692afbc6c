//! The `forge` binary; see [`forge::cli`].

fn main() -> std::process::ExitCode {
    forge::cli::main_from(std::env::args_os())
}
