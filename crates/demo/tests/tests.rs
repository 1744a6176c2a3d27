//! Integration tests of the demo generator: determinism, integrity of the
//! generated tables and recovery of the true purchase parameters.

use arrow::array::{Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_demo::{generate, DemoConfig, DemoData};
use std::sync::OnceLock;

/// Customers in the shared small data set.
const SMALL: usize = 5_000;
/// Customers in the data set the purchase statistics are checked on.
const LARGE: usize = 20_000;

fn small() -> &'static DemoData {
    static DATA: OnceLock<DemoData> = OnceLock::new();
    DATA.get_or_init(|| generate(&DemoConfig::with_customers(SMALL)))
}

fn large() -> &'static DemoData {
    static DATA: OnceLock<DemoData> = OnceLock::new();
    DATA.get_or_init(|| generate(&DemoConfig::with_customers(LARGE)))
}

fn strings<'b>(b: &'b RecordBatch, name: &str) -> &'b StringArray {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_any()
        .downcast_ref()
        .expect("utf8")
}

fn ints<'b>(b: &'b RecordBatch, name: &str) -> &'b Int64Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_any()
        .downcast_ref()
        .expect("int64")
}

fn times(b: &RecordBatch) -> &TimestampMicrosecondArray {
    b.column_by_name("time")
        .expect("time column")
        .as_any()
        .downcast_ref()
        .expect("timestamp")
}

/// Every value of a text column of `kind`, nulls skipped.
fn column(data: &DemoData, kind: RecordKind, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in data.batches(kind) {
        let a = strings(b, name);
        out.extend(
            (0..a.len())
                .filter(|&r| a.is_valid(r))
                .map(|r| a.value(r).to_string()),
        );
    }
    out
}

mod determinism {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_batches_and_another_seed_differs() {
        let cfg = DemoConfig::with_customers(1_500);
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.tables, b.tables);
        let c = generate(&DemoConfig { seed: 43, ..cfg });
        assert_ne!(a.tables[&RecordKind::Order], c.tables[&RecordKind::Order]);
        assert_ne!(
            a.tables[&RecordKind::Customer],
            c.tables[&RecordKind::Customer]
        );
    }

    #[test]
    fn streaming_gives_the_same_batches_as_generate() {
        let cfg = DemoConfig::with_customers(1_500);
        let mut streamed: Vec<(RecordKind, RecordBatch)> = Vec::new();
        clientela_demo::generate_with(&cfg, |k, b| streamed.push((k, b)));
        let data = generate(&cfg);
        for kind in RecordKind::ALL {
            let mine: Vec<_> = streamed
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, b)| b.clone())
                .collect();
            assert_eq!(mine, data.tables[&kind], "{kind}");
        }
    }
}

mod integrity {
    use super::*;
    use clientela_demo::BATCH_ROWS;
    use clientela_table::schema_for;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn every_kind_has_rows_in_its_schema_and_batches_are_bounded() {
        let data = small();
        for kind in RecordKind::ALL {
            assert!(data.rows(kind) > 0, "{kind} has no rows");
            for b in data.batches(kind) {
                assert_eq!(b.schema(), schema_for(kind), "{kind}");
                assert!(b.num_rows() <= BATCH_ROWS);
            }
        }
        assert!(
            data.rows(RecordKind::Customer) > SMALL,
            "customers plus registered prospects"
        );
    }

    #[test]
    fn all_times_are_within_the_window() {
        let data = small();
        let (start, end) = data.config.window();
        for kind in RecordKind::ALL {
            for b in data.batches(kind) {
                let t = times(b);
                assert_eq!(t.null_count(), 0, "{kind}");
                for &v in t.values() {
                    assert!(
                        (start..end).contains(&v),
                        "{kind}: {v} outside [{start}, {end})"
                    );
                }
            }
        }
    }

