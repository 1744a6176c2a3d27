//! Arrow schemas of the canonical tables.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use clientela_core::{FieldType, RecordKind};
use std::sync::Arc;

/// Time zone of every timestamp column: instants are stored in UTC.
pub const TIME_ZONE: &str = "UTC";

/// The Arrow schema of a kind's canonical table, fields in spec order
/// (money fields renamed `<name>_minor`, integer minor units).
pub fn schema_for(kind: RecordKind) -> SchemaRef {
    let fields: Vec<Field> = kind
        .fields()
        .iter()
        .map(|f| {
            let dt = match f.ty {
                FieldType::Id | FieldType::Text | FieldType::Currency | FieldType::Enum(_) => {
                    DataType::Utf8
                }
                FieldType::Time => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some(TIME_ZONE.into()))
                }
                FieldType::Int { .. } | FieldType::Money => DataType::Int64,
                FieldType::Bool => DataType::Boolean,
            };
            // Fields with a default are never null once parsed.
            let nullable = !(f.required || f.default.is_some() || f.name == "event_id");
            Field::new(f.column(), dt, nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_integer_minor_units_and_time_is_utc() {
        let s = schema_for(RecordKind::Order);
        assert_eq!(
            s.field_with_name("amount_minor").unwrap().data_type(),
            &DataType::Int64
        );
        assert!(s.field_with_name("amount").is_err());
        assert_eq!(
            s.field_with_name("time").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert!(!s.field_with_name("event_id").unwrap().is_nullable());
    }
}
