//! GGUF metadata values: typed key/value pairs (numbers, strings, nested arrays).

use super::cursor::{malformed, Cursor, Parse};

/// Longest string accepted in metadata (chat templates are the long ones, a few tens of KB).
pub const MAX_STRING_LEN: u64 = 16 * 1024 * 1024;
/// Arrays of arrays are legal; deeper nesting than this is refused rather than recursed into.
const MAX_ARRAY_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<MetadataValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetadataValue {
    /// Any integer type holding a non-negative value.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetadataValue::U8(v) => Some(v.into()),
            MetadataValue::U16(v) => Some(v.into()),
            MetadataValue::U32(v) => Some(v.into()),
            MetadataValue::U64(v) => Some(v),
            MetadataValue::I8(v) => u64::try_from(v).ok(),
            MetadataValue::I16(v) => u64::try_from(v).ok(),
            MetadataValue::I32(v) => u64::try_from(v).ok(),
            MetadataValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetadataValue::I8(v) => Some(v.into()),
            MetadataValue::I16(v) => Some(v.into()),
            MetadataValue::I32(v) => Some(v.into()),
            MetadataValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// Floats, and integers (some converters write `rope.freq_base` as an integer).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetadataValue::F32(v) => Some(v.into()),
            MetadataValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetadataValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetadataValue::String(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetadataValue]> {
        match self {
            MetadataValue::Array(v) => Some(v),
            _ => None,
        }
    }

    /// A short human form: arrays are summarised, long strings cut.
    pub fn summary(&self) -> String {
        match self {
            MetadataValue::Array(items) => format!("[{} items]", items.len()),
            MetadataValue::String(s) if s.chars().count() > 60 => {
                format!("{:?}…", s.chars().take(60).collect::<String>())
            }
            MetadataValue::String(s) => format!("{s:?}"),
            MetadataValue::F32(v) => v.to_string(),
            MetadataValue::F64(v) => v.to_string(),
            MetadataValue::Bool(v) => v.to_string(),
            other => other.as_i64().map_or_else(String::new, |v| v.to_string()),
        }
    }
}

/// Reads one value of GGUF type id `kind`; `key` names it in errors.
pub fn read_value(cursor: &mut Cursor, kind: u32, key: &str, depth: usize) -> Parse<MetadataValue> {
    let what = format!("value of `{key}`");
    Ok(match kind {
        0 => MetadataValue::U8(cursor.u8(&what)?),
        1 => MetadataValue::I8(cursor.u8(&what)? as i8),
        2 => MetadataValue::U16(u16::from_le_bytes(cursor.array(&what)?)),
        3 => MetadataValue::I16(i16::from_le_bytes(cursor.array(&what)?)),
        4 => MetadataValue::U32(cursor.u32(&what)?),
        5 => MetadataValue::I32(cursor.u32(&what)? as i32),
        6 => MetadataValue::F32(f32::from_bits(cursor.u32(&what)?)),
        7 => match cursor.u8(&what)? {
            0 => MetadataValue::Bool(false),
            1 => MetadataValue::Bool(true),
            other => return malformed(format!("{what}: bool byte is {other}, not 0 or 1")),
        },
        8 => MetadataValue::String(cursor.string(MAX_STRING_LEN, &what)?),
        9 => read_array(cursor, key, depth)?,
        10 => MetadataValue::U64(cursor.u64(&what)?),
        11 => MetadataValue::I64(cursor.u64(&what)? as i64),
        12 => MetadataValue::F64(f64::from_bits(cursor.u64(&what)?)),
        other => return malformed(format!("`{key}` has unknown value type {other}")),
    })
}

fn read_array(cursor: &mut Cursor, key: &str, depth: usize) -> Parse<MetadataValue> {
    if depth >= MAX_ARRAY_DEPTH {
        return malformed(format!(
            "`{key}` nests arrays deeper than {MAX_ARRAY_DEPTH} levels"
        ));
    }
    let item_kind = cursor.u32(&format!("array type of `{key}`"))?;
    let count = cursor.count(min_size(item_kind), &format!("array length of `{key}`"))?;
    // Grown as items arrive: the count is bounded by the file, not by what memory allows.
    let mut items = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        items.push(read_value(cursor, item_kind, key, depth + 1)?);
    }
    Ok(MetadataValue::Array(items))
}

/// The fewest bytes one value of type `kind` can take (unknown types fail when read).
fn min_size(kind: u32) -> u64 {
    match kind {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(kind: u32, bytes: &[u8]) -> Parse<MetadataValue> {
        read_value(&mut Cursor::new(bytes, bytes.len() as u64), kind, "k", 0)
    }

    #[test]
    fn reads_scalars_strings_and_arrays() {
        assert_eq!(value(5, &(-3i32).to_le_bytes()).unwrap().as_i64(), Some(-3));
        assert_eq!(value(6, &1.5f32.to_le_bytes()).unwrap().as_f64(), Some(1.5));
        let mut s = 2u64.to_le_bytes().to_vec();
        s.extend(b"hi");
        assert_eq!(value(8, &s).unwrap().as_str(), Some("hi"));
        let mut a = 4u32.to_le_bytes().to_vec();
        a.extend(2u64.to_le_bytes());
        a.extend(7u32.to_le_bytes());
        a.extend(9u32.to_le_bytes());
        let array = value(9, &a).unwrap();
        let items: Vec<_> = array
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64())
            .collect();
        assert_eq!(items, [Some(7), Some(9)]);
    }

    #[test]
    fn unknown_types_and_bad_bools_are_malformed() {
        assert!(value(13, &[0; 8]).is_err());
        assert!(value(7, &[2]).is_err());
    }
}
