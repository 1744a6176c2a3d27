//! The record kinds of SPEC §1 and their canonical fields.
//!
//! One table per kind drives everything that touches records: the Arrow
//! schema, the SQLite columns, the input parsers and `docs/schema.md`.

use crate::CoreError;
use std::fmt;
use std::str::FromStr;

/// A kind of input record (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    /// A customer's register entry: attributes, acquisition source, referrer.
    Customer,
    /// A prospect who left an email for some content (seed 004).
    Lead,
    /// A purchase; a negative amount is a refund.
    Order,
    /// A change of a subscription's plan, status or amount.
    Subscription,
    /// A support ticket event.
    Support,
    /// A contact on any channel, inbound or outbound.
    Contact,
    /// A product usage or activity event.
    Usage,
    /// An NPS or CSAT answer.
    Survey,
    /// A customer referring another customer or lead.
    Referral,
    /// Loyalty points earned (positive) or redeemed (negative).
    Loyalty,
    /// Marketing spend, not per customer.
    Spend,
}

/// The type of a canonical field, which says how its text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A non-empty identifier.
    Id,
    /// Free text.
    Text,
    /// A timestamp, stored as µs since the epoch in UTC.
    Time,
    /// An integer within bounds.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A decimal amount in the record's `currency`, stored as `<name>_minor`.
    Money,
    /// An ISO 4217 currency code.
    Currency,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    Bool,
    /// One of a fixed list of lower-case names.
    Enum(&'static [&'static str]),
}

/// One canonical field of a record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Name in input files and in the canonical tables (money gets `_minor`).
    pub name: &'static str,
    /// How the value is read.
    pub ty: FieldType,
    /// Whether every record must have it.
    pub required: bool,
    /// Value used when the column is absent or empty and not required.
    pub default: Option<&'static str>,
    /// One line for `docs/schema.md` and `--help`.
    pub doc: &'static str,
}

impl FieldSpec {
    /// The column name in canonical tables (`amount` → `amount_minor`).
    pub fn column(&self) -> String {
        match self.ty {
            FieldType::Money => format!("{}_minor", self.name),
            _ => self.name.to_string(),
        }
    }
}

const fn f(name: &'static str, ty: FieldType, required: bool, doc: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required,
        default: None,
        doc,
    }
}

const fn d(
    name: &'static str,
    ty: FieldType,
    default: &'static str,
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required: false,
        default: Some(default),
        doc,
    }
}

/// Accepted contact channels.
pub const CONTACT_CHANNELS: &[&str] = &["email", "social", "phone", "chat", "in_person", "web"];
/// Subscription statuses; only `active` and `past_due` count as active.
pub const SUBSCRIPTION_STATUSES: &[&str] = &[
    "active",
    "past_due",
    "trialing",
    "paused",
    "cancelled",
    "ended",
];
/// Statuses of a subscription that count as an active subscription (SPEC §1).
pub const ACTIVE_SUBSCRIPTION_STATUSES: &[&str] = &["active", "past_due"];
/// Billing intervals; amounts are normalised to a month.
pub const BILLING_INTERVALS: &[&str] = &["day", "week", "month", "quarter", "year"];

const EVENT_ID: FieldSpec = f(
    "event_id",
    FieldType::Id,
    false,
    "unique id of the event; when absent it is derived from the row's content, so re-importing the same file changes nothing",
);
const CUSTOMER_ID: FieldSpec = f(
    "customer_id",
    FieldType::Id,
    true,
    "the business's own customer id",
);
const TIME: FieldSpec = f(
    "time",
    FieldType::Time,
    true,
    "when it happened: RFC 3339, or a date/time read in the --tz zone",
);
const CURRENCY: FieldSpec = f(
    "currency",
    FieldType::Currency,
    true,
    "ISO 4217 code, e.g. EUR",
);
const INT: FieldType = FieldType::Int {
    min: i64::MIN,
    max: i64::MAX,
};

