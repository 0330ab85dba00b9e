//! How the teaching views spell numbers and sets: `2.961 s`, `5,000`, `{1,2,3}` (the
//! trace's broker sets), `b2 and b3`.

use watermark_broker_core::ids::BrokerId;

/// `{1,2,3}`: a broker set as the trace prints it.
pub fn brokers(list: &[BrokerId]) -> String {
    let names: Vec<String> = list.iter().map(|broker| broker.0.to_string()).collect();
    format!("{{{}}}", names.join(","))
}

/// `b2`, `b2 and b3`, `b1, b2 and b3`.
pub fn offsets_list(list: &[BrokerId]) -> String {
    let names: Vec<String> = list.iter().map(ToString::to_string).collect();
    match names.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A moment of simulated time in seconds, to the millisecond: `2.961 s`, `30.000 s`.
pub fn seconds(time_ms: u64) -> String {
    format!("{}.{:03} s", time_ms / 1000, time_ms % 1000)
}

/// A span of simulated time: `5.0 s` when it is whole tenths, else to the millisecond.
pub fn duration(span_ms: u64) -> String {
    if span_ms.is_multiple_of(100) {
        format!("{}.{} s", span_ms / 1000, (span_ms % 1000) / 100)
    } else {
        seconds(span_ms)
    }
}

/// `5,000`: thousands separated, as a handout prints a configuration value.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `it last caught up at 2.966 s, 2.034 s ago`, or that it has not in this leadership: a
/// follower's last caught-up time as its leader saw it, at `now_ms`.
pub fn caught_up_phrase(last_caught_up_time_ms: Option<u64>, now_ms: u64) -> String {
    match last_caught_up_time_ms {
        Some(time_ms) => format!(
            "it last caught up at {}, {} ago",
            seconds(time_ms),
            duration(now_ms.saturating_sub(time_ms))
        ),
        None => "it has not caught up in this leadership".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_handout_prints_them() {
        assert_eq!(seconds(2961), "2.961 s");
        assert_eq!(seconds(30000), "30.000 s");
        assert_eq!(seconds(30), "0.030 s");
        assert_eq!(duration(5000), "5.0 s");
        assert_eq!(duration(5039), "5.039 s");
        assert_eq!(thousands(5000), "5,000");
        assert_eq!(thousands(30000000), "30,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(brokers(&[BrokerId(1), BrokerId(3)]), "{1,3}");
        assert_eq!(
            offsets_list(&[BrokerId(1), BrokerId(2), BrokerId(3)]),
            "b1, b2 and b3"
        );
    }
}
