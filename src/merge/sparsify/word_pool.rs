//! Word buffers kept between tensors: the windowed select's captures and DARE's and DELLA's
//! recorded keep bits. The first tensor's buffers (the embedding's: ~100 MB of captures, 33 MB
//! of bits per input) are then written again by every later tensor instead of fresh memory
//! being mapped and zeroed by the kernel for each — that page clearing was a tenth of a TIES
//! merge's CPU time.

use std::sync::Mutex;

/// Buffers kept: one or two per input of the few tensors being prepared or merged at once.
const KEPT: usize = 8;

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: Vec::new(),
    kept: KEPT,
});

/// An empty buffer with room for at least `capacity` entries.
pub fn take(capacity: usize) -> Vec<u64> {
    let mut buffer = POOL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take(capacity);
    buffer.clear();
    buffer.reserve(capacity);
    buffer
}

/// Returns a buffer for a later tensor.
pub fn give(buffer: Vec<u64>) {
    POOL.lock().unwrap_or_else(|p| p.into_inner()).give(buffer);
}

struct Pool {
    buffers: Vec<Vec<u64>>,
    kept: usize,
}

impl Pool {
    /// The smallest kept buffer that is large enough, else the largest (or a new one): big
    /// buffers stay for big tensors.
    fn take(&mut self, capacity: usize) -> Vec<u64> {
        let sizes = || (0..self.buffers.len()).map(|i| (self.buffers[i].capacity(), i));
        let fits = sizes().filter(|&(size, _)| size >= capacity).min();
        match fits.or_else(|| sizes().max()) {
            Some((_, i)) => self.buffers.swap_remove(i),
            None => Vec::new(),
        }
    }

    /// Keeps `buffer` unless the pool is full of larger ones (whose pages are already touched).
    fn give(&mut self, buffer: Vec<u64>) {
        if buffer.capacity() == 0 {
            return;
        }
        if self.buffers.len() < self.kept {
            return self.buffers.push(buffer);
        }
        let smallest = (0..self.buffers.len()).min_by_key(|&i| self.buffers[i].capacity());
        if let Some(i) = smallest.filter(|&i| self.buffers[i].capacity() < buffer.capacity()) {
            self.buffers[i] = buffer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_with_room() {
        let mut first = take(1000);
        assert!(first.capacity() >= 1000 && first.is_empty());
        first.extend([1, 2, 3]);
        give(first);
        let again = take(10);
        assert!(again.is_empty());
        assert!(again.capacity() >= 10);
    }

    #[test]
    fn a_full_pool_keeps_its_largest_buffers_and_fits_requests() {
        let mut pool = Pool {
            buffers: Vec::new(),
            kept: 2,
        };
        for size in [10, 1000, 100] {
            pool.give(Vec::with_capacity(size));
        }
        let mut kept: Vec<usize> = pool.buffers.iter().map(Vec::capacity).collect();
        kept.sort_unstable();
        assert_eq!(kept, [100, 1000]);
        assert_eq!(pool.take(50).capacity(), 100, "the smallest that fits");
        assert_eq!(pool.take(5000).capacity(), 1000, "none fits: the largest");
        assert_eq!(pool.take(1).capacity(), 0, "empty pool: a new buffer");
    }
}
