//! A value as a user wrote it in a scenario file, before it is read as a particular type.
//! Leaf types with several accepted forms (`acks = 1` or `"all"`, a fault target
//! `{ broker = 2 }` or `"controller"`) read a [`Written`] first and turn it into their own
//! type with a sentence listing the accepted forms when it fits none, instead of serde's
//! wording ("invalid type: ...", "data did not match any variant of untagged enum").
//!
//! Reading goes through `deserialize_any`, so these types load from self-describing formats
//! (TOML, JSON) only; traces encode them with postcard but never decode them.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// One written value.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    Boolean(bool),
    Integer(i128),
    Float(f64),
    Text(String),
    List(Vec<Written>),
    /// Keys in the order written.
    Table(Vec<(String, Written)>),
}

impl Written {
    /// How the value reads in an error: `"all"`, `3`, `a table`.
    pub fn describe(&self) -> String {
        match self {
            Written::Boolean(value) => value.to_string(),
            Written::Integer(value) => value.to_string(),
            Written::Float(value) => value.to_string(),
            Written::Text(text) => format!("\"{text}\""),
            Written::List(_) => "a list".to_string(),
            Written::Table(entries) => match entries.first() {
                Some((key, _)) if entries.len() == 1 => format!("a table with `{key}`"),
                _ => "a table".to_string(),
            },
        }
    }

    /// The value as a whole number within `0..=u32::MAX`.
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Written::Integer(value) => u32::try_from(*value).ok(),
            _ => None,
        }
    }

    /// The single `key = value` of a one-entry table.
    pub fn single_entry(&self) -> Option<(&str, &Written)> {
        match self {
            Written::Table(entries) if entries.len() == 1 => {
                Some((entries[0].0.as_str(), &entries[0].1))
            }
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        deserializer.deserialize_any(WrittenVisitor)
    }
}

struct WrittenVisitor;

impl<'de> Visitor<'de> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Written, E> {
        Ok(Written::Boolean(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Written, E> {
        Ok(Written::Integer(i128::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Written, E> {
        Ok(Written::Integer(i128::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Written, E> {
        Ok(Written::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Written, E> {
        Ok(Written::Text(value.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Written, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element()? {
            list.push(item);
        }
        Ok(Written::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Written, A::Error> {
        let mut table = Vec::new();
        while let Some((key, value)) = entries.next_entry::<String, Written>()? {
            table.push((key, value));
        }
        Ok(Written::Table(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_value_keeps_its_shape_and_describes_itself() {
        let table: Written = serde_json::from_str(r#"{"broker": 2}"#).unwrap();
        assert_eq!(table.single_entry(), Some(("broker", &Written::Integer(2))));
        assert_eq!(table.describe(), "a table with `broker`");
        let negative: Written = serde_json::from_str("-1").unwrap();
        assert_eq!(negative.as_u32(), None);
        assert_eq!(Written::Text("all".into()).describe(), "\"all\"");
    }
}
