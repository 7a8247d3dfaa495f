//! A small strict reader of the Prometheus text exposition format (0.0.4), for the
//! `/metrics` pages that `rotation status --scrape` fetches.
//!
//! It reads what `caio-verify serve` writes to a client asking for `text/plain`, and
//! the OpenMetrics text it writes otherwise, as far as samples go: comment lines
//! (`# HELP`, `# TYPE`, `# EOF`) are skipped, every other line must be one sample,
//! `name{label="value",...} value [timestamp]`, or the page is refused with the line
//! number. Nothing is guessed: an unknown escape, a duplicate label, a repeated
//! series, text after `# EOF` or a value that is not a number is an error, never a
//! skipped line. Exemplars, histograms' semantics and metadata are not read (the
//! decision needs none of them). No maintained crate reads this format strictly under
//! a licence the workspace takes, hence this module; the HTTP side is `fetch.rs`.

use std::collections::{BTreeMap, BTreeSet};

/// The most samples one page may hold: `caio-verify serve` writes at most about 700.
pub const MAX_SAMPLES: usize = 20_000;

/// One sample: a metric name, its labels, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (for a counter, with its `_total`).
    pub name: String,
    /// The labels, by name.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// Why a page is not the text format; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    /// The line of the page.
    pub line: usize,
    /// What is wrong there.
    pub what: String,
}

/// Reads every sample of `text`, refusing anything that is not the format.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ended = false;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let fail = |what: String| ParseError { line, what };
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        if content.is_empty() {
            continue;
        }
        if ended {
            return Err(fail("text after `# EOF`".to_owned()));
        }
        if let Some(comment) = content.strip_prefix('#') {
            ended = comment == " EOF";
            continue;
        }
        let sample = parse_sample(content).map_err(fail)?;
        let key = (sample.name.clone(), sample.labels.clone());
        if !seen.insert(key) {
            return Err(fail(format!("series {} given twice", sample.name)));
        }
        if samples.len() == MAX_SAMPLES {
            return Err(fail(format!("more than {MAX_SAMPLES} samples")));
        }
        samples.push(sample);
    }
    Ok(samples)
}

/// One sample line: `name{labels} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or("a sample needs a value after its name")?;
    let (name, mut rest) = line.split_at(name_end);
    if !is_metric_name(name) {
        return Err(format!("{name:?} is not a metric name"));
    }
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or("a single space must separate the series from its value")?;
    let mut fields = rest.split(' ');
    let value = fields
        .next()
        .filter(|v| !v.is_empty())
        .ok_or("a sample needs a value")?;
    let value = parse_value(value)?;
    if let Some(timestamp) = fields.next()
        && timestamp.parse::<f64>().map_or(true, |t| !t.is_finite())
    {
        return Err(format!("{timestamp:?} is not a timestamp"));
    }
    if fields.next().is_some() {
        return Err("text after the timestamp (exemplars are not read)".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The labels after `{`, up to and including `}`; returns what follows.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let eq = rest.find('=').ok_or("a label needs `=`")?;
        let (label, after) = rest.split_at(eq);
        if !is_label_name(label) {
            return Err(format!("{label:?} is not a label name"));
        }
        let after = after
            .strip_prefix("=\"")
            .ok_or_else(|| format!("label {label}: the value must be quoted"))?;
        let (value, after) = unescape(after).map_err(|e| format!("label {label}: {e}"))?;
        if labels.insert(label.to_owned(), value).is_some() {
            return Err(format!("label {label} given twice"));
        }
        rest = match after.strip_prefix(',') {
            Some(next) => next,
            None if after.starts_with('}') => after,
            None => return Err(format!("label {label}: expected `,` or `}}`")),
        };
    }
}

/// A quoted label value up to its closing quote: (the value, what follows the quote).
fn unescape(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, text.get(at + 1..).unwrap_or_default())),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => return Err(format!("unknown escape \\{other}")),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("the value has no closing quote".to_owned())
}

/// A sample value: a decimal or exponent number, `+Inf`, `-Inf` or `NaN`.
fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        // Rust also reads `inf` and `infinity`; the format spells them only as above.
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) =>
        {
            Err(format!("{text:?} is not a number"))
        }
        _ => text
            .parse()
            .map_err(|_| format!("{text:?} is not a number")),
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok`: each sample as `name{a=b,c=d} value`, labels sorted; `Err`: the message.
    fn check(text: &str, expected: Result<&[&str], &str>) {
        let got = parse(text).map(|samples| {
            samples
                .iter()
                .map(|s| {
                    let labels: Vec<String> =
                        s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{}{{{}}} {}", s.name, labels.join(","), s.value)
                })
                .collect::<Vec<_>>()
        });
        match expected {
            Ok(samples) => assert_eq!(
                got.map_err(|e| e.to_string()),
                Ok(samples.iter().map(ToString::to_string).collect())
            ),
            Err(message) => assert_eq!(got.map_err(|e| e.to_string()), Err(message.to_owned())),
        }
    }

    #[test]
    fn reads_what_caio_verify_serve_writes() {
        check(
            "# HELP caio_key_info A trusted key.\n# TYPE caio_key_info gauge\n\
             caio_key_info{key=\"k1\",fingerprint=\"sha256:ab\",source=\"embedded\"} 1\n\
             caio_license_verifications_total{result=\"ok\",key=\"k1\"} 3\n\
             up 1 1700000000000\n# EOF\n",
            Ok(&[
                "caio_key_info{fingerprint=sha256:ab,key=k1,source=embedded} 1",
                "caio_license_verifications_total{key=k1,result=ok} 3",
                "up{} 1",
            ]),
        );
        check("", Ok(&[]));
        check(
            "a{} 1\r\nb{x=\"1\",} 2.5e3\n",
            Ok(&["a{} 1", "b{x=1} 2500"]),
        );
        check("a{x=\"q\\\"\\\\\\n\"} +Inf", Ok(&["a{x=q\"\\\n} inf"]));
    }

    #[test]
    fn refuses_what_is_not_the_format() {
        // The text, and the message of its error.
        for (text, message) in [
            ("a", "line 1: a sample needs a value after its name"),
            ("a  1", "line 1: a sample needs a value"),
            ("1a 1", "line 1: \"1a\" is not a metric name"),
            ("a{1x=\"v\"} 1", "line 1: \"1x\" is not a label name"),
            ("a{x=v} 1", "line 1: label x: the value must be quoted"),
            ("a{x=\"v\\t\"} 1", "line 1: label x: unknown escape \\t"),
            (
                "a{x=\"v} 1",
                "line 1: label x: the value has no closing quote",
            ),
            (
                "a{x=\"v\" y=\"w\"} 1",
                "line 1: label x: expected `,` or `}`",
            ),
            ("a{x=\"1\",x=\"2\"} 1", "line 1: label x given twice"),
            ("a 1\na 2", "line 2: series a given twice"),
            ("a one", "line 1: \"one\" is not a number"),
            ("a inf", "line 1: \"inf\" is not a number"),
            ("a 1 soon", "line 1: \"soon\" is not a timestamp"),
            (
                "a 1 2 # {} 1",
                "line 1: text after the timestamp (exemplars are not read)",
            ),
            ("# EOF\na 1", "line 2: text after `# EOF`"),
        ] {
            check(text, Err(message));
        }
    }

    #[test]
    fn bounds_the_samples() {
        let page: String = (0..=MAX_SAMPLES).map(|i| format!("m{i} 1\n")).collect();
        let error = parse(&page).expect_err("too many samples");
        assert_eq!(error.line, MAX_SAMPLES + 1);
    }
}
