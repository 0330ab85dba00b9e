//! What is in flight to one node, in delivery order: by delivery time, then by send order.
//!
//! A sorted ring buffer rather than a B-tree: every delivery takes the first entry, and most
//! sends land at or near the back (a later send usually falls due later), so both ends are
//! cheap, while a B-tree shifts a leaf's worth of 184-byte envelopes on every removal (about
//! 2% of a run in a profile, issue 13).

use std::collections::VecDeque;

/// The order of deliveries: (delivery time in ms, message id).
pub type DeliveryKey = (u64, u64);

/// Entries kept sorted by their key; keys are unique because message ids are.
#[derive(Clone, Debug)]
pub struct DeliveryQueue<T> {
    entries: VecDeque<(DeliveryKey, T)>,
}

impl<T> Default for DeliveryQueue<T> {
    fn default() -> Self {
        DeliveryQueue {
            entries: VecDeque::new(),
        }
    }
}

impl<T> DeliveryQueue<T> {
    /// Puts `value` at its place in delivery order.
    pub fn insert(&mut self, key: DeliveryKey, value: T) {
        let at = self
            .entries
            .partition_point(|(existing, _)| *existing < key);
        self.entries.insert(at, (key, value));
    }

    /// The key of the next delivery.
    pub fn first_key(&self) -> Option<DeliveryKey> {
        self.entries.front().map(|(key, _)| *key)
    }

    /// Takes the next delivery.
    pub fn pop_first(&mut self) -> Option<(DeliveryKey, T)> {
        self.entries.pop_front()
    }

    /// Keeps the entries `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&DeliveryKey, &mut T) -> bool) {
        self.entries.retain_mut(|(key, value)| keep(key, value));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// The queue hands entries out exactly as a map ordered by key would, whatever the
        /// order of inserts, removals from the front and filters.
        #[test]
        fn behaves_as_an_ordered_map(operations in proptest::collection::vec((0u8..4, 0u64..50), 0..200)) {
            let mut queue = DeliveryQueue::default();
            let mut model = BTreeMap::new();
            for (next_id, (operation, due_ms)) in operations.into_iter().enumerate() {
                let key = (due_ms, next_id as u64);
                match operation {
                    0 | 1 => {
                        queue.insert(key, next_id);
                        model.insert(key, next_id);
                    }
                    2 => prop_assert_eq!(queue.pop_first(), model.pop_first()),
                    _ => {
                        queue.retain(|key, _| key.0 % 3 != due_ms % 3);
                        model.retain(|key, _| key.0 % 3 != due_ms % 3);
                    }
                }
                prop_assert_eq!(queue.first_key(), model.keys().next().copied());
                prop_assert_eq!(queue.len(), model.len());
            }
            let drained: Vec<_> = std::iter::from_fn(|| queue.pop_first()).collect();
            let expected: Vec<_> = model.into_iter().collect();
            prop_assert_eq!(drained, expected);
        }
    }
}
