//! The stored body of an event that seals nothing, read and written without
//! the intermediate `serde_json::Value`: [`canonical_public_body`] writes the
//! canonical JSON of [`Event::public_body`] straight from the event's
//! `Serialize` (a serializer that sorts each object's members as
//! [`crate::canonical`] does), and [`decode_public_body`] reads the body
//! straight into the event's types. Both are shortcuts of the general path
//! ([`Event::canonical_body`], [`Event::from_stored`]) and give up (`None`)
//! on anything they do not handle exactly as it does (an event with
//! openings, a map key that is not text or an integer, a repeated key, an
//! integer wider than 64 bits): the caller then takes the general path. The
//! unit tests check both against the general path on every kind of event.

use serde::ser::{self, Serialize};
use serde::Deserialize;

use crate::canonical::{utf16_order, write_double, write_str};
use crate::event::{Event, Payload, Role, CHAIN_FORMAT};

/// [`Event::canonical_body`] of an event without openings, or `None` (see
/// the module's notes).
pub(crate) fn canonical_public_body(event: &Event) -> Option<String> {
    if !event.openings.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(512);
    event
        .serialize(Canon {
            out: &mut out,
            top: true,
        })
        .ok()?;
    Some(out)
}

/// The public body's fields (the event's, less its `hash`, plus the
/// chain format `v`), with the attributes `Event` has.
#[derive(Deserialize)]
struct PublicBody {
    v: u64,
    trial: String,
    seq: u64,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    role: Role,
    site: Option<String>,
    reason: Option<String>,
    payload: Payload,
    #[serde(default)]
    software: Option<String>,
    prev_hash: String,
}

/// The event a stored body without openings holds, read straight into its
/// types; `None` when the body does not read so (the caller then reads it
/// with [`Event::from_stored`], which names what is wrong).
pub(crate) fn decode_public_body(body: &str, hash: &str) -> Option<Event> {
    // A sealed payload (`"type":"sealed"` or a `sealed` member) needs its
    // openings: the general path refuses it without them. Any body with
    // the word in it is left to that path.
    if body.contains("sealed") {
        return None;
    }
    let b: PublicBody = serde_json::from_str(body).ok()?;
    if b.v != CHAIN_FORMAT {
        return None;
    }
    Some(Event {
        trial: b.trial,
        seq: b.seq,
        at: b.at,
        actor: b.actor,
        role: b.role,
        site: b.site,
        reason: b.reason,
        payload: b.payload,
        software: b.software,
        prev_hash: b.prev_hash,
        hash: hash.to_string(),
        openings: Default::default(),
    })
}

/// Why the shortcut gave up (never shown: the caller takes the general
/// path).
#[derive(Debug)]
pub(crate) struct GiveUp;

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not handled by the canonical shortcut")
    }
}

impl std::error::Error for GiveUp {}

impl ser::Error for GiveUp {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        GiveUp
    }
}

/// Writes a value's canonical JSON into `out`. `top`: the event itself
/// (its `hash` member is left out and `"v":2` added, as
/// [`Event::public_body`] does).
struct Canon<'a> {
    out: &'a mut String,
    top: bool,
}

const LIMIT: u64 = 1 << 53;

fn write_u64(out: &mut String, u: u64) {
    if u <= LIMIT {
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = write!(out, "{u}");
    } else {
        // As `serde_json::Number::as_f64` then RFC 8785.
        write_double(out, u as f64);
    }
}

fn write_i64(out: &mut String, i: i64) {
    if i >= 0 {
        write_u64(out, i.unsigned_abs());
    } else if i.unsigned_abs() <= LIMIT {
        out.push('-');
        write_u64(out, i.unsigned_abs());
    } else {
        write_double(out, i as f64);
    }
}

fn write_f64(out: &mut String, x: f64) {
    if x.is_finite() {
        write_double(out, x);
    } else {
        // `serde_json::to_value` makes a non-finite float `null`.
        out.push_str("null");
    }
}

