//! Writes one record as one NDJSON line, byte for byte as `serde_json::to_writer` writes it,
//! faster: strings are scanned eight bytes at a time for what JSON escapes, and the line is
//! built in memory and written at once. It serializes through the record's own `Serialize`
//! (the field table stays the one definition); the types a record does not use are refused,
//! and the caller then writes the record with serde_json instead (a test compares the two).

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// A type a record does not use (the caller falls back to serde_json).
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a record type: {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

/// Appends `value` as one JSON line (with its `\n`) to `out`. On an error `out` may hold part
/// of the line; the caller truncates it.
pub(crate) fn write_line<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Unsupported> {
    value.serialize(&mut Line { out })?;
    out.push(b'\n');
    Ok(())
}

struct Line<'a> {
    out: &'a mut Vec<u8>,
}

impl Line<'_> {
    fn integer(&mut self, v: impl fmt::Display) {
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = write!(self.out, "{v}");
    }

    /// Floats exactly as serde_json writes them (shortest round trip; `null` when not
    /// finite): few per record, so they go through it.
    fn float<F: Serialize>(&mut self, v: F) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut *self.out, &v).map_err(|e| Unsupported(e.to_string()))
    }
}

/// Bytes JSON escapes: control bytes, `"` and `\` (`\b \t \n \f \r` by name, the rest
/// `\u00xx`, as serde_json does).
fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b'\n' => out.extend_from_slice(b"\\n"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\r' => out.extend_from_slice(b"\\r"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of the eight bytes of `x` needs escaping (exact for "any": the borrow tricks
/// only misplace which byte).
fn any_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let less_than_space = x.wrapping_sub(ONES * 0x20) & !x;
    let zero_byte = |y: u64| y.wrapping_sub(ONES) & !y;
    (less_than_space
        | zero_byte(x ^ (ONES * u64::from(b'"')))
        | zero_byte(x ^ (ONES * u64::from(b'\\'))))
        & HIGH
        != 0
}

/// Appends `s` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut plain_from = 0;
    let mut chunks = bytes.chunks_exact(8);
    // Eight bytes at a time while none needs escaping (most of every record).
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if any_needs_escape(u64::from_le_bytes(word)) {
            escape_run(out, bytes, &mut plain_from, at, at + 8);
        }
        at += 8;
    }
    escape_run(out, bytes, &mut plain_from, at, bytes.len());
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Escapes what needs it in `bytes[from..to]`, after the plain bytes since `plain_from`.
fn escape_run(out: &mut Vec<u8>, bytes: &[u8], plain_from: &mut usize, from: usize, to: usize) {
    for (i, &b) in bytes.iter().enumerate().take(to).skip(from) {
        if needs_escape(b) {
            out.extend_from_slice(&bytes[*plain_from..i]);
            escape(out, b);
            *plain_from = i + 1;
        }
    }
}

/// Appends a field name and its colon, as it is: a record's field names are identifiers,
/// which JSON never escapes (`record_fields_need_no_escape` checks the table), and scanning
/// them was a third of writing a line.
fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

macro_rules! integers {
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, v: $t) -> Result<(), Unsupported> {
            self.integer(v);
            Ok(())
        })*
    };
}

impl<'b> ser::Serializer for &'b mut Line<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Fields<'b>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported("bytes".into()))
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Unsupported> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported("newtype variant".into()))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported("sequence".into()))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported("tuple".into()))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported("tuple struct".into()))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported("tuple variant".into()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported("map".into()))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        self.out.push(b'{');
        Ok(Fields {
            out: self.out,
            first: true,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported("struct variant".into()))
    }
}

/// A struct's fields, `"name":value` separated by commas.
pub(crate) struct Fields<'b> {
    out: &'b mut Vec<u8>,
    first: bool,
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_key(self.out, key);
        value.serialize(&mut Line { out: self.out })
    }

    fn end(self) -> Result<(), Unsupported> {
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_json_line<T: Serialize>(v: &T) -> Vec<u8> {
        let mut want = serde_json::to_vec(v).unwrap();
        want.push(b'\n');
        want
    }

    proptest::proptest! {
        /// Any string, escaped as serde_json escapes it.
        #[test]
        fn strings_as_serde_json_writes_them(s in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f]){0,40}") {
            let mut out = Vec::new();
            write_line(&mut out, &s).unwrap();
            proptest::prop_assert_eq!(out, serde_json_line(&s));
        }

        #[test]
        fn numbers_as_serde_json_writes_them(f in proptest::num::f64::ANY, n in proptest::num::u64::ANY) {
            for line in [&f as &dyn erased::Line, &Some(n), &(n as u16), &(f as f32)] {
                let (mine, want) = line.both();
                proptest::prop_assert_eq!(mine, want);
            }
        }
    }

    /// Both writers over one value, for a table of values of different types.
    mod erased {
        pub trait Line {
            fn both(&self) -> (Vec<u8>, Vec<u8>);
        }
        impl<T: serde::Serialize> Line for T {
            fn both(&self) -> (Vec<u8>, Vec<u8>) {
                let mut mine = Vec::new();
                super::write_line(&mut mine, self).unwrap();
                (mine, super::serde_json_line(self))
            }
        }
    }

    #[test]
    fn every_escape() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut out = Vec::new();
        write_line(&mut out, &all).unwrap();
        assert_eq!(out, serde_json_line(&all));
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            assert_eq!(any_needs_escape(word), needs_escape(b), "{b:#04x}");
        }
    }

    #[test]
    fn record_fields_need_no_escape() {
        let fields = crate::report::FIELDS
            .iter()
            .flat_map(|f| std::iter::once(f).chain(f.fields));
        for f in fields {
            assert!(!f.name.bytes().any(needs_escape), "{}", f.name);
        }
    }

    #[test]
    fn unsupported_types_are_refused() {
        let mut out = Vec::new();
        assert!(write_line(&mut out, &vec![1]).is_err());
        assert!(write_line(&mut out, &std::collections::BTreeMap::from([(1, 2)])).is_err());
    }
}
