//! The progress bar of long commands. It goes to stderr and only when stderr is a terminal,
//! so logs, pipes and JSON consumers never see control characters.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `total` runs, or `None` when it should not be drawn.
pub fn bar(total: u64, wanted: bool) -> Option<ProgressBar> {
    if !wanted || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Some(style) = style() {
        bar.set_style(style);
    }
    Some(bar)
}

/// The bar's layout. indicatif's own `{per_sec}` prints four decimals (`183.4127/s`): noise
/// that flickers on every redraw and does not say what is counted, so `{rate}` is ours.
const TEMPLATE: &str = "{bar:40} {pos}/{len} seeds, {rate}, eta {eta} {msg}";

fn style() -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(TEMPLATE).ok()?;
    Some(style.with_key(
        "rate",
        |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = out.write_str(&rate_text(state.per_sec()));
        },
    ))
}

/// A rate of seeds per second rounded to a whole number, e.g. `183 seeds/s`; below one seed
/// a second one decimal is kept, so a slow sweep does not read `0 seeds/s`.
pub fn rate_text(seeds_per_s: f64) -> String {
    if !seeds_per_s.is_finite() || seeds_per_s <= 0.0 {
        "- seeds/s".to_string()
    } else if seeds_per_s < 1.0 {
        format!("{seeds_per_s:.1} seeds/s")
    } else {
        format!("{seeds_per_s:.0} seeds/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_to_whole_seeds_per_second() {
        assert_eq!(rate_text(183.4127), "183 seeds/s");
        assert_eq!(rate_text(2.5001), "3 seeds/s");
        assert_eq!(rate_text(0.26), "0.3 seeds/s");
        assert_eq!(rate_text(0.0), "- seeds/s");
        assert_eq!(rate_text(f64::NAN), "- seeds/s");
        assert_eq!(rate_text(f64::INFINITY), "- seeds/s");
    }

    #[test]
    fn the_bar_shows_our_rounded_rate_not_indicatifs() {
        assert!(style().is_some(), "the template parses");
        assert!(TEMPLATE.contains("{rate}") && !TEMPLATE.contains("per_sec"));
    }
}
