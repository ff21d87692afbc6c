//! What long commands show while they run: progress bars on a terminal, JSON lines on stderr with
//! `--json`, nothing otherwise — and Ctrl-C, which cancels cleanly instead of killing the process.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use hoist::progress::{CancellationToken, Phase, Progress, ProgressSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress sink for the command line.
pub fn sink(json: bool) -> ProgressSink {
    if json {
        return ProgressSink::new(|p: &Progress| {
            if let Ok(line) = serde_json::to_string(p) {
                eprintln!("{line}");
            }
        });
    }
    if !std::io::stderr().is_terminal() {
        return ProgressSink::none();
    }
    let bars = Bars {
        multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        bars: Mutex::new(HashMap::new()),
    };
    ProgressSink::new(move |p: &Progress| bars.show(p))
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<(Phase, String), ProgressBar>>,
}

impl Bars {
    fn show(&self, p: &Progress) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars
            .entry((p.phase, p.relation.clone()))
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(p.total.unwrap_or(0)));
                let style = ProgressStyle::with_template(
                    "{prefix:>8} {msg:<28} [{bar:30}] {human_pos:>9}/{human_len:<9} {elapsed}",
                )
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.set_prefix(format!("{:?}", p.phase).to_lowercase());
                bar.set_message(p.relation.clone());
                bar
            });
        if let Some(total) = p.total {
            bar.set_length(total);
        }
        bar.set_position(p.done);
        if p.total.is_some_and(|t| p.done >= t) {
            bar.finish();
        }
    }
}

/// A token cancelled by the first Ctrl-C (the command then rolls back and exits with an error).
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: cancelling, nothing will be left half-written");
            cancel.cancel();
        }
    });
    token
}