    #[test]
    fn event_ids_are_unique_per_kind_and_customer_ids_unique() {
        let data = small();
        for kind in RecordKind::ALL.into_iter().filter(|k| k.is_event()) {
            let ids = column(data, kind, "event_id");
            assert_eq!(ids.len(), data.rows(kind), "{kind}: null event ids");
            let unique: HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "{kind}: duplicate event ids");
        }
        let customers = column(data, RecordKind::Customer, "customer_id");
        assert_eq!(
            customers.iter().collect::<HashSet<_>>().len(),
            customers.len()
        );
    }

    #[test]
    fn every_customer_id_is_a_customer_or_a_lead_only_prospect() {
        let data = small();
        let customers: HashSet<String> = column(data, RecordKind::Customer, "customer_id")
            .into_iter()
            .collect();
        let leads: HashSet<String> = column(data, RecordKind::Lead, "customer_id")
            .into_iter()
            .collect();
        let known =
            |id: &String| customers.contains(id) || (id.starts_with('L') && leads.contains(id));
        for kind in RecordKind::ALL.into_iter().filter(|k| k.has_customer()) {
            for id in column(data, kind, "customer_id") {
                assert!(known(&id), "{kind}: unknown customer {id}");
            }
        }
        for id in column(data, RecordKind::Referral, "referred_id") {
            assert!(known(&id), "referral to unknown {id}");
        }
        // Buying customers are C ids; prospects never order.
        assert!(column(data, RecordKind::Order, "customer_id")
            .iter()
            .all(|id| id.starts_with('C')));
        assert_eq!(
            customers.iter().filter(|id| id.starts_with('C')).count(),
            SMALL
        );
    }

    #[test]
    fn referrers_signed_up_before_the_referred_and_made_the_referral() {
        let data = small();
        let mut signup = HashMap::new();
        let mut referred_by = Vec::new();
        for b in data.batches(RecordKind::Customer) {
            let (id, by, t) = (
                strings(b, "customer_id"),
                strings(b, "referred_by"),
                times(b),
            );
            for r in 0..b.num_rows() {
                signup.insert(id.value(r).to_string(), t.value(r));
                if by.is_valid(r) {
                    referred_by.push((id.value(r).to_string(), by.value(r).to_string()));
                }
            }
        }
        assert!(!referred_by.is_empty());
        let mut referrals = HashSet::new();
        for b in data.batches(RecordKind::Referral) {
            let (from, to) = (strings(b, "customer_id"), strings(b, "referred_id"));
            referrals.extend(
                (0..b.num_rows()).map(|r| (to.value(r).to_string(), from.value(r).to_string())),
            );
        }
        for (who, by) in &referred_by {
            assert!(
                signup[by] < signup[who],
                "{by} referred {who} before signing up"
            );
            assert!(
                referrals.contains(&(who.clone(), by.clone())),
                "no referral event for {who}"
            );
        }
    }

    #[test]
    fn subscriptions_start_trialing_or_active_and_belong_to_one_customer() {
        let data = small();
        let mut first: HashMap<String, (i64, String, String)> = HashMap::new();
        for b in data.batches(RecordKind::Subscription) {
            let (sid, cid, st, t) = (
                strings(b, "subscription_id"),
                strings(b, "customer_id"),
                strings(b, "status"),
                times(b),
            );
            for r in 0..b.num_rows() {
                let e = first.entry(sid.value(r).to_string()).or_insert((
                    i64::MAX,
                    cid.value(r).to_string(),
                    String::new(),
                ));
                assert_eq!(e.1, cid.value(r));
                if t.value(r) < e.0 {
                    *e = (t.value(r), e.1.clone(), st.value(r).to_string());
                }
            }
        }
        assert!(first
            .values()
            .all(|(_, _, s)| s == "trialing" || s == "active"));
        let statuses: HashSet<_> = column(data, RecordKind::Subscription, "status")
            .into_iter()
            .collect();
        for s in [
            "trialing",
            "active",
            "paused",
            "past_due",
            "cancelled",
            "ended",
        ] {
            assert!(statuses.contains(s), "no {s} subscription event");
        }
    }

    #[test]
    fn every_contact_channel_appears() {
        let data = small();
        let channels: HashSet<_> = column(data, RecordKind::Contact, "channel")
            .into_iter()
            .collect();
        for c in clientela_core::kind::CONTACT_CHANNELS {
            assert!(channels.contains(*c), "no {c} contact");
        }
    }
}

mod money {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn refunds_are_negative_copies_of_earlier_orders() {
        let data = small();
        let mut orders = HashMap::new();
        let mut refunds = Vec::new();
        for b in data.batches(RecordKind::Order) {
            let (id, cid, amount, t) = (
                strings(b, "event_id"),
                strings(b, "customer_id"),
                ints(b, "amount_minor"),
                times(b),
            );
            assert_eq!(amount.null_count(), 0);
            for r in 0..b.num_rows() {
                let row = (cid.value(r).to_string(), amount.value(r), t.value(r));
                match id.value(r).strip_suffix('r') {
                    Some(base) => refunds.push((base.to_string(), row)),
                    None => {
                        assert!(row.1 >= 100, "orders are at least 1.00");
                        orders.insert(id.value(r).to_string(), row);
                    }
                }
            }
        }
        let share = refunds.len() as f64 / orders.len() as f64;
        assert!((0.01..0.03).contains(&share), "refund share {share}");
        for (base, (cid, amount, t)) in refunds {
            let (ocid, oamount, ot) = &orders[&base];
            assert!(amount < 0 && amount == -oamount && cid == *ocid && t > *ot);
        }
    }

    #[test]
    fn money_is_in_minor_units_of_the_configured_currency() {
        let data = small();
        for (kind, column) in [
            (RecordKind::Order, "amount_minor"),
            (RecordKind::Order, "discount_minor"),
            (RecordKind::Subscription, "amount_minor"),
            (RecordKind::Spend, "amount_minor"),
        ] {
            let field = clientela_table::schema_for(kind)
                .field_with_name(column)
                .cloned();
            assert_eq!(
                field.expect("money column").data_type(),
                &arrow::datatypes::DataType::Int64
            );
        }
        for kind in [
            RecordKind::Order,
            RecordKind::Subscription,
            RecordKind::Spend,
        ] {
            assert!(
                column(data, kind, "currency").iter().all(|c| c == "EUR"),
                "{kind}"
            );
        }
        let plans: Vec<i64> = data
            .batches(RecordKind::Subscription)
            .iter()
            .flat_map(|b| ints(b, "amount_minor").values().to_vec())
            .collect();
        assert!(plans
            .iter()
            .all(|a| [990, 2990, 29_900, 2490, 6490].contains(a)));
        for b in data.batches(RecordKind::Spend) {
            assert!(ints(b, "amount_minor").values().iter().all(|&a| a > 0));
        }
    }

