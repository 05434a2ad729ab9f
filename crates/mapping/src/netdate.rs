//! .NET custom date and time format strings (`yyyy-MM-ddTHH:mm:ss.fffffffK`), which Entra's
//! `FormatDateTime` and `CDate` speak, with the invariant culture: parsing with a format, formatting
//! with one, the default rendering of a date (`M/d/yyyy h:mm:ss tt`) and Active Directory's
//! FILETIME numbers (100 ns ticks since 1601).
//!
//! Every date is held in UTC; a parsed offset converts the time to UTC.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Ticks (100 ns) from 1601-01-01 to 1970-01-01.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A format specifier letter and how many times it repeats (`yyyy` = ('y', 4)).
    Spec(char, usize),
    Lit(String),
}

const SPECIFIERS: &str = "yMdhHmsfFtzK";

fn tokenize(format: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let lit = |out: &mut Vec<Tok>, s: &str| match out.last_mut() {
        Some(Tok::Lit(l)) => l.push_str(s),
        _ => out.push(Tok::Lit(s.to_string())),
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or_else(|| format!("the quoted text at position {} is not closed", i + 1))?;
                let s: String = chars[i + 1..i + 1 + end].iter().collect();
                lit(&mut out, &s);
                i += end + 2;
            }
            '\\' => {
                let next = chars.get(i + 1).ok_or("the format ends with a backslash")?;
                lit(&mut out, &next.to_string());
                i += 2;
            }
            '%' => i += 1,
            c if SPECIFIERS.contains(c) => {
                let n = chars[i..].iter().take_while(|&&x| x == c).count();
                if matches!(c, 'f' | 'F') && n > 7 {
                    return Err("at most 7 fraction digits (fffffff)".into());
                }
                out.push(Tok::Spec(c, n));
                i += n;
            }
            c => {
                lit(&mut out, &c.to_string());
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Checks a format string without using it.
pub fn check_format(format: &str) -> Result<(), String> {
    tokenize(format).map(|_| ())
}

/// Formats a UTC date with a .NET custom format string.
pub fn format(d: OffsetDateTime, format: &str) -> Result<String, String> {
    let d = d.to_offset(UtcOffset::UTC);
    let mut out = String::new();
    for tok in tokenize(format)? {
        match tok {
            Tok::Lit(s) => out.push_str(&s),
            Tok::Spec(c, n) => out.push_str(&spec(d, c, n)),
        }
    }
    Ok(out)
}

fn pad(v: i64, n: usize) -> String {
    format!("{v:0n$}")
}

fn spec(d: OffsetDateTime, c: char, n: usize) -> String {
    let hour12 = match d.hour() % 12 {
        0 => 12,
        h => h,
    };
    match (c, n) {
        ('y', 1) => (d.year() % 100).to_string(),
        ('y', 2) => pad((d.year() % 100) as i64, 2),
        ('y', n) => pad(d.year() as i64, n),
        ('M', 1) => (d.month() as u8).to_string(),
        ('M', 2) => pad(d.month() as u8 as i64, 2),
        ('M', 3) => MONTHS[d.month() as usize - 1][..3].to_string(),
        ('M', _) => MONTHS[d.month() as usize - 1].to_string(),
        ('d', 1) => d.day().to_string(),
        ('d', 2) => pad(d.day() as i64, 2),
        ('d', 3) => DAYS[d.weekday().number_days_from_monday() as usize][..3].to_string(),
        ('d', _) => DAYS[d.weekday().number_days_from_monday() as usize].to_string(),
        ('h', 1) => hour12.to_string(),
        ('h', _) => pad(hour12 as i64, 2),
        ('H', 1) => d.hour().to_string(),
        ('H', _) => pad(d.hour() as i64, 2),
        ('m', 1) => d.minute().to_string(),
        ('m', _) => pad(d.minute() as i64, 2),
        ('s', 1) => d.second().to_string(),
        ('s', _) => pad(d.second() as i64, 2),
        ('f', n) => pad(d.nanosecond() as i64 / 100, 7)[..n].to_string(),
        ('F', n) => pad(d.nanosecond() as i64 / 100, 7)[..n]
            .trim_end_matches('0')
            .to_string(),
        ('t', 1) => if d.hour() < 12 { "A" } else { "P" }.to_string(),
        ('t', _) => if d.hour() < 12 { "AM" } else { "PM" }.to_string(),
        ('z', 1) => "+0".to_string(),
        ('z', 2) => "+00".to_string(),
        ('z', _) => "+00:00".to_string(),
        ('K', _) => "Z".to_string(),
        _ => String::new(),
    }
}

/// `M/d/yyyy h:mm:ss tt`: how .NET (and so Entra) renders a date as a string.
pub fn default_string(d: OffsetDateTime) -> String {
    format(d, "M/d/yyyy h:mm:ss tt").unwrap_or_default()
}

#[derive(Default)]
struct Parts {
    year: Option<i32>,
    month: Option<u8>,
    day: Option<u8>,
    hour: u8,
    pm: Option<bool>,
    minute: u8,
    second: u8,
    nanos: u32,
    offset_secs: i32,
}

struct Input<'a> {
    s: &'a str,
    at: usize,
}

impl Input<'_> {
    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn digits(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let n = self
            .rest()
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min {
            return None;
        }
        let v = self.rest()[..n].parse().ok()?;
        self.at += n;
        Some((v, n))
    }

    fn name(&mut self, names: &[&str], short: bool) -> Option<usize> {
        let rest = self.rest().to_ascii_lowercase();
        let i = names.iter().position(|full| {
            let n = if short { &full[..3] } else { full };
            rest.starts_with(&n.to_ascii_lowercase())
        })?;
        self.at += if short { 3 } else { names[i].len() };
        Some(i)
    }

    fn offset(&mut self, minutes: bool, allow_z: bool) -> Option<i32> {
        let rest = self.rest();
        if allow_z && rest.starts_with('Z') {
            self.at += 1;
            return Some(0);
        }
        let sign = match rest.chars().next()? {
            '+' => 1,
            '-' => -1,
            _ => return None,
        };
        self.at += 1;
        let (h, _) = self.digits(1, 2)?;
        let mut secs = h as i32 * 3600;
        if minutes {
            if self.rest().starts_with(':') {
                self.at += 1;
            }
            let (m, _) = self.digits(2, 2)?;
            secs += m as i32 * 60;
        }
        Some(sign * secs)
    }
}

