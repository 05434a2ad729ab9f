//! The mapping expression parser and evaluator: never panic; what parses prints back to an
//! expression that parses and prints the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisio_mapping::expr::{Context, Expression};
use provisio_mapping::Value;

struct Fuzz<'a>(&'a str);

impl Context for Fuzz<'_> {
    fn attribute(&self, name: &str) -> Value {
        match name.len() % 3 {
            0 => Value::Null,
            1 => Value::Str(self.0.to_string()),
            _ => Value::Multi(vec![Value::Str(self.0.to_string()), Value::Int(7)]),
        }
    }
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::UNIX_EPOCH
    }
    fn fill_random(&self, buf: &mut [u8]) {
        buf.fill(7);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(e) = Expression::parse(s) {
        let printed = e.to_string();
        let again = Expression::parse(&printed).expect("printed form parses");
        assert_eq!(again.to_string(), printed, "{s:?}");
        let _ = e.evaluate(&Fuzz(s));
    }
});
