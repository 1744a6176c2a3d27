//! Money as integer minor units of an ISO 4217 currency.
//!
//! Money is never a binary float in clientela (SPEC §1): amounts are parsed
//! from their decimal text straight into an `i64` count of minor units
//! (cents for EUR, yen for JPY, fils for KWD).

use crate::CoreError;
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is not a hundredth (ISO 4217 table A.1).
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    /// Parses a three-letter code, case-insensitively.
    pub fn parse(code: &str) -> Result<Self, CoreError> {
        let code = code.trim();
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CoreError::Currency(code.to_string()));
        }
        let mut up = [0u8; 3];
        for (o, b) in up.iter_mut().zip(bytes) {
            *o = b.to_ascii_uppercase();
        }
        Ok(Currency(up))
    }

    /// The code as text, e.g. `"EUR"`.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// Number of decimals of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        let code = self.code();
        if ZERO_DECIMALS.contains(&code) {
            0
        } else if THREE_DECIMALS.contains(&code) {
            3
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount: integer minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// Amount in minor units (cents); negative for refunds.
    pub minor: i64,
    /// The currency of the amount.
    pub currency: Currency,
}

impl Money {
    /// Parses a decimal text (`"12.30"`, `"-5"`, `"1e2"` is refused) in the
    /// given currency. More decimals than the currency has is an error, not a
    /// silent rounding; a comma as decimal separator is refused too because
    /// `1,234` is ambiguous.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, CoreError> {
        let t = text.trim();
        let err = |reason: String| CoreError::Amount {
            value: text.to_string(),
            reason,
        };
        if t.is_empty() {
            return Err(err("expected a decimal number".into()));
        }
        if t.contains(['e', 'E', ',']) {
            return Err(err(
                "expected a plain decimal number with '.' as decimal separator".into(),
            ));
        }
        let d = Decimal::from_str(t.strip_prefix('+').unwrap_or(t))
            .map_err(|_| err("expected a decimal number such as 12.50".into()))?;
        let exp = currency.exponent();
        let scaled = d
            .checked_mul(Decimal::from(10i64.pow(exp)))
            .ok_or_else(|| err("amount too large".into()))?;
        if scaled.fract() != Decimal::ZERO {
            return Err(err(format!(
                "{} allows at most {exp} decimals",
                currency.code()
            )));
        }
        let minor: i64 = scaled
            .trunc()
            .try_into()
            .map_err(|_| err("amount too large".into()))?;
        Ok(Money { minor, currency })
    }

    /// The amount as a decimal (exact), e.g. `12.30`.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }
}

/// Formats minor units of a currency as a decimal text (`1230` EUR → `"12.30"`).
pub fn format_minor(minor: i64, exponent: u32) -> String {
    Decimal::new(minor, exponent).to_string()
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("eur").unwrap()
    }

    #[test]
    fn parses_exact_minor_units() {
        let cases = [
            ("12.30", 1230),
            ("-5", -500),
            ("0.07", 7),
            ("+1.5", 150),
            (" 3 ", 300),
        ];
        for (text, minor) in cases {
            assert_eq!(Money::parse(text, eur()).unwrap().minor, minor, "{text}");
        }
    }

    #[test]
    fn currency_exponents_follow_iso_4217() {
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse("1200", jpy).unwrap().minor, 1200);
        assert!(Money::parse("12.5", jpy).is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::parse("1.234", kwd).unwrap().minor, 1234);
    }

    #[test]
    fn refuses_ambiguous_or_inexact_text() {
        for bad in ["1,50", "1e3", "abc", "", "12.345"] {
            assert!(Money::parse(bad, eur()).is_err(), "{bad}");
        }
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_minor(1230, 2), "12.30");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(Money::parse("7.5", eur()).unwrap().to_string(), "7.50 EUR");
    }
}