/// Parses `input` with a .NET custom format string, case-insensitively for names and AM/PM. A
/// time without an offset is UTC.
pub fn parse(input: &str, format: &str) -> Result<OffsetDateTime, String> {
    let toks = tokenize(format)?;
    let mut inp = Input {
        s: input.trim(),
        at: 0,
    };
    let mut p = Parts::default();
    let mismatch = || format!("{input:?} does not have the format {format:?}");
    for (i, tok) in toks.iter().enumerate() {
        let ok = match tok {
            Tok::Lit(l) => {
                let ok = inp.rest().starts_with(l.as_str());
                inp.at += if ok { l.len() } else { 0 };
                ok
            }
            Tok::Spec(c, n) => {
                let (min, max) = match n {
                    1 => (1, 2),
                    n => (*n, *n),
                };
                match (c, n) {
                    ('y', 1 | 2) => inp.digits(2, 2).map(|(v, _)| {
                        let v = v as i32;
                        p.year = Some(if v < 50 { 2000 + v } else { 1900 + v });
                    }),
                    ('y', n) => inp
                        .digits(*n.min(&4), (*n).max(4))
                        .map(|(v, _)| p.year = Some(v as i32)),
                    ('M', 1 | 2) => inp.digits(min, max).map(|(v, _)| p.month = Some(v as u8)),
                    ('M', n) => inp.name(&MONTHS, *n == 3).map(|m| p.month = Some(m as u8 + 1)),
                    ('d', 1 | 2) => inp.digits(min, max).map(|(v, _)| p.day = Some(v as u8)),
                    ('d', n) => inp.name(&DAYS, *n == 3).map(|_| ()),
                    ('h' | 'H', _) => inp.digits(min, max).map(|(v, _)| p.hour = v as u8),
                    ('m', _) => inp.digits(min, max).map(|(v, _)| p.minute = v as u8),
                    ('s', _) => inp.digits(min, max).map(|(v, _)| p.second = v as u8),
                    ('f' | 'F', n) => {
                        let min = if *c == 'f' { *n } else { 0 };
                        if min == 0 && !inp.rest().starts_with(|c: char| c.is_ascii_digit()) {
                            Some(())
                        } else {
                            inp.digits(min.max(1), *n).map(|(v, len)| {
                                p.nanos = v * 10u32.pow(9 - len as u32);
                            })
                        }
                    }
                    ('t', 1) => {
                        let r = inp.rest().to_ascii_uppercase();
                        let pm = r.starts_with('P');
                        (r.starts_with('A') || pm).then(|| {
                            inp.at += 1;
                            p.pm = Some(pm);
                        })
                    }
                    ('t', _) => {
                        let r = inp.rest().to_ascii_uppercase();
                        let pm = r.starts_with("PM");
                        (r.starts_with("AM") || pm).then(|| {
                            inp.at += 2;
                            p.pm = Some(pm);
                        })
                    }
                    ('z', n) => inp.offset(*n >= 3, false).map(|o| p.offset_secs = o),
                    ('K', _) => {
                        // K may be empty: then the time is UTC.
                        if i + 1 == toks.len() && inp.rest().is_empty() {
                            Some(())
                        } else {
                            inp.offset(true, true).map(|o| p.offset_secs = o)
                        }
                    }
                    _ => None,
                }
                .is_some()
            }
        };
        if !ok {
            return Err(mismatch());
        }
    }
    if !inp.rest().is_empty() {
        return Err(mismatch());
    }
    let year = p.year.unwrap_or(1);
    let month = Month::try_from(p.month.unwrap_or(1)).map_err(|_| mismatch())?;
    let date = Date::from_calendar_date(year, month, p.day.unwrap_or(1)).map_err(|_| mismatch())?;
    let hour = match p.pm {
        Some(_) if p.hour > 12 || p.hour == 0 => return Err(mismatch()),
        Some(true) if p.hour < 12 => p.hour + 12,
        Some(false) if p.hour == 12 => 0,
        _ => p.hour,
    };
    let t = Time::from_hms_nano(hour, p.minute, p.second, p.nanos).map_err(|_| mismatch())?;
    let offset = UtcOffset::from_whole_seconds(p.offset_secs).map_err(|_| mismatch())?;
    Ok(PrimitiveDateTime::new(date, t)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC))
}

