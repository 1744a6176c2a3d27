//! Raw text fields to typed values, with the failing field named.

use crate::builder::Value;
use clientela_core::time::TimeParser;
use clientela_core::{Currency, FieldType, Money, RecordKind};
use std::fmt;

/// Why one field of a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The canonical field name.
    pub field: &'static str,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// How texts are read: formats and time zone of timestamps.
#[derive(Debug, Clone, Default)]
pub struct RowContext {
    /// Parser of the `time` fields.
    pub time: TimeParser,
}

/// Parses one row, `raw` aligned with `kind.fields()` (`None` or an empty
/// text for a missing value), into typed values ready for a builder.
///
/// A missing `event_id` stays `Null`: the caller derives one with
/// [`derive_event_id`], since only it knows how often the row occurred.
pub fn parse_row(
    kind: RecordKind,
    raw: &[Option<&str>],
    ctx: &RowContext,
) -> Result<Vec<Value>, FieldError> {
    let fields = kind.fields();
    debug_assert_eq!(raw.len(), fields.len());
    // Money needs the row's currency first.
    let currency = match fields.iter().position(|f| f.ty == FieldType::Currency) {
        Some(i) => match non_empty(raw[i]) {
            Some(t) => Some(Currency::parse(t).map_err(|e| FieldError {
                field: fields[i].name,
                message: e.to_string(),
            })?),
            None if fields[i].required => {
                return Err(FieldError {
                    field: fields[i].name,
                    message: "is required but missing or empty".into(),
                })
            }
            None => None,
        },
        None => None,
    };
    let mut out = Vec::with_capacity(fields.len());
    for (spec, text) in fields.iter().zip(raw) {
        let err = |message: String| FieldError {
            field: spec.name,
            message,
        };
        let text = match non_empty(*text).or(spec.default) {
            Some(t) => t,
            None if spec.required => return Err(err("is required but missing or empty".into())),
            None => {
                out.push(Value::Null);
                continue;
            }
        };
        let v = match spec.ty {
            FieldType::Id | FieldType::Text => Value::Text(text.trim().to_string()),
            FieldType::Currency => Value::Text(currency.expect("parsed above").code().to_string()),
            FieldType::Enum(names) => {
                let lower = text.trim().to_ascii_lowercase();
                if !names.contains(&lower.as_str()) {
                    return Err(err(format!("{text:?} is not one of {}", names.join(", "))));
                }
                Value::Text(lower)
            }
            FieldType::Time => Value::Time(
                ctx.time
                    .parse_micros(text)
                    .map_err(|e| err(e.to_string()))?,
            ),
            FieldType::Int { min, max } => {
                let i: i64 = text
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("{text:?} is not an integer")))?;
                if i < min || i > max {
                    return Err(err(format!("{i} is outside {min}..={max}")));
                }
                Value::Int(i)
            }
            FieldType::Money => {
                let c = currency.ok_or_else(|| {
                    err(
                        "an amount needs a currency: add a currency column or --set currency=EUR"
                            .into(),
                    )
                })?;
                Value::Int(Money::parse(text, c).map_err(|e| err(e.to_string()))?.minor)
            }
            FieldType::Bool => Value::Bool(match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "t" => true,
                "false" | "0" | "no" | "n" | "f" => false,
                _ => return Err(err(format!("{text:?} is not true/false"))),
            }),
        };
        out.push(v);
    }
    check_kind_rules(kind, &out)?;
    Ok(out)
}

/// Rules that involve more than one field.
fn check_kind_rules(kind: RecordKind, row: &[Value]) -> Result<(), FieldError> {
    if kind == RecordKind::Survey {
        let fields = kind.fields();
        let at = |n: &str| {
            fields
                .iter()
                .position(|f| f.name == n)
                .expect("survey field")
        };
        if let (Value::Text(s), Value::Int(score)) = (&row[at("survey")], &row[at("score")]) {
            let (lo, hi) = if s == "nps" { (0, 10) } else { (1, 5) };
            if *score < lo || *score > hi {
                return Err(FieldError {
                    field: "score",
                    message: format!("{score} is outside {lo}..={hi} for a {s} answer"),
                });
            }
        }
    }
    Ok(())
}

fn non_empty(t: Option<&str>) -> Option<&str> {
    t.filter(|s| !s.trim().is_empty())
}