    #[test]
    fn items_add_up_to_the_order_amount() {
        let data = small();
        for b in data.batches(RecordKind::Order) {
            let (items, amount) = (strings(b, "items"), ints(b, "amount_minor"));
            for r in (0..b.num_rows()).filter(|&r| amount.value(r) > 0) {
                let json = items.value(r);
                let mut total = 0;
                for line in json.split("},{") {
                    let field = |key: &str| {
                        let from =
                            line.find(key).unwrap_or_else(|| panic!("{key} in {json}")) + key.len();
                        line[from..].split([',', '}']).next().unwrap().to_string()
                    };
                    let qty: i64 = field("\"qty\":").parse().unwrap();
                    let price = field("\"price\":").replace('.', "").parse::<i64>().unwrap();
                    total += qty * price;
                }
                assert_eq!(total, amount.value(r), "{json}");
            }
        }
    }

    #[test]
    fn purchase_points_are_the_whole_units_of_an_order() {
        let data = small();
        let mut orders = HashMap::new();
        for b in data.batches(RecordKind::Order) {
            let (cid, amount, t) = (strings(b, "customer_id"), ints(b, "amount_minor"), times(b));
            for r in 0..b.num_rows() {
                orders.insert((cid.value(r).to_string(), t.value(r)), amount.value(r));
            }
        }
        let mut checked = 0;
        for b in data.batches(RecordKind::Loyalty) {
            let (cid, reason, points, t) = (
                strings(b, "customer_id"),
                strings(b, "reason"),
                ints(b, "points"),
                times(b),
            );
            for r in (0..b.num_rows()).filter(|&r| reason.value(r) == "purchase") {
                let amount = orders[&(cid.value(r).to_string(), t.value(r))];
                assert_eq!(points.value(r), amount / 100);
                checked += 1;
            }
        }
        assert!(checked > 1_000);
    }
}

mod purchases {
    use super::*;
    use std::collections::HashMap;

    /// Relative tolerance on the mean order value at 20,000 customers.
    const VALUE_TOLERANCE: f64 = 0.05;
    /// Absolute tolerance on the share of single-order customers.
    const SINGLE_SHARE_TOLERANCE: f64 = 0.015;

    /// Per customer: first order time, positive orders and their amounts in
    /// time order.
    fn histories(data: &DemoData) -> HashMap<String, Vec<(i64, i64)>> {
        let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for b in data.batches(RecordKind::Order) {
            let (cid, amount, t) = (strings(b, "customer_id"), ints(b, "amount_minor"), times(b));
            for r in (0..b.num_rows()).filter(|&r| amount.value(r) > 0) {
                out.entry(cid.value(r).to_string())
                    .or_default()
                    .push((t.value(r), amount.value(r)));
            }
        }
        for v in out.values_mut() {
            v.sort_unstable();
        }
        out
    }

    #[test]
    fn about_ten_orders_per_customer() {
        let data = large();
        let h = histories(data);
        assert_eq!(h.len(), LARGE, "every customer buys");
        let orders: usize = h.values().map(Vec::len).sum();
        let ratio = orders as f64 / LARGE as f64;
        assert!((8.5..11.5).contains(&ratio), "orders per customer {ratio}");
    }

    #[test]
    fn mean_repeat_order_value_is_p_gamma_over_q_minus_one() {
        let data = large();
        let means: Vec<f64> = histories(data)
            .values()
            .filter(|v| v.len() > 1)
            .map(|v| v[1..].iter().map(|o| o.1 as f64 / 100.0).sum::<f64>() / (v.len() - 1) as f64)
            .collect();
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        let truth = data.config.purchase.mean_order_value();
        assert!(
            (mean / truth - 1.0).abs() < VALUE_TOLERANCE,
            "mean repeat value {mean}, expected {truth}"
        );
    }

    #[test]
    fn single_order_share_matches_bg_nbd() {
        // Under BG/NBD nobody drops out before a repeat purchase, so
        // P(no repeat in T) = (α / (α + T))^r whatever a and b.
        let data = large();
        let p = &data.config.purchase;
        let (_, end) = data.config.window();
        let h = histories(data);
        let week = 7.0 * 86_400e6;
        let expected: f64 = h
            .values()
            .map(|v| (p.alpha / (p.alpha + (end - v[0].0) as f64 / week)).powf(p.r))
            .sum::<f64>()
            / h.len() as f64;
        let observed = h.values().filter(|v| v.len() == 1).count() as f64 / h.len() as f64;
        assert!(
            (observed - expected).abs() < SINGLE_SHARE_TOLERANCE,
            "single-order share {observed}, expected {expected}"
        );
    }
}
