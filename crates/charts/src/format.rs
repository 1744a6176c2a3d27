//! Numbers as the charts write them, and how wide text will be.

/// The minus sign of labels (U+2212: as wide as the plus, unlike `-`).
const MINUS: char = '−';

/// `v` with `decimals` decimals and thousands grouped: `−1,234.50`.
pub(crate) fn grouped(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    // Negative only when something non-zero is shown (no "−0.00").
    if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push(MINUS);
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A count: `12,345`.
pub(crate) fn count(v: f64) -> String {
    grouped(v, 0)
}

/// An amount in currency units: cents below 10,000, whole units up to a
/// million, then millions (`1.25M`), so labels stay short.
pub(crate) fn amount(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{}M", grouped(v / 1e6, 2)),
        a if a >= 1e4 => grouped(v, 0),
        _ => grouped(v, 2),
    }
}

/// A movement: `+402.84`, `−217.46` (zero unsigned).
pub(crate) fn signed_amount(v: f64) -> String {
    let text = amount(v);
    if v > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

/// A tick value of a numeric axis: as few decimals as it needs (at most
/// two), thousands grouped, millions as `M`.
pub(crate) fn tick(v: f64) -> String {
    if v.abs() >= 1e6 {
        return format!("{}M", tick(v / 1e6));
    }
    let rounded = (v * 100.0).round() / 100.0;
    let decimals = if rounded.fract() == 0.0 {
        0
    } else if (rounded * 10.0).fract().abs() < 1e-9 {
        1
    } else {
        2
    };
    grouped(rounded, decimals)
}

/// A tick value of a percentage axis: `25%`.
pub(crate) fn percent_tick(v: f64) -> String {
    format!("{}%", tick(v))
}

/// Estimated width in pixels of `text` drawn at plotters' font `size`
/// (the SVG font size is `size / 1.24`), from the advance widths of DejaVu
/// Sans, the widest common sans-serif, so that other fonts fit too.
pub(crate) fn text_px(text: &str, size: f64) -> f64 {
    let em: f64 = text.chars().map(advance).sum();
    em * size / 1.24
}

/// Width of a character in em, by class.
fn advance(c: char) -> f64 {
    match c {
        ' ' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'l' | 'j' => 0.30,
        '(' | ')' | '[' | ']' | '-' | 'r' | 't' | 'f' => 0.40,
        '0'..='9' => 0.64,
        'm' | 'w' => 0.93,
        'a'..='z' => 0.60,
        'M' | 'W' | '%' => 0.95,
        'A'..='Z' => 0.72,
        '−' | '+' | '=' | '…' => 0.84,
        _ => 0.64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_grouped() {
        for (v, d, want) in [
            (0.0, 0, "0"),
            (999.0, 0, "999"),
            (1000.0, 0, "1,000"),
            (1234567.891, 2, "1,234,567.89"),
            (-1234.5, 2, "−1,234.50"),
            (-0.001, 2, "0.00"),
            (-12.0, 0, "−12"),
        ] {
            assert_eq!(grouped(v, d), want, "{v} with {d} decimals");
        }
    }

    #[test]
    fn amounts_shorten_as_they_grow() {
        assert_eq!(amount(402.84), "402.84");
        assert_eq!(amount(12345.67), "12,346");
        assert_eq!(amount(-2_500_000.0), "−2.50M");
        assert_eq!(signed_amount(402.84), "+402.84");
        assert_eq!(signed_amount(-217.46), "−217.46");
        assert_eq!(signed_amount(0.0), "0.00");
    }

    #[test]
    fn ticks_show_the_decimals_they_need() {
        assert_eq!(tick(4800.0), "4,800");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(-12.25), "−12.25");
        assert_eq!(tick(1_500_000.0), "1.5M");
        assert_eq!(percent_tick(25.0), "25%");
    }

    #[test]
    fn text_widths_follow_the_characters() {
        // 12.1 px font: four digits are 31 px, four i's under half that.
        let digits = text_px("2025", 15.0);
        assert!((digits - 4.0 * 0.64 * 15.0 / 1.24).abs() < 1e-9);
        assert!(text_px("iiii", 15.0) < digits / 2.0);
        assert!(text_px("MMMM", 15.0) > digits);
    }
}