const CUSTOMER: &[FieldSpec] = &[
    CUSTOMER_ID,
    f("time", FieldType::Time, false, "sign-up time, if known"),
    f("email", FieldType::Text, false, "email address"),
    f("name", FieldType::Text, false, "full name"),
    f(
        "country",
        FieldType::Text,
        false,
        "country (ISO 3166 code suggested)",
    ),
    f("city", FieldType::Text, false, "city"),
    f(
        "birth_year",
        FieldType::Int {
            min: 1900,
            max: 2100,
        },
        false,
        "year of birth",
    ),
    f(
        "gender",
        FieldType::Text,
        false,
        "gender, as the business records it",
    ),
    f(
        "tags",
        FieldType::Text,
        false,
        "interests, separated by ';' (psychographic segments)",
    ),
    f(
        "source",
        FieldType::Text,
        false,
        "acquisition source, e.g. google_ads",
    ),
    f(
        "channel",
        FieldType::Text,
        false,
        "acquisition channel, e.g. paid_search, referral",
    ),
    f(
        "referred_by",
        FieldType::Text,
        false,
        "customer_id of the referrer",
    ),
    f("consent", FieldType::Bool, false, "marketing consent"),
    f(
        "attributes",
        FieldType::Text,
        false,
        "free attributes as a JSON object",
    ),
];
const LEAD: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f("source", FieldType::Text, false, "where the lead came from"),
    f(
        "content",
        FieldType::Text,
        false,
        "content or lead magnet asked for",
    ),
    f(
        "email",
        FieldType::Text,
        false,
        "email left by the prospect",
    ),
];
const ORDER: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f(
        "amount",
        FieldType::Money,
        true,
        "net amount paid; negative for a refund",
    ),
    CURRENCY,
    f(
        "quantity",
        FieldType::Int {
            min: -1_000_000,
            max: 1_000_000,
        },
        false,
        "number of items",
    ),
    f("channel", FieldType::Text, false, "sales channel"),
    f("coupon", FieldType::Text, false, "discount or coupon code"),
    f(
        "discount",
        FieldType::Money,
        false,
        "discount granted, in the order's currency",
    ),
    f(
        "items",
        FieldType::Text,
        false,
        "items as JSON: [{\"sku\",\"category\",\"qty\",\"price\"}]",
    ),
];
const SUBSCRIPTION: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f(
        "subscription_id",
        FieldType::Id,
        true,
        "the subscription this change belongs to",
    ),
    d(
        "kind",
        FieldType::Enum(&["product", "service"]),
        "product",
        "product or service subscription",
    ),
    f("plan", FieldType::Text, false, "plan name"),
    f(
        "status",
        FieldType::Enum(SUBSCRIPTION_STATUSES),
        true,
        "status from this time on",
    ),
    d(
        "amount",
        FieldType::Money,
        "0",
        "recurring amount per billing interval",
    ),
    CURRENCY,
    d(
        "interval",
        FieldType::Enum(BILLING_INTERVALS),
        "month",
        "billing interval",
    ),
    d(
        "interval_count",
        FieldType::Int { min: 1, max: 120 },
        "1",
        "intervals per billing period",
    ),
];
const SUPPORT: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f("ticket_id", FieldType::Text, false, "ticket id"),
    f("channel", FieldType::Text, false, "channel of the ticket"),
    f("topic", FieldType::Text, false, "topic"),
    d(
        "kind",
        FieldType::Enum(&["question", "complaint", "request"]),
        "question",
        "kind of ticket",
    ),
    d(
        "status",
        FieldType::Enum(&["opened", "resolved"]),
        "opened",
        "ticket status",
    ),
    f(
        "satisfaction",
        FieldType::Int { min: 1, max: 5 },
        false,
        "satisfaction 1–5",
    ),
];
const CONTACT: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f(
        "channel",
        FieldType::Enum(CONTACT_CHANNELS),
        true,
        "contact channel",
    ),
    f(
        "direction",
        FieldType::Enum(&["inbound", "outbound"]),
        true,
        "inbound (from the customer) or outbound",
    ),
    f(
        "action",
        FieldType::Enum(&["sent", "opened", "clicked", "replied", "visited", "called"]),
        false,
        "what happened",
    ),
];
const USAGE: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f("name", FieldType::Text, true, "activity name, e.g. login"),
    f(
        "properties",
        FieldType::Text,
        false,
        "properties as a JSON object",
    ),
];
const SURVEY: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f(
        "survey",
        FieldType::Enum(&["nps", "csat"]),
        true,
        "nps (score 0–10) or csat (score 1–5)",
    ),
    f(
        "score",
        FieldType::Int { min: 0, max: 10 },
        true,
        "the answer",
    ),
    f("comment", FieldType::Text, false, "free comment"),
];
const REFERRAL: &[FieldSpec] = &[
    EVENT_ID,
    f("customer_id", FieldType::Id, true, "the referrer"),
    TIME,
    f(
        "referred_id",
        FieldType::Id,
        true,
        "customer or lead id of the referred person",
    ),
];
const LOYALTY: &[FieldSpec] = &[
    EVENT_ID,
    CUSTOMER_ID,
    TIME,
    f(
        "points",
        INT,
        true,
        "points earned (positive) or redeemed (negative)",
    ),
    f("reason", FieldType::Text, false, "why"),
    f("reward", FieldType::Text, false, "reward redeemed"),
];
const SPEND: &[FieldSpec] = &[
    EVENT_ID,
    TIME,
    f(
        "category",
        FieldType::Enum(&["acquisition", "retention"]),
        true,
        "acquisition or retention spend",
    ),
    f(
        "channel",
        FieldType::Text,
        false,
        "marketing channel (matches customers' acquisition channel)",
    ),
    f("amount", FieldType::Money, true, "amount spent"),
    CURRENCY,
];

