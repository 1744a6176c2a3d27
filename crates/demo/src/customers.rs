//! Register entries, leads and referrals: who the people are and how they
//! came.

use crate::config::ACQUISITION_CHANNELS;
use crate::sink::Sinks;
use crate::window::{DAY, HOUR};
use crate::world::{between, chance, pick, weighted, Ctx, Person, Stats, Stream};
use chrono::Datelike;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::fmt;

/// Interests a customer can have; order items come mostly from them.
pub(crate) const TAGS: [&str; 6] = ["music", "sport", "tech", "fashion", "travel", "food"];

/// Weights of [`ACQUISITION_CHANNELS`].
const CHANNEL_WEIGHTS: [f64; 6] = [30.0, 24.0, 16.0, 8.0, 8.0, 14.0];
/// Index of `referral` in [`ACQUISITION_CHANNELS`].
const REFERRAL: usize = 5;
const SOURCES: [&[&str]; 6] = [
    &["google", "direct", "blog"],
    &["google_ads", "bing_ads"],
    &["instagram", "facebook", "tiktok"],
    &["newsletter", "partner_list"],
    &["coupon_site", "partner_blog"],
    &["friend_referral"],
];
const LEAD_CONTENT: [&str; 6] = [
    "ebook-crm-guide",
    "webinar-loyalty",
    "checklist-onboarding",
    "discount-10",
    "newsletter",
    "whitepaper-clv",
];

const COUNTRY_WEIGHTS: [f64; 6] = [35.0, 20.0, 15.0, 12.0, 10.0, 8.0];

struct Country {
    code: &'static str,
    cities: &'static [&'static str],
    female: &'static [&'static str],
    male: &'static [&'static str],
    last: &'static [&'static str],
    domain: &'static str,
}

const COUNTRIES: [Country; 6] = [
    Country {
        code: "IT",
        cities: &["Milano", "Roma", "Torino", "Napoli", "Bologna", "Firenze"],
        female: &["Giulia", "Sofia", "Chiara", "Martina", "Sara"],
        male: &["Marco", "Luca", "Matteo", "Alessandro", "Giuseppe"],
        last: &[
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Colombo",
        ],
        domain: "libero.it",
    },
    Country {
        code: "DE",
        cities: &["Berlin", "Hamburg", "München", "Köln", "Frankfurt"],
        female: &["Anna", "Hannah", "Lea", "Emma", "Julia"],
        male: &["Lukas", "Jonas", "Leon", "Paul", "Felix"],
        last: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Becker",
        ],
        domain: "web.de",
    },
    Country {
        code: "FR",
        cities: &["Paris", "Lyon", "Marseille", "Toulouse", "Lille"],
        female: &["Camille", "Léa", "Manon", "Chloé", "Inès"],
        male: &["Louis", "Hugo", "Gabriel", "Arthur", "Jules"],
        last: &["Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard"],
        domain: "orange.fr",
    },
    Country {
        code: "ES",
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla"],
        female: &["Lucía", "Carmen", "Paula", "Elena", "Marta"],
        male: &["Pablo", "Javier", "Hugo", "Daniel", "Alejandro"],
        last: &[
            "García",
            "Fernández",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
        ],
        domain: "gmail.com",
    },
    Country {
        code: "GB",
        cities: &["London", "Manchester", "Birmingham", "Leeds", "Bristol"],
        female: &["Olivia", "Amelia", "Isla", "Emily", "Grace"],
        male: &["Oliver", "George", "Harry", "Jack", "Noah"],
        last: &["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson"],
        domain: "outlook.com",
    },
    Country {
        code: "US",
        cities: &["New York", "Los Angeles", "Chicago", "Austin", "Seattle"],
        female: &["Emma", "Ava", "Mia", "Harper", "Abigail"],
        male: &["Liam", "Ethan", "Mason", "James", "Logan"],
        last: &["Johnson", "Miller", "Davis", "Garcia", "Wilson", "Anderson"],
        domain: "gmail.com",
    },
];

/// `C0000001`-style id of customer `i` (0-based).
pub fn customer_id(i: usize) -> String {
    format!("C{:07}", i + 1)
}

