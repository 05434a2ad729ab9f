//! Text folding shared by the expression language (`NormalizeDiacritics`) and the console's
//! search, which finds "Fernández" when "fernandez" is typed.

/// Letters without their diacritics ("Zoë Ångström" -> "Zoe Angstrom"), including the letters
/// Unicode does not decompose (ø, ł, ß, æ...).
pub fn normalize_diacritics(s: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'þ' => out.push_str("th"),
            'Þ' => out.push_str("TH"),
            'ı' => out.push('i'),
            c => out.push(c),
        }
    }
    out.nfc().collect()
}

/// The form text is searched in: without diacritics, lower case, spaces collapsed.
pub fn search_fold(s: &str) -> String {
    normalize_diacritics(s)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `s` cut to at most `max` characters (at least 1), the last being "…" when it was cut: how
/// long values are shown (the expression tester's trace, its what-if).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.max(1) - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_spacing() {
        assert_eq!(search_fold("  Fernández  GARCÍA "), "fernandez garcia");
        assert_eq!(search_fold("Ørsted Łódź Straße"), "orsted lodz strasse");
        assert_eq!(
            search_fold("zoë.ÅNGSTRÖM@contoso.com"),
            "zoe.angstrom@contoso.com"
        );
    }

    proptest::proptest! {
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,40}") {
            let once = search_fold(&s);
            proptest::prop_assert_eq!(search_fold(&once), once);
        }
    }
}