impl RecordKind {
    /// Every kind, in canonical order.
    pub const ALL: [RecordKind; 11] = [
        RecordKind::Customer,
        RecordKind::Lead,
        RecordKind::Order,
        RecordKind::Subscription,
        RecordKind::Support,
        RecordKind::Contact,
        RecordKind::Usage,
        RecordKind::Survey,
        RecordKind::Referral,
        RecordKind::Loyalty,
        RecordKind::Spend,
    ];

    /// The singular name used on the command line (`--kind order`).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Customer => "customer",
            RecordKind::Lead => "lead",
            RecordKind::Order => "order",
            RecordKind::Subscription => "subscription",
            RecordKind::Support => "support",
            RecordKind::Contact => "contact",
            RecordKind::Usage => "usage",
            RecordKind::Survey => "survey",
            RecordKind::Referral => "referral",
            RecordKind::Loyalty => "loyalty",
            RecordKind::Spend => "spend",
        }
    }

    /// The canonical table name (plural: `orders`).
    pub fn table(self) -> &'static str {
        match self {
            RecordKind::Customer => "customers",
            RecordKind::Lead => "leads",
            RecordKind::Order => "orders",
            RecordKind::Subscription => "subscriptions",
            RecordKind::Support => "support",
            RecordKind::Contact => "contacts",
            RecordKind::Usage => "usage",
            RecordKind::Survey => "surveys",
            RecordKind::Referral => "referrals",
            RecordKind::Loyalty => "loyalty",
            RecordKind::Spend => "spend",
        }
    }

    /// The canonical fields, in order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            RecordKind::Customer => CUSTOMER,
            RecordKind::Lead => LEAD,
            RecordKind::Order => ORDER,
            RecordKind::Subscription => SUBSCRIPTION,
            RecordKind::Support => SUPPORT,
            RecordKind::Contact => CONTACT,
            RecordKind::Usage => USAGE,
            RecordKind::Survey => SURVEY,
            RecordKind::Referral => REFERRAL,
            RecordKind::Loyalty => LOYALTY,
            RecordKind::Spend => SPEND,
        }
    }

    /// Whether records of this kind belong to a customer.
    pub fn has_customer(self) -> bool {
        self != RecordKind::Spend
    }

    /// Whether records of this kind are events with an `event_id` (all but
    /// customers, whose key is the customer id itself).
    pub fn is_event(self) -> bool {
        self != RecordKind::Customer
    }

    /// Guesses the kind from a file name such as `orders.csv` or
    /// `2024_support_tickets.jsonl`.
    pub fn guess_from_file_name(name: &str) -> Option<RecordKind> {
        let lower = name.to_ascii_lowercase();
        let stem = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
        RecordKind::ALL.into_iter().find(|k| {
            stem.starts_with(k.name()) || stem.contains(k.table()) || stem.contains(k.name())
        })
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RecordKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let s = s.trim().to_ascii_lowercase();
        RecordKind::ALL
            .into_iter()
            .find(|k| k.name() == s || k.table() == s)
            .ok_or_else(|| CoreError::Unknown {
                what: "record kind",
                value: s,
                expected: RecordKind::ALL.map(|k| k.name()).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_has_id_and_time() {
        for k in RecordKind::ALL {
            let names: Vec<_> = k.fields().iter().map(|f| f.name).collect();
            assert!(names.contains(&"time"), "{k}");
            assert_eq!(names.contains(&"event_id"), k.is_event(), "{k}");
            assert_eq!(names.contains(&"customer_id"), k.has_customer(), "{k}");
            // Money needs a currency in the same record.
            if k.fields().iter().any(|f| f.ty == FieldType::Money) {
                assert!(names.contains(&"currency"), "{k}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_file_names_are_guessed() {
        for k in RecordKind::ALL {
            assert_eq!(k.name().parse::<RecordKind>().unwrap(), k);
            assert_eq!(k.table().parse::<RecordKind>().unwrap(), k);
        }
        assert_eq!(
            RecordKind::guess_from_file_name("data/orders.csv"),
            Some(RecordKind::Order)
        );
        assert_eq!(
            RecordKind::guess_from_file_name("x/subscriptions_2024.jsonl"),
            Some(RecordKind::Subscription)
        );
        assert_eq!(RecordKind::guess_from_file_name("CDNOW_master.txt"), None);
        assert!("invoice".parse::<RecordKind>().is_err());
    }
}
