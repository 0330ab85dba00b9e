//! Named deadlines (docs/STYLE.md, rule 14). Every actor keeps one [`TimerTable`]: a timer is
//! set where the state that needs it is entered, and cancelled where that state is left, so
//! each deadline formula is written once. The actor's next deadline is the table's minimum;
//! when it comes, the simulator reads the due timers from the table and hands their names
//! back in [`crate::actor::Input::Timers`], so the step record (`run --records`) names the timers that fired.
//!
//! Invariant: each timer name is set at most once (setting it again moves it), and the
//! entries stay sorted by (deadline, name).

use std::collections::BTreeMap;

/// A set of named deadlines, in simulated milliseconds. They sit in one vector kept sorted by
/// (deadline, name): the next deadline is its first entry, and setting or cancelling one
/// shifts a few entries. A producer with many batches in flight holds dozens of timers, so
/// each name's deadline is also indexed by name: finding a timer is a binary search, not a
/// scan of the whole table (the scan was the simulator's hottest function).
#[derive(Clone, Debug)]
pub struct TimerTable<T: Ord + Copy> {
    by_deadline: Vec<(u64, T)>,
    deadline_by_name: BTreeMap<T, u64>,
}

impl<T: Ord + Copy> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            by_deadline: Vec::new(),
            deadline_by_name: BTreeMap::new(),
        }
    }
}

impl<T: Ord + Copy> TimerTable<T> {
    fn position(&self, timer: T) -> Option<usize> {
        let at_ms = *self.deadline_by_name.get(&timer)?;
        self.by_deadline.binary_search(&(at_ms, timer)).ok()
    }

    /// Sets `timer` to fire at `at_ms`, replacing any earlier setting of the same timer.
    pub fn set(&mut self, timer: T, at_ms: u64) {
        if let Some(index) = self.position(timer) {
            if self.by_deadline[index].0 == at_ms {
                return;
            }
            self.by_deadline.remove(index);
        }
        let index = self
            .by_deadline
            .partition_point(|entry| *entry < (at_ms, timer));
        self.by_deadline.insert(index, (at_ms, timer));
        self.deadline_by_name.insert(timer, at_ms);
    }

    /// Cancels `timer`; returns its deadline if it was set.
    pub fn cancel(&mut self, timer: T) -> Option<u64> {
        let index = self.position(timer)?;
        self.deadline_by_name.remove(&timer);
        Some(self.by_deadline.remove(index).0)
    }

    /// Cancels every timer `matches` selects (e.g. all timers of one partition).
    pub fn cancel_where(&mut self, mut matches: impl FnMut(&T) -> bool) {
        self.by_deadline.retain(|(_, timer)| !matches(timer));
        self.deadline_by_name.retain(|timer, _| !matches(timer));
    }

    /// Cancels every timer.
    pub fn clear(&mut self) {
        self.by_deadline.clear();
        self.deadline_by_name.clear();
    }

    /// When `timer` fires, if it is set.
    pub fn deadline_ms(&self, timer: T) -> Option<u64> {
        self.deadline_by_name.get(&timer).copied()
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
        self.deadline_by_name
            .iter()
            .map(|(timer, at_ms)| (*timer, *at_ms))
    }

    pub fn is_empty(&self) -> bool {
        self.by_deadline.is_empty()
    }

    /// Asserts that the entries are sorted and that the name index agrees with them (so each
    /// timer is set at most once). The second walks the index, so only test builds (debug
    /// assertions) check it; `set` keeps it anyway.
    pub fn check_invariants(&self) {
        assert!(
            self.by_deadline.windows(2).all(|pair| pair[0] < pair[1]),
            "timer table out of order"
        );
        if !cfg!(debug_assertions) {
            return;
        }
        // The index names each timer once; both views must hold the same entries.
        assert_eq!(
            self.by_deadline.len(),
            self.deadline_by_name.len(),
            "a timer is set twice"
        );
        assert!(
            self.by_deadline
                .iter()
                .all(|(at_ms, timer)| self.deadline_by_name.get(timer) == Some(at_ms)),
            "the index disagrees with the table"
        );
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
