//! Quick readings of the most common value texts, straight from bytes.
//!
//! Each function accepts a strict subset of what the row parser of
//! `clientela-table` accepts and returns the same value for it; anything
//! else is `None`, and the caller asks the reference parser. So these only
//! ever make reading faster, never different.

use std::cell::Cell;

/// µs in a day.
const DAY: i64 = 86_400_000_000;

/// Whether `b` is white space for `str::trim` (`char::is_whitespace`).
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `text` without the leading and trailing white space `str::trim` removes;
/// `None` when that cannot be told because the edges are not valid UTF-8.
pub(crate) fn trim(text: &[u8]) -> Option<&[u8]> {
    match (text.first(), text.last()) {
        (None, _) | (_, None) => Some(text),
        (Some(&a), Some(&z)) if a < 0x80 && z < 0x80 && !ascii_space(a) && !ascii_space(z) => {
            Some(text)
        }
        _ => std::str::from_utf8(text).ok().map(|s| s.trim().as_bytes()),
    }
}

/// The content of a quoted field with its doubled quotes made single.
pub(crate) fn unescape_into(content: &[u8], out: &mut Vec<u8>) {
    let Some(first) = memchr::memchr(b'"', content) else {
        out.extend_from_slice(content);
        return;
    };
    // Quotes come close together in JSON text: a byte loop beats a search
    // per quote. A regular quoted field only holds doubled quotes: each
    // quote is followed by its twin, which is skipped. Every byte is
    // written and the twins overwritten, so that no step waits for the
    // byte before to be read.
    let start = out.len();
    out.resize(start + content.len(), 0);
    let dst = &mut out[start..];
    dst[..=first].copy_from_slice(&content[..=first]);
    let mut w = first + 1;
    let mut skip = true;
    for &b in &content[first + 1..] {
        if let Some(d) = dst.get_mut(w) {
            *d = b;
        }
        let keep = !skip;
        w += usize::from(keep);
        skip = keep && b == b'"';
    }
    out.truncate(start + w);
}

/// `n` ASCII digits as a number; `None` if any byte is not a digit.
fn digits(t: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &b in t {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as i64;
    }
    Some(v)
}

/// An integer `-?[0-9]{1,18}` (never overflows).
pub(crate) fn int(t: &[u8]) -> Option<i64> {
    let (neg, ds) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    if ds.is_empty() || ds.len() > 18 {
        return None;
    }
    let v = digits(ds)?;
    Some(if neg { -v } else { v })
}

/// A decimal amount `-?[0-9]{1,15}(\.[0-9]{1,exponent})?` in minor units
/// of a currency with `exponent` decimals.
pub(crate) fn minor_units(t: &[u8], exponent: u32) -> Option<i64> {
    let (neg, rest) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    let (whole, frac) = match memchr::memchr(b'.', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let has_point = whole.len() < rest.len();
    if whole.is_empty()
        || whole.len() > 15
        || (has_point && frac.is_empty())
        || frac.len() > exponent as usize
    {
        return None;
    }
    let scale = 10i64.pow(exponent);
    let frac_scale = 10i64.pow(exponent - frac.len() as u32);
    let v = digits(whole)? * scale + digits(frac)? * frac_scale;
    Some(if neg { -v } else { v })
}

/// Days from 1970-01-01 to a proleptic Gregorian date of year 1 or later
/// (H. Hinnant's `days_from_civil`, in unsigned arithmetic so that the
/// divisions by constants become multiplications).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = (if m <= 2 { y - 1 } else { y }) as u64;
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (if m > 2 { m - 3 } else { m + 9 }) as u64;
    let doy = (153 * mp + 2) / 5 + d as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe) as i64 - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Two digits at `at` as a number below `limit`.
fn two(t: &[u8], at: usize, limit: i64) -> Option<i64> {
    let v = digits(t.get(at..at + 2)?)?;
    (v < limit).then_some(v)
}

/// The start of the last date read: times come in runs of the same day.
#[derive(Debug, Default)]
pub(crate) struct Dates {
    last: Cell<([u8; 10], i64)>,
}

impl Dates {
    /// µs since the epoch of midnight UTC of a date `YYYY-MM-DD`.
    fn micros(&self, t: &[u8]) -> Option<i64> {
        let (key, micros) = self.last.get();
        if key == t {
            return Some(micros);
        }
        if t[4] != b'-' || t[7] != b'-' {
            return None;
        }
        let y = digits(&t[..4])?;
        let m = two(t, 5, 13)?;
        let d = two(t, 8, 32)?;
        if y == 0 || m == 0 || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        let micros = days_from_civil(y, m, d) * DAY;
        self.last.set((t.try_into().ok()?, micros));
        Some(micros)
    }
}