/// An object being written: each member's value is written into `buf`
/// as it comes; at the end the members are put in key order.
struct Object<'a> {
    out: &'a mut String,
    buf: String,
    /// Key, and the range of its value in `buf`.
    members: Vec<(std::borrow::Cow<'static, str>, usize, usize)>,
    top: bool,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut String, top: bool) -> Self {
        Object {
            out,
            buf: String::with_capacity(256),
            members: Vec::with_capacity(12),
            top,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: std::borrow::Cow<'static, str>,
        value: &T,
    ) -> Result<(), GiveUp> {
        let start = self.buf.len();
        value.serialize(Canon {
            out: &mut self.buf,
            top: false,
        })?;
        self.members.push((key, start, self.buf.len()));
        Ok(())
    }

    /// Writes the members in key order; gives back the output.
    fn finish(mut self) -> Result<&'a mut String, GiveUp> {
        if self.top {
            let start = self.buf.len();
            write_u64(&mut self.buf, CHAIN_FORMAT);
            self.members.push(("v".into(), start, self.buf.len()));
        }
        self.members.sort_by(|a, b| utf16_order(&a.0, &b.0));
        if self.members.windows(2).any(|w| w[0].0 == w[1].0) {
            // A repeated key: `Value` keeps the last; left to the general path.
            return Err(GiveUp);
        }
        self.out.push('{');
        for (i, (key, start, end)) in self.members.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_str(self.out, key);
            self.out.push(':');
            self.out.push_str(&self.buf[*start..*end]);
        }
        self.out.push('}');
        Ok(self.out)
    }
}

