//! Capture buffers of the windowed select, kept between tensors. The first tensor's buffers
//! (the embedding's: ~100 MB each) are then written again by every later tensor instead of
//! fresh memory being mapped and zeroed by the kernel for each — that page clearing was a
//! tenth of a TIES merge's CPU time.

use std::sync::Mutex;

/// Buffers kept: two cuts for each of a few inputs of the tensors being prepared.
const KEPT: usize = 8;

static POOL: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());

/// An empty buffer with room for at least `capacity` entries.
pub fn take(capacity: usize) -> Vec<u64> {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    // The largest kept buffer: the next tensor is rarely bigger than the first ones.
    let largest = (0..pool.len()).max_by_key(|&i| pool[i].capacity());
    let mut buffer = largest.map(|i| pool.swap_remove(i)).unwrap_or_default();
    drop(pool);
    buffer.clear();
    buffer.reserve(capacity);
    buffer
}

/// Returns a buffer for a later tensor.
pub fn give(buffer: Vec<u64>) {
    if buffer.capacity() == 0 {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < KEPT {
        pool.push(buffer);
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
}
