//! Screening 100,000 generated people against the LUPEX protocol.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use rct_core::eligibility::{Person, Screener, Verdict};
use rct_core::protocol::{parse, ValueType};
use rct_core::rules::{Fact, Value};

fn people(n: usize) -> (rct_core::protocol::Protocol, Vec<Person>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../protocols/lupex.toml");
    let p = parse(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let day0 = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    for i in 0..n {
        let mut facts = BTreeMap::new();
        for f in &p.facts {
            let r = next();
            if r % 50 == 0 {
                continue; // 2 % missing
            }
            let v = match f.kind {
                ValueType::Boolean => Value::Bool(r % 10 == 0),
                ValueType::Date => Value::Date(day0 + chrono::Duration::days((r % 25_000) as i64)),
                ValueType::Number | ValueType::Integer => Value::Number((r % 20) as f64),
                ValueType::Choice => Value::Str(if r % 2 == 0 { "female" } else { "male" }.into()),
                ValueType::Text => Value::Str(String::new()),
            };
            let mut fact = Fact::of(v);
            fact.unit = f.unit.as_ref().map(|u| u.get_ref().clone());
            facts.insert(f.id.get_ref().clone(), fact);
        }
        out.push(Person {
            id: Some(i.to_string()),
            screening_date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            facts,
        });
    }
    (p, out)
}

fn bench(c: &mut Criterion) {
    let (p, people) = people(100_000);
    let mut g = c.benchmark_group("screening");
    g.sample_size(10);
    g.bench_function("lupex_100k_people", |b| {
        b.iter(|| {
            let screener = Screener::new(&p).unwrap();
            let mut eligible = 0usize;
            for person in &people {
                if screener.screen(person).unwrap().verdict == Verdict::Eligible {
                    eligible += 1;
                }
            }
            eligible
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
