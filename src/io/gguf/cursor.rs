//! A bounds-checked little-endian cursor over the part of a GGUF header read so far.

/// Why a read stopped: the header goes on past the bytes fetched, or the file is malformed.
#[derive(Debug)]
pub enum Stop {
    NeedMore,
    Malformed(String),
}

pub type Parse<T> = std::result::Result<T, Stop>;

pub fn malformed<T>(reason: impl Into<String>) -> Parse<T> {
    Err(Stop::Malformed(reason.into()))
}

/// Reads from `bytes`, the first `bytes.len()` bytes of a file of `file_size` bytes.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    file_size: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8], file_size: u64) -> Self {
        Cursor {
            bytes,
            pos: 0,
            file_size,
        }
    }

    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// Bytes of the file after the cursor, read or not.
    pub fn remaining_in_file(&self) -> u64 {
        self.file_size.saturating_sub(self.pos as u64)
    }

    /// `what` names the field for the error when the file ends first.
    pub fn take(&mut self, len: u64, what: &str) -> Parse<&'a [u8]> {
        if len > self.remaining_in_file() {
            return malformed(format!(
                "{what} ({len} bytes at offset {}) runs past the end of the file ({} bytes)",
                self.pos, self.file_size
            ));
        }
        let end = self.pos + len as usize;
        if end > self.bytes.len() {
            return Err(Stop::NeedMore);
        }
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Parse<[u8; N]> {
        Ok(self.take(N as u64, what)?.try_into().expect("N bytes"))
    }

    pub fn u8(&mut self, what: &str) -> Parse<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Parse<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Parse<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A length-prefixed UTF-8 string of at most `max_len` bytes.
    pub fn string(&mut self, max_len: u64, what: &str) -> Parse<String> {
        let len = self.u64(what)?;
        if len > max_len {
            return malformed(format!(
                "{what} claims {len} bytes, more than the {max_len}-byte limit"
            ));
        }
        let bytes = self.take(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_string()),
            Err(e) => malformed(format!("{what} is not valid UTF-8 ({e})")),
        }
    }

    /// A count of items each at least `min_item_bytes` long: more than the rest of the file can
    /// hold is refused before anything is allocated for them.
    pub fn count(&mut self, min_item_bytes: u64, what: &str) -> Parse<u64> {
        let count = self.u64(what)?;
        let fits = count
            .checked_mul(min_item_bytes)
            .is_some_and(|bytes| bytes <= self.remaining_in_file());
        if !fits {
            return malformed(format!(
                "{what} is {count}, more than the {} bytes left in the file can hold",
                self.remaining_in_file()
            ));
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_asks_for_more_before_the_file_ends() {
        let bytes = [1, 0, 0, 0, 2];
        let mut cursor = Cursor::new(&bytes, 100);
        assert_eq!(cursor.u32("a").unwrap(), 1);
        assert!(matches!(cursor.u32("b"), Err(Stop::NeedMore)));
    }

    #[test]
    fn past_the_end_of_the_file_is_malformed_and_names_the_field() {
        let bytes = [5, 0, 0, 0, 0, 0, 0, 0, b'a'];
        let mut cursor = Cursor::new(&bytes, 9);
        match cursor.string(100, "key name") {
            Err(Stop::Malformed(reason)) => assert!(reason.contains("key name"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn absurd_counts_are_refused_up_front() {
        let bytes = u64::MAX.to_le_bytes();
        let mut cursor = Cursor::new(&bytes, 1 << 40);
        assert!(matches!(cursor.count(8, "n"), Err(Stop::Malformed(_))));
    }
}
