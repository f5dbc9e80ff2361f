//! [`Coalesce`]: the bookkeeping of group commit. Callers add work to one list; the first
//! caller that finds no writer running becomes the writer and takes batches until the list
//! is empty. Used by the queue's group writer and by the worker's finish queue.

/// Work waiting for the writer, and whether a writer runs. Keep it under a lock: deciding
/// to start a writer and marking it idle must happen under the same lock, or work is
/// stranded.
#[derive(Debug)]
pub(crate) struct Coalesce<T> {
    pending: Vec<T>,
    writing: bool,
}

impl<T> Default for Coalesce<T> {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            writing: false,
        }
    }
}

impl<T> Coalesce<T> {
    /// Adds `item`; `true` when no writer runs, so the caller must start one.
    pub(crate) fn push(&mut self, item: T) -> bool {
        self.pending.push(item);
        !std::mem::replace(&mut self.writing, true)
    }

    /// The writer's next batch (at most `max` items, oldest first), or `None` when nothing
    /// waits, which marks the writer idle.
    pub(crate) fn next_batch(&mut self, max: usize) -> Option<Vec<T>> {
        if self.pending.is_empty() {
            self.writing = false;
            return None;
        }
        let n = self.pending.len().min(max);
        Some(self.pending.drain(..n).collect())
    }

    /// Items waiting.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Coalesce;

    #[test]
    fn only_the_first_caller_writes_and_the_writer_goes_idle_when_drained() {
        let mut c = Coalesce::default();
        assert!(c.push(1), "no writer yet: this caller writes");
        assert!(!c.push(2), "a writer runs: this caller only waits");
        assert_eq!(c.next_batch(1), Some(vec![1]));
        assert!(!c.push(3));
        assert_eq!(c.next_batch(10), Some(vec![2, 3]));
        assert_eq!(c.next_batch(10), None);
        assert!(c.push(4), "the writer went idle: the next caller writes");
    }
}
