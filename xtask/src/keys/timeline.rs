//! `keys timeline`: every key's signing and verification windows on one time axis,
//! with now marked, as terminal text or as an SVG picture for a change review.
//!
//! Both renderings share one [`Scale`], so the chart and the picture always agree.
//! The text is meant for eyes, not scripts (`keys list --json` is for scripts); the
//! SVG is plain, self-contained SVG 1.1 with no scripts or external references.
//! Nothing here reads the clock or the file system.

use std::fmt::Write as _;

use caio_keyring::OPEN_END;
use caio_keyring::manifest::{KeyStatus, Manifest, ManifestKey};

use super::policy::{KeyState, horizon};
use crate::time::{DAY, format_date, format_instant};

/// Columns of the terminal chart.
const WIDTH: usize = 64;

/// Maps instants onto the chart: the span shown, with a margin on each side.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    start: i64,
    end: i64,
}

/// The terminal chart of `manifest` at `now`.
pub fn render_text(manifest: &Manifest, now: i64) -> String {
    let scale = Scale::of(manifest, now);
    let keys = manifest.keys();
    let id_width = keys
        .iter()
        .map(|k| k.id.as_str().len())
        .max()
        .unwrap_or(2)
        .max(2);
    let indent = id_width + 2 + 11 + 2;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (serial {}) at {}",
        manifest.path().display(),
        manifest.serial(),
        format_instant(now)
    );

    let mut dates = vec![' '; WIDTH];
    put(&mut dates, 0, &format_date(scale.start));
    let end_label = format_date(scale.end);
    put(&mut dates, WIDTH - end_label.len(), &end_label);
    let mut years = vec![' '; WIDTH];
    for (year, t) in scale.year_starts() {
        let col = scale.column(t, WIDTH);
        if years
            .get(col..col + 5)
            .is_some_and(|s| s.iter().all(|c| *c == ' '))
        {
            put(&mut years, col, &format!("|{year}"));
        }
    }
    let now_col = scale.column(now, WIDTH);
    let mut marker = vec![' '; WIDTH];
    marker[now_col] = '▼';
    for row in [dates, years, marker] {
        let _ = writeln!(
            out,
            "{:indent$}{}",
            "",
            row.iter().collect::<String>().trim_end()
        );
    }

    for key in keys {
        let mut row = vec![' '; WIDTH];
        let v = key.validity;
        let first = scale.column(v.not_before, WIDTH);
        if key.status == KeyStatus::Revoked {
            let last = scale.column(v.not_after, WIDTH);
            fill(&mut row, first, last, '×');
        } else {
            let sign_end = scale.column(v.sign_until, WIDTH);
            fill(&mut row, first, sign_end, '█');
            if v.not_after > v.sign_until {
                let verify_end = scale.column(v.not_after, WIDTH);
                fill(&mut row, sign_end + 1, verify_end, '░');
            }
        }
        if v.not_after == OPEN_END {
            row[WIDTH - 1] = '→';
        }
        if row[now_col] == ' ' {
            row[now_col] = '│';
        }
        let _ = writeln!(
            out,
            "{:id_width$}  {:11}  {}  {}",
            key.id.as_str(),
            KeyState::of(key, now).name(),
            row.iter().collect::<String>(),
            windows(key)
        );
    }
    let h = horizon(manifest, now);
    let _ = writeln!(
        out,
        "{:indent$}█ signing  ░ verify-only  × revoked  → no end  ▼│ now",
        ""
    );
    let _ = write!(
        out,
        "a build made now verifies licenses until {}",
        open(h.verifies_until)
    );
    match h.required {
        Some(required) => {
            let verdict = if h.holds() { "ok" } else { "TOO SHORT" };
            let _ = writeln!(
                out,
                "; the support window needs {}: {verdict}",
                format_instant(required)
            );
        }
        None => out.push('\n'),
    }
    out
}

