//! A small reader of EDN (extensible data notation, <https://github.com/edn-format/edn>), the
//! text Jepsen writes its histories in: enough of it for `history.edn` files. It reads nil,
//! booleans, integers (with an `N` suffix), floats (with an `M` suffix), strings, characters,
//! keywords, symbols, lists, vectors, maps, sets, tagged elements (`#inst "…"`,
//! `#jepsen.history.Op{…}`), comments and `#_` discards. Errors name the line.

use std::fmt;

/// One EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Char(char),
    /// Without its colon: `:type` is `Keyword("type")`.
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    /// Pairs in the order written.
    Map(Vec<(Edn, Edn)>),
    Set(Vec<Edn>),
    Tagged(String, Box<Edn>),
}

impl Edn {
    /// The entry of a map under keyword `key`.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(name) if name == key))
                .map(|(_, value)| value),
            Edn::Tagged(_, inner) => inner.get(key),
            _ => None,
        }
    }

    /// The elements of a vector or a list.
    pub fn as_seq(&self) -> Option<&[Edn]> {
        match self {
            Edn::Vector(items) | Edn::List(items) => Some(items),
            _ => None,
        }
    }
}

impl fmt::Display for Edn {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = |formatter: &mut fmt::Formatter<'_>, open, items: &[Edn], close| {
            formatter.write_str(open)?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    formatter.write_str(" ")?;
                }
                write!(formatter, "{item}")?;
            }
            formatter.write_str(close)
        };
        match self {
            Edn::Nil => formatter.write_str("nil"),
            Edn::Bool(value) => write!(formatter, "{value}"),
            Edn::Int(value) => write!(formatter, "{value}"),
            Edn::Float(value) => write!(formatter, "{value}"),
            Edn::Str(text) => write!(formatter, "{text:?}"),
            // EDN's names for the whitespace characters, and an escape for any other control
            // character, so a value quoted in an error message stays on its line.
            Edn::Char('\n') => formatter.write_str("\\newline"),
            Edn::Char(' ') => formatter.write_str("\\space"),
            Edn::Char('\t') => formatter.write_str("\\tab"),
            Edn::Char('\r') => formatter.write_str("\\return"),
            Edn::Char(c) if c.is_control() => write!(formatter, "\\u{:04x}", u32::from(*c)),
            Edn::Char(c) => write!(formatter, "\\{c}"),
            Edn::Keyword(name) => write!(formatter, ":{name}"),
            Edn::Symbol(name) => formatter.write_str(name),
            Edn::List(items) => seq(formatter, "(", items, ")"),
            Edn::Vector(items) => seq(formatter, "[", items, "]"),
            Edn::Set(items) => seq(formatter, "#{", items, "}"),
            Edn::Map(pairs) => {
                formatter.write_str("{")?;
                for (index, (key, value)) in pairs.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(", ")?;
                    }
                    write!(formatter, "{key} {value}")?;
                }
                formatter.write_str("}")
            }
            Edn::Tagged(tag, inner) => write!(formatter, "#{tag} {inner}"),
        }
    }
}

/// Reads every top-level value of `text`, each with the line (from 1) it starts on.
pub fn read_all(text: &str) -> Result<Vec<(usize, Edn)>, String> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        position: 0,
        line: 1,
    };
    let mut values = Vec::new();
    loop {
        reader.skip_blank()?;
        if reader.peek().is_none() {
            return Ok(values);
        }
        let line = reader.line;
        if let Some(value) = reader.value()? {
            values.push((line, value));
        }
    }
}

struct Reader {
    chars: Vec<char>,
    position: usize,
    line: usize,
}