/// `L0000001`-style id of lead-only prospect `j` (0-based).
pub fn prospect_id(j: usize) -> String {
    format!("L{:07}", j + 1)
}

/// Fills `person` for customer `i` and writes their register entry, lead
/// and referral.
pub(crate) fn customer(
    ctx: &Ctx,
    i: usize,
    person: &mut Person,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    let n = ctx.cfg.customers;
    let mut rng = ctx.rng(i, Stream::Profile);
    person.index = i;
    set_ids(person, 'C', i);
    // Sign-ups follow customer numbers: customer i signs up in the i-th slot.
    person.signup = ctx.win.signup_at((i as f64 + rng.gen::<f64>()) / n as f64);
    person.channel = weighted(&mut rng, &CHANNEL_WEIGHTS);
    let mut referrer = None;
    if person.channel == REFERRAL {
        referrer = (i > 0).then(|| best_of(ctx, &mut rng, i));
        if referrer.is_none() {
            // The very first customer has nobody to refer them.
            person.channel = 0;
        }
    }
    register(ctx, &mut rng, person, referrer, Some(sinks));
    stats.new_customers[ctx.win.month_of(person.signup)][person.channel] += 1;
    if chance(&mut rng, 0.4) {
        let lead_time = (person.signup - between(&mut rng, HOUR, 30 * DAY)).max(ctx.win.start);
        lead(&mut rng, person, lead_time, sinks);
    }
    if let Some(r) = referrer {
        referral(person, r, sinks);
    }
}

/// Fills `person` for prospect `j` and writes their lead, maybe a register
/// entry (without orders) and the referral that brought them; returns
/// whether they registered.
pub(crate) fn prospect(ctx: &Ctx, j: usize, person: &mut Person, sinks: &mut Sinks) -> bool {
    let index = ctx.cfg.customers + j;
    let mut rng = ctx.rng(index, Stream::Profile);
    person.index = index;
    set_ids(person, 'L', j);
    person.signup = ctx.win.signup_at(rng.gen::<f64>());
    person.channel = weighted(&mut rng, &CHANNEL_WEIGHTS[..5]);
    // A few prospects came through a customer's referral.
    let referrer = if chance(&mut rng, 0.08) {
        // Customers who signed up before the lead, with a margin of one.
        let before = ctx.cfg.customers as f64 * ctx.win.signup_share_before(person.signup);
        let eligible = (before.floor() as usize).saturating_sub(1);
        (eligible > 0).then(|| best_of(ctx, &mut rng, eligible))
    } else {
        None
    };
    if referrer.is_some() {
        person.channel = REFERRAL;
    }
    let registered = chance(&mut rng, 0.5);
    register(
        ctx,
        &mut rng,
        person,
        referrer,
        registered.then_some(&mut *sinks),
    );
    lead(&mut rng, person, person.signup, sinks);
    if let Some(r) = referrer {
        referral(person, r, sinks);
    }
    registered
}

fn set_ids(person: &mut Person, letter: char, k: usize) {
    use std::fmt::Write;
    person.id.clear();
    write!(person.id, "{letter}{:07}", k + 1).expect("write to String");
    person.ev.clear();
    if letter == 'C' {
        write!(person.ev, "{}", k + 1).expect("write to String");
    } else {
        write!(person.ev, "{letter}{}", k + 1).expect("write to String");
    }
}

