//! A lenient JSON reader for RocketMQ bodies: servers encode some maps fastjson-style, with keys
//! that are objects or bare numbers (`{{"topic":"t","queueId":0}:{…}}`, `{0:"host:port"}`), which
//! no JSON parser accepts. Such keys become their canonical JSON text; everything else is JSON.

use serde_json::{Map, Number, Value};

/// Deepest nesting accepted; hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed body at byte {at}: {what}")]
pub struct LenientError {
    pub at: usize,
    pub what: &'static str,
}

/// Parses one JSON-like value filling the whole input (whitespace aside).
pub fn parse(input: &[u8]) -> Result<Value, LenientError> {
    let mut reader = Reader { input, at: 0 };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at != input.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

/// The text an object-valued or numeric key stands for; string keys are kept as they are.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &'static str) -> LenientError {
        LenientError { at: self.at, what }
    }

    fn skip_whitespace(&mut self) {
        while self.input.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.input.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), LenientError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, LenientError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            None => Err(self.error("unexpected end")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    fn word(&mut self, word: &'static str, value: Value) -> Result<Value, LenientError> {
        if self.input[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn number(&mut self) -> Result<Value, LenientError> {
        let start = self.at;
        while self
            .input
            .get(self.at)
            .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.input[start..self.at])
            .map_err(|_| self.error("bad number"))?;
        if let Ok(integer) = text.parse::<i64>() {
            return Ok(Value::Number(integer.into()));
        }
        if let Ok(integer) = text.parse::<u64>() {
            return Ok(Value::Number(integer.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or(LenientError { at: start, what: "bad number" })
    }

    fn string(&mut self) -> Result<String, LenientError> {
        self.expect(b'"', "expected a string")?;
        let mut bytes = Vec::new();
        loop {
            let Some(&byte) = self.input.get(self.at) else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(&escaped) = self.input.get(self.at) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.at += 1;
                    match escaped {
                        b'"' | b'\\' | b'/' => bytes.push(escaped),
                        b'b' => bytes.push(0x08),
                        b'f' => bytes.push(0x0c),
                        b'n' => bytes.push(b'\n'),
                        b'r' => bytes.push(b'\r'),
                        b't' => bytes.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return Err(self.error("bad escape")),
                    }
                }
                _ => bytes.push(byte),
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, LenientError> {
        let digits =
            self.input.get(self.at..self.at + 4).ok_or_else(|| self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.at += 4;
        Ok(code)
    }

    fn unicode_escape(&mut self) -> Result<char, LenientError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first)
            && self.input.get(self.at..self.at + 2) == Some(b"\\u")
        {
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("bad surrogate pair"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn array(&mut self, depth: usize) -> Result<Value, LenientError> {
        self.expect(b'[', "expected an array")?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected , or ]")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, LenientError> {
        self.expect(b'{', "expected an object")?;
        let mut map = Map::new();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            // fastjson writes keys that are objects or numbers as they are.
            let key = match self.peek() {
                Some(b'"') => self.string()?,
                _ => key_text(&self.value(depth + 1)?),
            };
            self.expect(b':', "expected :")?;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.error("expected , or }")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json_reads_as_serde_json_does() {
        let text = br#"{"a":[1,-2,3.5,"x\"y\u00e9\ud83d\ude00"],"b":{"c":null,"d":true,"e":false},"big":18446744073709551615}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_slice::<Value>(text).unwrap());
    }

    #[test]
    fn object_and_number_keys_become_their_json_text() {
        let text = br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"brokerOffset":10},{"brokerName":"b","queueId":1,"topic":"t"}:{"brokerOffset":4}},"addrs":{0:"127.0.0.1:10911"}}"#;
        let value = parse(text).unwrap();
        let table = value["offsetTable"].as_object().unwrap();
        let keys: Vec<Value> = table.keys().map(|k| serde_json::from_str(k).unwrap()).collect();
        assert_eq!(keys[0], json!({"brokerName":"b","queueId":0,"topic":"t"}));
        assert_eq!(table.values().next().unwrap()["brokerOffset"], 10);
        assert_eq!(value["addrs"]["0"], "127.0.0.1:10911");
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error_not_a_panic() {
        let text = br#"{"offsetTable":{{"brokerName":"b","queueId":0}:{"brokerOffset":10}}}"#;
        for end in 0..text.len() {
            assert!(parse(&text[..end]).is_err(), "prefix of {end} bytes");
        }
        assert!(parse(&[b'['; 100_000]).unwrap_err().what.contains("deeply"));
        assert!(parse(&[b'{'; 100_000]).is_err());
        assert!(parse(b"\"\\ud800\"").is_ok(), "a lone surrogate is replaced");
        assert!(parse(b"\"\xff\"").is_err());
        assert!(parse(b"1 2").is_err());
        assert!(parse(b"-").is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small deterministic fuzz: mutate a valid body byte by byte.
        let seed = br#"{"a":{{"k":1}:[1,2,{"x":"y"}]},"n":-1.5e3,"t":true}"#;
        crate::testing::mutations(seed, 20_000, 3, |bytes| {
            let _ = parse(bytes);
        });
    }
}