/// The SVG picture of `manifest` at `now`.
pub fn render_svg(manifest: &Manifest, now: i64) -> String {
    const LABEL: f64 = 190.0;
    const CHART: f64 = 640.0;
    const ROW: f64 = 28.0;
    const TOP: f64 = 48.0;
    let scale = Scale::of(manifest, now);
    let keys = manifest.keys();
    let height = TOP + ROW * keys.len() as f64 + 56.0;
    let width = LABEL + CHART + 20.0;
    let x = |t: i64| LABEL + scale.fraction(t) * CHART;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<title>{} (serial {}) at {}</title>"#,
        escape(&manifest.path().display().to_string()),
        manifest.serial(),
        format_instant(now)
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (year, t) in scale.year_starts() {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#ccc"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#555">{year}</text>"##,
            x(t),
            TOP - 12.0,
            height - 44.0,
            TOP - 18.0
        );
    }
    for (i, key) in keys.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let v = key.validity;
        let state = KeyState::of(key, now);
        let _ = writeln!(
            svg,
            r#"<text x="8" y="{:.1}">{} ({state})</text>"#,
            y + ROW * 0.6,
            escape(key.id.as_str())
        );
        let tip = format!("{}: {} {}", key.id, state, windows(key));
        let bar = |from: i64, to: i64, fill: &str| {
            format!(
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"#,
                x(from),
                y + 5.0,
                (x(to) - x(from)).max(1.0),
                ROW - 10.0,
                escape(&tip)
            )
        };
        if key.status == KeyStatus::Revoked {
            let _ = writeln!(svg, "{}", bar(v.not_before, v.not_after, "#e53e3e"));
        } else {
            let _ = writeln!(svg, "{}", bar(v.not_before, v.sign_until, "#2b6cb0"));
            if v.not_after > v.sign_until {
                let _ = writeln!(svg, "{}", bar(v.sign_until, v.not_after, "#90cdf4"));
            }
        }
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#d00" stroke-width="2"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#d00">now {4}</text>"##,
        x(now),
        TOP - 6.0,
        height - 44.0,
        height - 30.0,
        format_date(now)
    );
    let legend_y = height - 12.0;
    let _ = writeln!(
        svg,
        r##"<rect x="8" y="{0}" width="12" height="10" fill="#2b6cb0"/><text x="24" y="{1}">signing</text><rect x="90" y="{0}" width="12" height="10" fill="#90cdf4"/><text x="106" y="{1}">verify-only</text><rect x="196" y="{0}" width="12" height="10" fill="#e53e3e"/><text x="212" y="{1}">revoked</text><text x="290" y="{1}">{2} to {3}</text>"##,
        legend_y - 9.0,
        legend_y,
        format_date(scale.start),
        format_date(scale.end)
    );
    svg.push_str("</svg>\n");
    svg
}

impl Scale {
    /// The span that shows every finite instant of `manifest`, now, and the support
    /// window's end; open ends reach past the last of them.
    pub fn of(manifest: &Manifest, now: i64) -> Self {
        let mut lo = now;
        let mut hi = now;
        let mut open_end = false;
        for key in manifest.keys() {
            let v = key.validity;
            lo = lo.min(v.not_before);
            hi = hi.max(v.not_before);
            for t in [v.sign_until, v.not_after] {
                if t == OPEN_END {
                    open_end = true;
                } else {
                    hi = hi.max(t);
                }
            }
        }
        if let Some(required) = horizon(manifest, now).required {
            hi = hi.max(required);
        }
        if open_end {
            hi = hi.saturating_add(((hi - lo) / 4).max(90 * DAY));
        }
        let pad = ((hi - lo) / 20).max(DAY);
        Self {
            start: lo.saturating_sub(pad),
            end: hi.saturating_add(pad),
        }
    }

    /// Where `t` falls, from 0.0 (start) to 1.0 (end), clamped.
    pub fn fraction(&self, t: i64) -> f64 {
        let t = t.clamp(self.start, self.end);
        // Display only: the loss of precision in f64 is far below a pixel.
        #[allow(clippy::cast_precision_loss)]
        let f = (t - self.start) as f64 / (self.end - self.start) as f64;
        f
    }

    /// The column of `t` in a chart `width` columns wide.
    pub fn column(&self, t: i64, width: usize) -> usize {
        let t = i128::from(t.clamp(self.start, self.end));
        let span = i128::from(self.end - self.start).max(1);
        let col = (t - i128::from(self.start)) * (width as i128) / span;
        usize::try_from(col).unwrap_or(0).min(width - 1)
    }

    /// The first instant of each year inside the span.
    fn year_starts(&self) -> Vec<(i16, i64)> {
        let year_of = |t: i64| {
            jiff::Timestamp::from_second(t)
                .map(|ts| jiff::tz::Offset::UTC.to_datetime(ts).year())
                .unwrap_or(0)
        };
        let (first, last) = (year_of(self.start), year_of(self.end));
        (first..=last)
            .filter_map(|year| {
                let t = jiff::tz::Offset::UTC
                    .to_timestamp(
                        jiff::civil::date(year, 1, 1).to_datetime(jiff::civil::Time::midnight()),
                    )
                    .ok()?
                    .as_second();
                (self.start..=self.end).contains(&t).then_some((year, t))
            })
            .collect()
    }
}

fn windows(key: &ManifestKey) -> String {
    let v = key.validity;
    format!(
        "{} → {} → {}",
        format_date(v.not_before),
        open(v.sign_until),
        open(v.not_after)
    )
}

fn open(t: i64) -> String {
    if t == OPEN_END {
        "no end".to_owned()
    } else {
        format_date(t)
    }
}

fn fill(row: &mut [char], from: usize, to: usize, c: char) {
    for cell in row.iter_mut().take(to + 1).skip(from) {
        *cell = c;
    }
}

fn put(row: &mut [char], at: usize, text: &str) {
    for (cell, c) in row.iter_mut().skip(at).zip(text.chars()) {
        *cell = c;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