/// A customer with an index below `below` (so signed up earlier): the most
/// frequent buyer of three drawn, since heavy buyers refer more.
fn best_of(ctx: &Ctx, rng: &mut ChaCha8Rng, below: usize) -> usize {
    (0..3)
        .map(|_| {
            let j = rng.gen_range(0..below);
            (ctx.traits(j).lambda, j)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("three candidates")
        .1
}

/// Draws who the person is (email, consent, tags, plan interest) and writes
/// the register entry when `sinks` is given.
fn register(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &mut Person,
    referrer: Option<usize>,
    sinks: Option<&mut Sinks>,
) {
    use std::fmt::Write;
    let country = &COUNTRIES[weighted(rng, &COUNTRY_WEIGHTS)];
    let female = chance(rng, 0.5);
    let first = pick(rng, if female { country.female } else { country.male });
    let last = pick(rng, country.last);
    let gender = match rng.gen_range(0..100) {
        0..=2 => None,
        _ if female => Some("female"),
        _ => Some("male"),
    };
    let z: f64 = StandardNormal.sample(rng);
    let age = 38.0 + 12.0 * z;
    let birth_year = ctx.cfg.end.year() as i64 - age.clamp(18.0, 85.0) as i64;
    person.tags = 0;
    for _ in 0..rng.gen_range(1..=3) {
        person.tags |= 1 << rng.gen_range(0..TAGS.len());
    }
    person.consent = chance(rng, 0.65);
    person.plan_interest = weighted(rng, &[50.0, 30.0, 20.0]) as u8;
    let device = *pick(rng, &["ios", "android", "desktop"]);
    let source = pick(rng, SOURCES[person.channel]);
    let number = rng.gen_range(1..1000);
    person.email.clear();
    write!(
        person.email,
        "{}.{}{number}@{}",
        Ascii(first),
        Ascii(last),
        country.domain
    )
    .expect("write to String");
    let city = pick(rng, country.cities);
    let Some(sinks) = sinks else { return };
    sinks
        .customers
        .str(&person.id)
        .time(person.signup)
        .str(&person.email)
        .fmt(format_args!("{first} {last}"))
        .str(country.code)
        .str(city)
        .int(birth_year)
        .opt_str(gender)
        .fmt(format_args!("{}", TagList(person.tags)))
        .str(source)
        .str(ACQUISITION_CHANNELS[person.channel])
        .opt_str(referrer.map(customer_id).as_deref())
        .bool(person.consent)
        .fmt(format_args!(
            r#"{{"plan_interest":"{}","device":"{device}"}}"#,
            ["none", "basic", "pro"][person.plan_interest as usize]
        ))
        .end();
}

fn lead(rng: &mut ChaCha8Rng, person: &Person, time: i64, sinks: &mut Sinks) {
    let source = pick(rng, SOURCES[person.channel]);
    let content = pick(rng, &LEAD_CONTENT);
    sinks
        .leads
        .fmt(format_args!("l{}", person.ev))
        .str(&person.id)
        .time(time)
        .str(source)
        .str(content)
        .str(&person.email)
        .end();
}

/// The referrer's event at the referred person's sign-up.
fn referral(person: &Person, referrer: usize, sinks: &mut Sinks) {
    sinks
        .referrals
        .fmt(format_args!("r{}", person.ev))
        .fmt(format_args!("C{:07}", referrer + 1))
        .time(person.signup)
        .str(&person.id)
        .end();
}

/// Interests joined by `;`.
pub(crate) struct TagList(pub u8);

impl fmt::Display for TagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, tag) in TAGS.iter().enumerate() {
            if self.0 & (1 << k) != 0 {
                if !first {
                    f.write_str(";")?;
                }
                f.write_str(tag)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// A name as a lower-case ASCII email part (accents dropped).
struct Ascii<'s>(&'s str);

impl fmt::Display for Ascii<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::fmt::Write;
        for c in self.0.chars() {
            let c = match c {
                'à' | 'á' | 'â' | 'ä' => 'a',
                'è' | 'é' | 'ê' | 'ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' => 'i',
                'ò' | 'ó' | 'ô' | 'ö' => 'o',
                'ù' | 'ú' | 'û' | 'ü' => 'u',
                'ñ' => 'n',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => continue,
            };
            f.write_char(c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_format() {
        assert_eq!(customer_id(0), "C0000001");
        assert_eq!(prospect_id(41), "L0000042");
        assert_eq!(TagList(0b000101).to_string(), "music;tech");
        assert_eq!(Ascii("Müller").to_string(), "muller");
        assert_eq!(Ascii("Léa").to_string(), "lea");
        let mut p = Person::default();
        set_ids(&mut p, 'L', 6);
        assert_eq!((p.id.as_str(), p.ev.as_str()), ("L0000007", "L7"));
    }
}
