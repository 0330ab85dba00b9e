//! The progress bar of long commands. It goes to stderr and only when stderr is a terminal,
//! so logs, pipes and JSON consumers never see control characters.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `total` runs, or `None` when it should not be drawn.
pub fn bar(total: u64, wanted: bool) -> Option<ProgressBar> {
    if !wanted || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {per_sec}, eta {eta} {msg}")
    {
        bar.set_style(style);
    }
    Some(bar)
}