/// Characters that end a token.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || c == ',' || "()[]{}\";".contains(c)
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.position += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error(&self, message: &str) -> String {
        format!("line {}: {message}", self.line)
    }

    /// Skips whitespace, commas, comments and `#_` discards.
    fn skip_blank(&mut self) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ',' => {
                    self.next();
                }
                Some(';') => {
                    while let Some(c) = self.next() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('#') if self.chars.get(self.position + 1) == Some(&'_') => {
                    self.position += 2;
                    self.skip_blank()?;
                    self.value()?;
                }
                _ => return Ok(()),
            }
        }
    }

    /// One value; `None` only for a discard with nothing after it.
    fn value(&mut self) -> Result<Option<Edn>, String> {
        self.skip_blank()?;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let value = match c {
            '(' => {
                self.next();
                Edn::List(self.items(')')?)
            }
            '[' => {
                self.next();
                Edn::Vector(self.items(']')?)
            }
            '{' => {
                self.next();
                self.map()?
            }
            ')' | ']' | '}' => return Err(self.error(&format!("unexpected `{c}`"))),
            '"' => {
                self.next();
                Edn::Str(self.string()?)
            }
            '\\' => {
                self.next();
                self.character()?
            }
            '#' => {
                self.next();
                match self.peek() {
                    Some('{') => {
                        self.next();
                        Edn::Set(self.items('}')?)
                    }
                    Some(c) if !is_delimiter(c) => {
                        let tag = self.token();
                        let Some(inner) = self.value()? else {
                            return Err(self.error(&format!("tag #{tag} has no value")));
                        };
                        Edn::Tagged(tag, Box::new(inner))
                    }
                    _ => return Err(self.error("`#` must start a set, a tag or a discard")),
                }
            }
            _ => {
                let token = self.token();
                self.atom(&token)?
            }
        };
        Ok(Some(value))
    }

    fn items(&mut self, close: char) -> Result<Vec<Edn>, String> {
        let start = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                None => {
                    return Err(self.error(&format!(
                        "the input ends inside a collection opened on line {start} (missing \
                         `{close}`)"
                    )))
                }
                Some(c) if c == close => {
                    self.next();
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(item) = self.value()? {
                        items.push(item);
                    }
                }
            }
        }
    }

    fn map(&mut self) -> Result<Edn, String> {
        let start = self.line;
        let items = self.items('}')?;
        if items.len() % 2 != 0 {
            return Err(format!(
                "line {start}: a map needs an even number of forms, found {}",
                items.len()
            ));
        }
        let mut pairs = Vec::new();
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            pairs.push((key, value));
        }
        Ok(Edn::Map(pairs))
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.line;
        let mut text = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(format!(
                        "line {start}: the input ends inside a string (missing `\"`)"
                    ))
                }
                Some('"') => return Ok(text),
                Some('\\') => match self.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('r') => text.push('\r'),
                    Some('"') => text.push('"'),
                    Some('\\') => text.push('\\'),
                    Some(other) => text.push(other),
                    None => return Err(self.error("the input ends inside a string")),
                },
                Some(c) => text.push(c),
            }
        }
    }

    fn character(&mut self) -> Result<Edn, String> {
        let first = self
            .next()
            .ok_or_else(|| self.error("the input ends after `\\`"))?;
        let mut name = first.to_string();
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            name.push(c);
            self.next();
        }
        let c = match name.as_str() {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            _ if name.chars().count() == 1 => first,
            _ => return Err(self.error(&format!("unknown character `\\{name}`"))),
        };
        Ok(Edn::Char(c))
    }

    fn token(&mut self) -> String {
        let mut token = String::new();
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            token.push(c);
            self.next();
        }
        token
    }

    fn atom(&self, token: &str) -> Result<Edn, String> {
        match token {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        if let Some(name) = token.strip_prefix(':') {
            if name.is_empty() {
                return Err(self.error("a keyword needs a name after `:`"));
            }
            return Ok(Edn::Keyword(name.to_string()));
        }
        let numeric = token
            .strip_prefix(['-', '+'])
            .unwrap_or(token)
            .starts_with(|c: char| c.is_ascii_digit());
        if numeric {
            let digits = token.strip_suffix('N').unwrap_or(token);
            if let Ok(value) = digits.parse::<i128>() {
                return Ok(Edn::Int(value));
            }
            let float = token.strip_suffix('M').unwrap_or(token);
            if let Ok(value) = float.parse::<f64>() {
                return Ok(Edn::Float(value));
            }
            return Err(self.error(&format!("`{token}` is not a number")));
        }
        if token.is_empty() || token.chars().any(char::is_control) {
            return Err(self.error(&format!("unexpected character in `{token}`")));
        }
        Ok(Edn::Symbol(token.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jepsen_operations() {
        let text = "{:type :ok, :f :poll, :value [[:poll {3 [[15 7] [16 8]]}]], :process 2,\n \
                    :time 12000000, :index 4}\n; a comment\n#_ {:skipped 1} [nil true -3 1.5 \
                    \"a\\\"b\" #{:x} #inst \"2024\"]";
        let values = read_all(text).unwrap();
        assert_eq!(values.len(), 2);
        assert_eq!(values[0].0, 1);
        assert_eq!(values[1].0, 4);
        let op = &values[0].1;
        assert_eq!(op.get("type"), Some(&Edn::Keyword("ok".to_string())));
        assert_eq!(op.get("process"), Some(&Edn::Int(2)));
        assert_eq!(
            values[1].1.to_string(),
            "[nil true -3 1.5 \"a\\\"b\" #{:x} #inst \"2024\"]"
        );
    }

    #[test]
    fn malformed_input_names_its_line() {
        assert_eq!(
            read_all("{:a 1}\n{:b [1 2}").unwrap_err(),
            "line 2: unexpected `}`"
        );
        assert!(read_all("{:a 1}\n{:b [1 2]")
            .unwrap_err()
            .starts_with("line 2: the input ends inside a collection opened on line 2"));
        assert!(read_all("{:a}").unwrap_err().contains("even number"));
        assert!(read_all("\"abc").unwrap_err().contains("inside a string"));
    }

    /// Found by `tests/fuzz_inputs.rs`: a backslash before a line break read as a newline
    /// character, then printed raw inside a refusal, which then spanned two lines.
    #[test]
    fn characters_print_on_one_line() {
        let values = read_all("[\\\n \\space \\a]").unwrap();
        assert_eq!(values[0].1.to_string(), "[\\newline \\space \\a]");
        assert_eq!(Edn::Char('\u{7}').to_string(), "\\u0007");
        assert_eq!(Edn::Char('\t').to_string(), "\\tab");
    }
}