/// The formats `CDate` understands, most specific first.
const CDATE_FORMATS: &[&str] = &[
    "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    "yyyy-MM-ddTHH:mm:ssK",
    "yyyy-MM-ddTHH:mmK",
    "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    "yyyy-MM-dd HH:mm:ssK",
    "yyyy-MM-ddK",
    "M/d/yyyy h:mm:ss tt",
    "M/d/yyyy H:mm:ss",
    "M/d/yyyy",
    "yyyyMMddHHmmss.FK",
    "yyyyMMddHHmmssK",
    "d MMMM yyyy",
    "MMMM d, yyyy",
];

/// Reads a date the way `CDate` does: ISO 8601 with or without time and offset, the .NET default
/// rendering, and Active Directory's generalized time (`20150123105347.0Z`).
pub fn parse_any(input: &str) -> Option<OffsetDateTime> {
    CDATE_FORMATS.iter().find_map(|f| parse(input, f).ok())
}

/// Active Directory's FILETIME (100 ns ticks since 1601-01-01 UTC) as a date.
pub fn from_filetime(ticks: i64) -> Option<OffsetDateTime> {
    let since_unix = ticks.checked_sub(FILETIME_UNIX_EPOCH)? as i128 * 100;
    OffsetDateTime::from_unix_timestamp_nanos(since_unix).ok()
}

/// A date as Active Directory's FILETIME.
pub fn to_filetime(d: OffsetDateTime) -> i64 {
    (d.unix_timestamp_nanos() / 100) as i64 + FILETIME_UNIX_EPOCH
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_dotnet() {
        let d = datetime!(2015-01-23 10:53:47.1234567 UTC);
        assert_eq!(format(d, "yyyy-MM-dd").unwrap(), "2015-01-23");
        assert_eq!(
            format(d, "yyyy-MM-ddTHH:mm:ss.fffffffK").unwrap(),
            "2015-01-23T10:53:47.1234567Z"
        );
        assert_eq!(format(d, "dddd, MMMM d, yy").unwrap(), "Friday, January 23, 15");
        assert_eq!(format(d, "h:m tt 'at' zzz").unwrap(), "10:53 AM at +00:00");
        assert_eq!(format(d, "\\y\\e\\a\\r yyyy").unwrap(), "year 2015");
        assert_eq!(
            default_string(datetime!(2012-03-19 07:00 UTC)),
            "3/19/2012 7:00:00 AM"
        );
        assert_eq!(
            default_string(datetime!(2012-03-19 00:05 UTC)),
            "3/19/2012 12:05:00 AM"
        );
        assert!(format(d, "'open").is_err());
    }

    #[test]
    fn parses_with_a_format() {
        assert_eq!(
            parse("20150123105347.1Z", "yyyyMMddHHmmss.fZ").unwrap(),
            datetime!(2015-01-23 10:53:47.1 UTC)
        );
        assert_eq!(
            parse("3/19/2012 7:00:00 PM", "M/d/yyyy h:mm:ss tt").unwrap(),
            datetime!(2012-03-19 19:00 UTC)
        );
        assert_eq!(
            parse("2012-03-16-07:00", "yyyy-MM-ddzzz").unwrap(),
            datetime!(2012-03-16 07:00 UTC)
        );
        assert!(parse("2012-13-01", "yyyy-MM-dd").is_err());
        assert!(parse("2012-01-01x", "yyyy-MM-dd").is_err());
    }

    #[test]
    fn reads_common_dates() {
        for (s, d) in [
            ("2012-03-16-07:00", datetime!(2012-03-16 07:00 UTC)),
            ("2021-08-11T13:54:24Z", datetime!(2021-08-11 13:54:24 UTC)),
            (
                "2021-08-11T13:54:24.5+02:00",
                datetime!(2021-08-11 11:54:24.5 UTC),
            ),
            ("2021-08-11", datetime!(2021-08-11 00:00 UTC)),
            ("8/11/2021 1:54:24 PM", datetime!(2021-08-11 13:54:24 UTC)),
            ("20150123105347.0Z", datetime!(2015-01-23 10:53:47 UTC)),
        ] {
            assert_eq!(parse_any(s), Some(d), "{s}");
        }
        assert_eq!(parse_any("yesterday"), None);
    }

    #[test]
    fn filetime_round_trip() {
        let d = from_filetime(129_699_324_000_000_000).unwrap();
        assert_eq!(d, datetime!(2012-01-01 23:00 UTC));
        assert_eq!(to_filetime(d), 129_699_324_000_000_000);
    }
}
