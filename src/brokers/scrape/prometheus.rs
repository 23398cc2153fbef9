//! The Prometheus text exposition format (version 0.0.4), parsed with limits: a line, a label set
//! and the number of samples are bounded, and every error names its line.

/// One sample: `name{label="value",…} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_samples: usize,
    pub max_line: usize,
    pub max_labels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_samples: 200_000, max_line: 64 * 1024, max_labels: 32 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    #[error("line {line}: {what}")]
    Malformed { line: usize, what: String },
    #[error("more than {0} samples")]
    TooManySamples(usize),
}

/// Every sample of `text`; comments (`# HELP`, `# TYPE`) and blank lines are skipped.
pub fn parse(text: &str, limits: Limits) -> Result<Vec<Sample>, ExpositionError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let malformed =
            |what: &str| ExpositionError::Malformed { line: line_no, what: what.to_owned() };
        if line.len() > limits.max_line {
            return Err(malformed(&format!("longer than {} bytes", limits.max_line)));
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if samples.len() >= limits.max_samples {
            return Err(ExpositionError::TooManySamples(limits.max_samples));
        }
        samples.push(sample(line, limits).map_err(|what| malformed(&what))?);
    }
    Ok(samples)
}

fn sample(line: &str, limits: Limits) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("no metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remaining) = label_set(after, limits.max_labels)?;
        labels = parsed;
        rest = remaining;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = parse_value(value).ok_or_else(|| format!("{value:?} is not a number"))?;
    if let Some(timestamp) = fields.next()
        && timestamp.parse::<i64>().is_err()
    {
        return Err(format!("{timestamp:?} is not a timestamp"));
    }
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    Ok(Sample { name: name.to_owned(), labels, value })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// `a="x",b="y"}` → labels and what follows the closing brace.
type Labels = Vec<(String, String)>;

fn label_set(mut text: &str, max_labels: usize) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix('}') {
            return Ok((labels, rest));
        }
        if labels.len() >= max_labels {
            return Err(format!("more than {max_labels} labels"));
        }
        let eq = text.find('=').ok_or("label without =")?;
        let name = text[..eq].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad label name {name:?}"));
        }
        let after = text[eq + 1..].trim_start();
        let mut chars = after.char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    _ => return Err("bad escape in a label value".into()),
                },
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated label value")?;
        labels.push((name.to_owned(), value));
        text = after[end..].trim_start();
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_with_labels_escapes_and_special_values() {
        let text = "# HELP x a counter\n# TYPE x counter\n\
            kafka_server_brokertopicmetrics_bytesin_total{topic=\"orders\",} 1.5e3\n\
            up 1 1700000000000\n\
            weird{path=\"a\\\"b\\\\c\\nd\"} +Inf\n\
            nan_metric NaN\n";
        let samples = parse(text, Limits::default()).unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].label("topic"), Some("orders"));
        assert_eq!(samples[0].value, 1500.0);
        assert_eq!(samples[1].labels, []);
        assert_eq!(samples[2].label("path"), Some("a\"b\\c\nd"));
        assert!(samples[2].value.is_infinite() && samples[3].value.is_nan());
    }

    #[test]
    fn malformed_lines_name_their_line() {
        for (text, line) in [
            ("ok 1\nbad{a=\"x\" 1\n", 2),
            ("x{a=x} 1", 1),
            ("x notanumber", 1),
            ("x 1 2 3", 1),
            ("\n\n{a=\"b\"} 1", 3),
        ] {
            match parse(text, Limits::default()) {
                Err(ExpositionError::Malformed { line: at, .. }) => {
                    assert_eq!(at, line, "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn limits_bound_samples_lines_and_labels() {
        let limits = Limits { max_samples: 10, max_line: 100, max_labels: 2 };
        let many = "x 1\n".repeat(11);
        assert_eq!(parse(&many, limits), Err(ExpositionError::TooManySamples(10)));
        let long = format!("x{{a=\"{}\"}} 1", "y".repeat(200));
        assert!(matches!(parse(&long, limits), Err(ExpositionError::Malformed { .. })));
        assert!(parse("x{a=\"1\",b=\"2\",c=\"3\"} 1", limits).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let seed = "kafka_x_total{topic=\"o\",quantile=\"0.99\"} 12 1700\n# c\ny 2\n";
        crate::testing::mutations(seed.as_bytes(), 20_000, 3, |bytes| {
            let _ = parse(&String::from_utf8_lossy(bytes), Limits::default());
        });
    }
}