/// µs since the epoch of `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`,
/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}]` (these three only when `naive_utc`:
/// times without an offset are read in UTC) and
/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`.
pub(crate) fn iso_micros(t: &[u8], naive_utc: bool, dates: &Dates) -> Option<i64> {
    let date = dates.micros(t.get(..10)?)?;
    if t.len() == 10 {
        return naive_utc.then_some(date);
    }
    let sep = t[10];
    if !(sep == b'T' || sep == b' ') || t.len() < 16 || t[13] != b':' {
        return None;
    }
    let minutes = two(t, 11, 24)? * 60 + two(t, 14, 60)?;
    if t.len() == 16 {
        return (naive_utc && sep == b' ').then_some(date + minutes * 60_000_000);
    }
    if t[16] != b':' {
        return None;
    }
    let mut micros = date + (minutes * 60 + two(t, 17, 60)?) * 1_000_000;
    let mut rest = &t[19..];
    if let Some((b'.', f)) = rest.split_first() {
        let n = f.iter().take(10).take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        // Digits past the sixth (below a µs) are dropped, as chrono does.
        let us = n.min(6);
        micros += digits(&f[..us])? * [100_000, 10_000, 1000, 100, 10, 1][us - 1];
        rest = &f[n..];
    }
    match rest {
        [] => naive_utc.then_some(micros),
        [b'Z'] if sep == b'T' => Some(micros),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if sep == b'T' => {
            let off = [*h1, *h2, b':', *m1, *m2];
            let secs = two(&off, 0, 24)? * 3600 + two(&off, 3, 60)? * 60;
            let secs = if *sign == b'+' { secs } else { -secs };
            Some(micros - secs * 1_000_000)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientela_core::time::{parse_tz, TimeParser};
    use clientela_core::{Currency, Money};

    #[test]
    fn trims_like_str_trim() {
        for s in [
            "a",
            " a",
            "a ",
            "\u{a0}a\u{3000}",
            "\u{b}x",
            "",
            "  ",
            "é",
            "a\u{85}",
        ] {
            assert_eq!(trim(s.as_bytes()), Some(s.trim().as_bytes()), "{s:?}");
        }
        assert_eq!(trim(b"\xff "), None);
    }

    #[test]
    fn unescapes_doubled_quotes() {
        for (raw, want) in [
            (&br#"a""b"""#[..], &br#"a"b""#[..]),
            (b"plain", b"plain"),
            (br#""""#, br#"""#),
            (br#"[{""k"":""v""}]"#, br#"[{"k":"v"}]"#),
            (b"", b""),
        ] {
            let mut out = b"x".to_vec();
            unescape_into(raw, &mut out);
            assert_eq!(&out[1..], want);
        }
    }

    #[test]
    fn integers_match_the_standard_parser() {
        for s in [
            "0",
            "-0",
            "17",
            "-123456789012345678",
            "+1",
            "",
            "-",
            "1.0",
            "1e3",
            "9223372036854775807",
            "12x",
        ] {
            let want = s.parse::<i64>().ok();
            match int(s.as_bytes()) {
                Some(v) => assert_eq!(Some(v), want, "{s}"),
                None => assert!(want.is_none() || s.starts_with('+') || s.len() > 18, "{s}"),
            }
        }
    }

    #[test]
    fn amounts_match_money_parse() {
        let cases = [
            "12.30",
            "-5",
            "0.07",
            "-0.00",
            "1.234",
            "12.345",
            "1200",
            "12.",
            ".5",
            "+1.5",
            "1,5",
            "123456789012345.99",
            "1e3",
            "-",
            "",
            "007.10",
        ];
        for code in ["EUR", "JPY", "KWD"] {
            let c = Currency::parse(code).unwrap();
            for s in cases {
                let want = Money::parse(s, c).ok().map(|m| m.minor);
                if let Some(v) = minor_units(s.as_bytes(), c.exponent()) {
                    assert_eq!(Some(v), want, "{s} {code}");
                }
            }
        }
        assert_eq!(minor_units(b"12.30", 2), Some(1230));
        assert_eq!(minor_units(b"-0.07", 2), Some(-7));
        assert_eq!(minor_units(b"1.234", 3), Some(1234));
    }

    #[test]
    fn times_match_the_time_parser() {
        let utc = TimeParser::default();
        let rome = TimeParser::new(vec![], parse_tz("Europe/Rome").unwrap());
        let mut texts: Vec<String> = [
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-01-01 10:00",
            "2024-01-01T10:00",
            "2024-01-01 10:00:05",
            "2024-01-01T10:00:05",
            "2024-01-01T10:00:05.5",
            "2024-01-01 10:00:05.123456789",
            "2024-01-01T10:00:05.1234567891Z",
            "2024-01-01T10:00:05Z",
            "2024-01-01T23:59:59.999999+01:00",
            "2024-01-01T00:00:00-05:30",
            "2024-01-01 10:00:05Z",
            "2024-01-01t10:00:05z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:60:00Z",
            "2024-01-01T10:00:60Z",
            "1969-12-31T23:59:59.5Z",
            "0001-01-01",
            "9999-12-31T23:59:59Z",
            "2024-1-01",
            "2024-01-01T10:00:05+0100",
            "2024-01-01T10:00:05+24:00",
            "2024-01-01T10:00:05.",
            "1900-02-29",
            "2000-02-29T12:00:00Z",
            "2024-03-31T02:30:00",
        ]
        .map(String::from)
        .to_vec();
        // Every day of some years, at a few times.
        for y in [1970, 1999, 2000, 2023, 2024, 2100] {
            for doy in 0..366 {
                let d = chrono::NaiveDate::from_yo_opt(y, doy + 1);
                if let Some(d) = d {
                    texts.push(format!("{d}"));
                    texts.push(format!("{d}T{:02}:{:02}:07.0{doy}Z", doy % 24, doy % 60));
                    texts.push(format!("{d} {:02}:{:02}", doy % 24, doy % 60));
                }
            }
        }
        let dates = Dates::default();
        for t in &texts {
            for (p, naive_utc) in [(&utc, true), (&rome, false)] {
                let want = p.parse_micros(t).ok();
                if let Some(v) = iso_micros(t.as_bytes(), naive_utc, &dates) {
                    assert_eq!(Some(v), want, "{t}");
                }
            }
        }
        for t in [
            "2024-02-29",
            "2024-01-01T10:00:05.5Z",
            "2024-01-01 10:00",
            "2024-01-01T00:00:00-05:30",
        ] {
            assert!(iso_micros(t.as_bytes(), true, &dates).is_some(), "{t}");
        }
    }
}
