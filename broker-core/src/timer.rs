//! Named deadlines (docs/STYLE.md, rule 14). Every actor keeps one [`TimerTable`]: a timer is
//! set where the state that needs it is entered, and cancelled where that state is left, so
//! each deadline formula is written once. The actor's next deadline is the table's minimum;
//! when it comes, the simulator reads the due timers from the table and hands their names
//! back in [`crate::actor::Input::Timers`], so the trace can say which timer fired.
//!
//! Invariant: each timer name is set at most once (setting it again moves it), and the two
//! indexes below always hold the same entries.

use std::collections::{BTreeMap, BTreeSet};

/// A set of named deadlines, in simulated milliseconds.
#[derive(Clone, Debug)]
pub struct TimerTable<T: Ord + Copy> {
    deadlines_ms: BTreeMap<T, u64>,
    /// The same entries ordered by deadline, then by name: the first is the next to fire.
    by_deadline: BTreeSet<(u64, T)>,
}

impl<T: Ord + Copy> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            deadlines_ms: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
        }
    }
}

impl<T: Ord + Copy> TimerTable<T> {
    /// Sets `timer` to fire at `at_ms`, replacing any earlier setting of the same timer.
    pub fn set(&mut self, timer: T, at_ms: u64) {
        if let Some(previous_ms) = self.deadlines_ms.insert(timer, at_ms) {
            self.by_deadline.remove(&(previous_ms, timer));
        }
        self.by_deadline.insert((at_ms, timer));
    }

    /// Cancels `timer`; returns its deadline if it was set.
    pub fn cancel(&mut self, timer: T) -> Option<u64> {
        let at_ms = self.deadlines_ms.remove(&timer)?;
        self.by_deadline.remove(&(at_ms, timer));
        Some(at_ms)
    }

    /// Cancels every timer `matches` selects (e.g. all timers of one partition).
    pub fn cancel_where(&mut self, mut matches: impl FnMut(&T) -> bool) {
        let doomed: Vec<T> = self
            .deadlines_ms
            .keys()
            .filter(|timer| matches(timer))
            .copied()
            .collect();
        for timer in doomed {
            self.cancel(timer);
        }
    }

    /// Cancels every timer.
    pub fn clear(&mut self) {
        self.deadlines_ms.clear();
        self.by_deadline.clear();
    }

    /// When `timer` fires, if it is set.
    pub fn deadline_ms(&self, timer: T) -> Option<u64> {
        self.deadlines_ms.get(&timer).copied()
    }

    /// Whether `timer` is set and due at `now_ms`.
    pub fn is_due(&self, timer: T, now_ms: u64) -> bool {
        self.deadline_ms(timer)
            .is_some_and(|deadline_ms| deadline_ms <= now_ms)
    }

    /// The earliest deadline of any timer.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.by_deadline.first().map(|(at_ms, _)| *at_ms)
    }

    /// Every timer due at `now_ms`, earliest first (ties in name order).
    pub fn due(&self, now_ms: u64) -> impl Iterator<Item = T> + '_ {
        self.by_deadline
            .iter()
            .take_while(move |(at_ms, _)| *at_ms <= now_ms)
            .map(|(_, timer)| *timer)
    }

    /// Every timer and its deadline, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (T, u64)> + '_ {
        self.deadlines_ms
            .iter()
            .map(|(timer, at_ms)| (*timer, *at_ms))
    }

    pub fn is_empty(&self) -> bool {
        self.deadlines_ms.is_empty()
    }

    /// Asserts that both indexes agree.
    pub fn check_invariants(&self) {
        assert_eq!(
            self.deadlines_ms.len(),
            self.by_deadline.len(),
            "timer indexes disagree"
        );
        for (timer, at_ms) in &self.deadlines_ms {
            assert!(self.by_deadline.contains(&(*at_ms, *timer)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Name {
        Heartbeat,
        Request(u64),
    }

    #[test]
    fn the_next_deadline_is_the_earliest_and_setting_again_moves_a_timer() {
        let mut table = TimerTable::default();
        table.set(Name::Heartbeat, 30);
        table.set(Name::Request(1), 20);
        assert_eq!(table.next_deadline_ms(), Some(20));
        table.set(Name::Request(1), 40);
        assert_eq!(table.next_deadline_ms(), Some(30));
        assert_eq!(table.cancel(Name::Heartbeat), Some(30));
        assert_eq!(table.cancel(Name::Heartbeat), None);
        assert_eq!(table.next_deadline_ms(), Some(40));
        table.check_invariants();
    }

    #[test]
    fn due_lists_timers_at_or_before_now_earliest_first_then_by_name() {
        let mut table = TimerTable::default();
        table.set(Name::Request(2), 10);
        table.set(Name::Heartbeat, 10);
        table.set(Name::Request(1), 5);
        table.set(Name::Request(3), 11);
        let due: Vec<Name> = table.due(10).collect();
        assert_eq!(due, [Name::Request(1), Name::Heartbeat, Name::Request(2)]);
        assert!(table.is_due(Name::Heartbeat, 10));
        assert!(!table.is_due(Name::Request(3), 10));
        table.cancel_where(|name| matches!(name, Name::Request(_)));
        assert_eq!(table.iter().collect::<Vec<_>>(), [(Name::Heartbeat, 10)]);
        table.check_invariants();
    }
}