/// An array being written.
struct Array<'a> {
    out: &'a mut String,
    first: bool,
    /// For a tuple variant: close the `{"Variant":` wrapper too.
    wrapped: bool,
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        value.serialize(Canon {
            out: self.out,
            top: false,
        })
    }

    fn finish(self) -> Result<(), GiveUp> {
        self.out.push(']');
        if self.wrapped {
            self.out.push('}');
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = VariantObject<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), GiveUp> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), GiveUp> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), GiveUp> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), GiveUp> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), GiveUp> {
        write_i64(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), GiveUp> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), GiveUp> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), GiveUp> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), GiveUp> {
        write_u64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), GiveUp> {
        Err(GiveUp)
    }
    fn serialize_u128(self, _: u128) -> Result<(), GiveUp> {
        Err(GiveUp)
    }
    fn serialize_f32(self, v: f32) -> Result<(), GiveUp> {
        write_f64(self.out, f64::from(v));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), GiveUp> {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), GiveUp> {
        let mut b = [0u8; 4];
        write_str(self.out, v.encode_utf8(&mut b));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), GiveUp> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), GiveUp> {
        use ser::SerializeSeq;
        let mut a = self.serialize_seq(Some(v.len()))?;
        for b in v {
            a.serialize_element(b)?;
        }
        a.end()
    }
    fn serialize_none(self) -> Result<(), GiveUp> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), GiveUp> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), GiveUp> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), GiveUp> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), GiveUp> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), GiveUp> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), GiveUp> {
        let mut o = Object::new(self.out, false);
        o.member(variant.into(), value)?;
        o.finish().map(|_| ())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Array<'a>, GiveUp> {
        self.out.push('[');
        Ok(Array {
            out: self.out,
            first: true,
            wrapped: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, GiveUp> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Array<'a>, GiveUp> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Array<'a>, GiveUp> {
        // `{"Variant":[...]}`: one member, so no sorting is needed.
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push_str(":[");
        Ok(Array {
            out: self.out,
            first: true,
            wrapped: true,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapWriter<'a>, GiveUp> {
        Ok(MapWriter {
            object: Object::new(self.out, false),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>, GiveUp> {
        Ok(Object::new(self.out, self.top))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantObject<'a>, GiveUp> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        Ok(VariantObject(Object::new(self.out, false)))
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        self.element(value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.finish()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        self.element(value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        self.element(value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Array<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        self.element(value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), GiveUp> {
        if self.top && key == "hash" {
            return Ok(());
        }
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.finish().map(|_| ())
    }
}

/// A struct variant's object, closed with the `{"Variant":` wrapper.
struct VariantObject<'a>(Object<'a>);

impl ser::SerializeStructVariant for VariantObject<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), GiveUp> {
        self.0.member(key.into(), value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.0.finish()?.push('}');
        Ok(())
    }
}

/// A map: keys become text as `serde_json::to_value` makes them (text,
/// integers); anything else gives up.
struct MapWriter<'a> {
    object: Object<'a>,
    key: Option<String>,
}

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), GiveUp> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), GiveUp> {
        let key = self.key.take().ok_or(GiveUp)?;
        self.object.member(key.into(), value)
    }
    fn end(self) -> Result<(), GiveUp> {
        self.object.finish().map(|_| ())
    }
}

/// A map key as text.
struct KeyText;

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = GiveUp;
    type SerializeSeq = ser::Impossible<String, GiveUp>;
    type SerializeTuple = ser::Impossible<String, GiveUp>;
    type SerializeTupleStruct = ser::Impossible<String, GiveUp>;
    type SerializeTupleVariant = ser::Impossible<String, GiveUp>;
    type SerializeMap = ser::Impossible<String, GiveUp>;
    type SerializeStruct = ser::Impossible<String, GiveUp>;
    type SerializeStructVariant = ser::Impossible<String, GiveUp>;

    fn serialize_str(self, v: &str) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, GiveUp> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, GiveUp> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, GiveUp> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_i128(self, _: i128) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_u128(self, _: u128) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_f32(self, _: f32) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_f64(self, _: f64) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_none(self) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_unit(self) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, GiveUp> {
        Err(GiveUp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::to_canonical;
    use crate::event::{EventDraft, GENESIS_HASH};
    use serde_json::json;

    fn draft(payload: Payload, reason: Option<&str>) -> EventDraft {
        EventDraft {
            software: Some("rct 0.1.0 (git 0123456789ab)".into()),
            trial: "T".into(),
            at: "2026-11-23T09:00:00.123456Z".parse().unwrap(),
            actor: "nina".into(),
            role: Role::ResearchNurse,
            site: None,
            reason: reason.map(str::to_string),
            payload,
        }
    }

    fn value(v: serde_json::Value) -> Payload {
        Payload::ValueEntered {
            participant: "P1".into(),
            visit: "week0".into(),
            form: "vitals".into(),
            field: "hr".into(),
            value: v,
        }
    }

    /// The reference is the general path: `to_canonical` of the public
    /// body as a `Value`, and `from_stored` through a `Value`. Values with
    /// every kind of number (integers beyond 2^53, negative, whole and
    /// tiny doubles), text needing escapes, keys in non-ASCII order
    /// (UTF-16 sorting), nested arrays and objects, and a payload with
    /// optional members and a map.
    #[test]
    fn the_shortcut_writes_and_reads_what_the_general_path_does() {
        let values = [
            json!(1),
            json!(-17),
            json!(9_007_199_254_740_993u64),
            json!(-9_007_199_254_740_993i64),
            json!(8.0),
            json!(1e21),
            json!(1e-7),
            json!(0.1 + 0.2),
            json!(-0.0),
            json!("a \"quoted\"\n\u{1}text \\ é 😀"),
            json!({"b": 1, "a": [1, 2.5, null, true, {"é": 1, "z": 2, "\u{10000}": 3, "\u{ffff}": 4}]}),
            json!([]),
            json!({}),
        ];
        let mut drafts: Vec<EventDraft> = values
            .iter()
            .map(|v| draft(value(v.clone()), Some("line\nbreak")))
            .collect();
        drafts.push(draft(
            Payload::Consented {
                participant: "P1".into(),
                version: Some("2.1".into()),
                given_at: Some("2026-11-20T10:00:00Z".parse().unwrap()),
                obtained_by: None,
            },
            None,
        ));
        drafts.push(draft(
            Payload::Screened {
                participant: "S1".into(),
                verdict: crate::event::Verdict::Eligible,
                criteria: Vec::new(),
                facts: [("age".to_string(), json!(44)), ("sex".into(), json!("f"))].into(),
                date: Some("2026-11-20".parse().unwrap()),
            },
            None,
        ));
        drafts.push(draft(Payload::DatabaseLocked, None));
        for (k, d) in drafts.into_iter().enumerate() {
            let e = d.seal(k as u64 + 1, GENESIS_HASH);
            let fast = canonical_public_body(&e).expect("an event without openings");
            assert_eq!(fast, to_canonical(&e.public_body()));
            let read = decode_public_body(&fast, &e.hash).expect("a body without openings");
            // (An integer beyond 2^53 reads back as the double it was
            // written as, on both paths.)
            assert_eq!(
                Event::from_stored_value_for_tests(&fast, &e.hash).unwrap(),
                read
            );
            assert_eq!(read.canonical_body(), fast);
        }
    }

    /// Bodies the shortcut does not read (the general path then names
    /// what is wrong, or reads them): a sealed payload, another chain
    /// format, a repeated member.
    #[test]
    fn the_shortcut_gives_up_where_it_must() {
        let e = draft(value(json!(1)), None).seal(1, GENESIS_HASH);
        let body = e.canonical_body();
        assert!(decode_public_body(&body.replace("\"v\":2", "\"v\":1"), &e.hash).is_none());
        assert!(decode_public_body(&body.replace("\"v\":2", "\"v\":2.0"), &e.hash).is_none());
        let twice = body.replace("\"actor\":\"nina\"", "\"actor\":\"nina\",\"actor\":\"x\"");
        assert!(decode_public_body(&twice, &e.hash).is_none());
        let sealed = body.replace("\"value\":1", "\"sealed\":{\"value\":\"00\"}");
        assert!(decode_public_body(&sealed, &e.hash).is_none());
        assert!(Event::from_stored(&sealed, &e.hash, None).is_err());
    }
}