/// A stable event id for a row that has none: the kind, a 128-bit hash of
/// its fields, and how many identical rows came before it in the same input
/// (so two genuinely identical purchases stay two, and a re-import of the
/// same file yields the same ids).
pub fn derive_event_id(kind: RecordKind, raw: &[Option<&str>], occurrence: u32) -> String {
    let (a, b) = content_hash(raw);
    if occurrence == 0 {
        format!("{}:{a:016x}{b:016x}", kind.name())
    } else {
        format!("{}:{a:016x}{b:016x}:{occurrence}", kind.name())
    }
}

/// Two FNV-1a 64-bit hashes with different offsets; stable across runs and
/// platforms (unlike `std`'s `DefaultHasher`).
pub(crate) fn content_hash(raw: &[Option<&str>]) -> (u64, u64) {
    const PRIME: u64 = 0x100000001b3;
    let mut a: u64 = 0xcbf29ce484222325;
    let mut b: u64 = 0x84222325cbf29ce4;
    for v in raw {
        let bytes = v.map(str::trim).unwrap_or("").as_bytes();
        for &x in bytes.iter().chain(std::iter::once(&0x1f)) {
            a = (a ^ x as u64).wrapping_mul(PRIME);
            b = (b ^ (x as u64).rotate_left(3)).wrapping_mul(PRIME);
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(amount: &str, currency: &str) -> Vec<Option<&'static str>> {
        let amount: &'static str = Box::leak(amount.to_string().into_boxed_str());
        let currency: &'static str = Box::leak(currency.to_string().into_boxed_str());
        vec![
            None,
            Some("c1"),
            Some("2024-02-29"),
            Some(amount),
            Some(currency),
            None,
            None,
            None,
            None,
            None,
        ]
    }

    #[test]
    fn parses_an_order_with_exact_money() {
        let row = parse_row(
            RecordKind::Order,
            &order("-12.5", "eur"),
            &RowContext::default(),
        )
        .unwrap();
        assert_eq!(row[3], Value::Int(-1250));
        assert_eq!(row[4], Value::Text("EUR".into()));
        assert_eq!(row[0], Value::Null);
    }

    #[test]
    fn names_the_field_that_failed() {
        let ctx = RowContext::default();
        let e = parse_row(RecordKind::Order, &order("12,5", "EUR"), &ctx).unwrap_err();
        assert_eq!(e.field, "amount");
        let e = parse_row(RecordKind::Order, &order("12", ""), &ctx).unwrap_err();
        assert_eq!(e.field, "currency");
        let mut r = order("12", "EUR");
        r[2] = Some("yesterday");
        assert_eq!(
            parse_row(RecordKind::Order, &r, &ctx).unwrap_err().field,
            "time"
        );
    }

    #[test]
    fn survey_scores_follow_the_survey_kind() {
        let ctx = RowContext::default();
        let row = |kind, score| {
            vec![
                None,
                Some("c"),
                Some("2024-01-01"),
                Some(kind),
                Some(score),
                None,
            ]
        };
        assert!(parse_row(RecordKind::Survey, &row("nps", "0"), &ctx).is_ok());
        assert!(parse_row(RecordKind::Survey, &row("csat", "0"), &ctx).is_err());
        assert!(parse_row(RecordKind::Survey, &row("nps", "11"), &ctx).is_err());
        assert!(parse_row(RecordKind::Survey, &row("NPS", "10"), &ctx).is_ok());
    }

    #[test]
    fn defaults_fill_missing_optional_fields() {
        let ctx = RowContext::default();
        let raw = vec![
            None,
            Some("c"),
            Some("2024-01-01"),
            Some("s1"),
            None,
            None,
            Some("active"),
            None,
            Some("USD"),
            None,
            None,
        ];
        let row = parse_row(RecordKind::Subscription, &raw, &ctx).unwrap();
        assert_eq!(row[4], Value::Text("product".into()));
        assert_eq!(row[7], Value::Int(0));
        assert_eq!(row[9], Value::Text("month".into()));
        assert_eq!(row[10], Value::Int(1));
    }

    #[test]
    fn derived_ids_are_stable_and_count_duplicates() {
        let raw = order("12", "EUR");
        let a = derive_event_id(RecordKind::Order, &raw, 0);
        assert_eq!(a, derive_event_id(RecordKind::Order, &raw, 0));
        assert_ne!(a, derive_event_id(RecordKind::Order, &raw, 1));
        assert_ne!(
            a,
            derive_event_id(RecordKind::Order, &order("13", "EUR"), 0)
        );
        assert!(a.starts_with("order:"));
    }
}
