//! A realistic made-up directory for demos, tests and benchmarks: names with diacritics,
//! departments with a management chain, titles, offices, some disabled users, department and
//! project groups, and department groups nested in an "All departments" group. Deterministic for a
//! given seed, and written through the import path, so running it twice changes nothing.

use super::import::{self, MemberRow, Plan, Rows, Summary, UserRow};
use super::validate::UserChanges;
use super::DirError;
use crate::db::Pool;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIRST: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Amélie",
    "Ana",
    "Bianca",
    "Björn",
    "Camille",
    "Chloé",
    "Christie",
    "Dąbrowa",
    "Diego",
    "Elif",
    "Émile",
    "Eşref",
    "Fatima",
    "François",
    "Grady",
    "Håkon",
    "Henrietta",
    "Ingrid",
    "Isaiah",
    "Jérôme",
    "Johanna",
    "Joni",
    "Jürgen",
    "Karolína",
    "Lee",
    "Lidia",
    "Łukasz",
    "Lynne",
    "Malin",
    "Márton",
    "Megan",
    "Miriam",
    "Nestor",
    "Noémie",
    "Oğuz",
    "Patti",
    "Pradeep",
    "Renée",
    "Søren",
    "Sinéad",
    "Tomáš",
    "Zoë",
];

const LAST: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Dubois",
    "Gonçalves",
    "Rossi",
    "Lindqvist",
    "Moreau",
    "Lefèvre",
    "Cline",
    "Nowak",
    "García",
    "Yılmaz",
    "Bernard",
    "Öztürk",
    "Haddad",
    "Müller",
    "Smith",
    "Ødegaard",
    "Gruber",
    "Tanaka",
    "Wright",
    "Fernández",
    "Schäfer",
    "Nováková",
    "Pfeiffer",
    "Kowalska",
    "Zieliński",
    "Sánchez",
    "Holm",
    "Kovács",
    "Bowen",
    "Jäger",
    "Brown",
    "Fitzgerald",
    "Patel",
    "Åberg",
    "Ó Súilleabháin",
    "Dvořák",
    "Kim",
];

/// (department, titles from the head down).
const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "Engineering",
        &[
            "VP of Engineering",
            "Engineering Manager",
            "Senior Software Engineer",
            "Software Engineer",
        ],
    ),
    (
        "Sales",
        &[
            "VP of Sales",
            "Sales Director",
            "Account Executive",
            "Sales Representative",
        ],
    ),
    (
        "Marketing",
        &[
            "CMO",
            "Marketing Manager",
            "Content Strategist",
            "Marketing Specialist",
        ],
    ),
    (
        "Finance",
        &["CFO", "Finance Manager", "Senior Accountant", "Accountant"],
    ),
    (
        "Human Resources",
        &["CHRO", "HR Manager", "HR Business Partner", "Recruiter"],
    ),
    (
        "Operations",
        &["COO", "Operations Manager", "Operations Analyst", "Coordinator"],
    ),
    (
        "Legal",
        &["General Counsel", "Legal Manager", "Senior Counsel", "Paralegal"],
    ),
    (
        "Support",
        &[
            "VP of Support",
            "Support Manager",
            "Support Engineer",
            "Support Specialist",
        ],
    ),
    (
        "Product",
        &[
            "CPO",
            "Group Product Manager",
            "Product Manager",
            "Product Analyst",
        ],
    ),
    (
        "IT",
        &["CIO", "IT Manager", "Systems Administrator", "IT Technician"],
    ),
];

/// (office, street, city, state, postal code, country, phone prefix, language).
type Office = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const OFFICES: &[Office] = &[
    (
        "Redmond 18/2111",
        "One Microsoft Way",
        "Redmond",
        "WA",
        "98052",
        "United States",
        "+1 425 555",
        "en-US",
    ),
    (
        "Paris Opéra",
        "12 Rue de la Paix",
        "Paris",
        "Île-de-France",
        "75002",
        "France",
        "+33 1 55",
        "fr-FR",
    ),
    (
        "München Süd",
        "Lindwurmstraße 88",
        "München",
        "Bayern",
        "80337",
        "Germany",
        "+49 89 555",
        "de-DE",
    ),
    (
        "São Paulo",
        "Avenida Paulista 1578",
        "São Paulo",
        "SP",
        "01310-200",
        "Brazil",
        "+55 11 555",
        "pt-BR",
    ),
    (
        "İstanbul",
        "Büyükdere Caddesi 185",
        "İstanbul",
        "İstanbul",
        "34394",
        "Türkiye",
        "+90 212 555",
        "tr-TR",
    ),
    (
        "Kraków",
        "ulica Floriańska 3",
        "Kraków",
        "Małopolskie",
        "31-019",
        "Poland",
        "+48 12 555",
        "pl-PL",
    ),
    (
        "Tokyo",
        "1-1 Marunouchi",
        "Chiyoda-ku",
        "Tokyo",
        "100-0005",
        "Japan",
        "+81 3 555",
        "ja-JP",
    ),
    (
        "Oslo",
        "Karl Johans gate 22",
        "Oslo",
        "Oslo",
        "0159",
        "Norway",
        "+47 22 55",
        "nb-NO",
    ),
];

const PROJECTS: &[&str] = &[
    "Aurora", "Borealis", "Cascade", "Delta", "Ember", "Fjord", "Glacier", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Polaris", "Quartz", "Riviera", "Sierra", "Tundra",
];

pub const ALL_DEPARTMENTS: &str = "All departments";

/// Letters with diacritics to their plain form, for user principal names.
fn ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let plain = match c {
            'á' | 'à' | 'â' | 'ä' | 'å' | 'ą' | 'ã' => "a",
            'Á' | 'Å' | 'Ä' => "a",
            'ç' | 'č' | 'ć' => "c",
            'é' | 'è' | 'ê' | 'ë' | 'ę' => "e",
            'É' => "e",
            'ğ' => "g",
            'í' | 'ï' | 'î' | 'ı' => "i",
            'İ' => "i",
            'ł' | 'Ł' => "l",
            'ñ' | 'ń' => "n",
            'ó' | 'ö' | 'ø' | 'ô' | 'õ' | 'Ó' | 'Ö' | 'Ø' => "o",
            'ř' => "r",
            'š' | 'ş' | 'ś' => "s",
            'ú' | 'ü' | 'ů' => "u",
            'ý' => "y",
            'ž' | 'ż' | 'ź' => "z",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => continue,
        };
        out.push_str(plain);
    }
    out
}

/// Group names for `count` groups: departments first, then "All departments", then projects.
pub fn group_names(count: usize) -> Vec<String> {
    let mut names: Vec<String> = DEPARTMENTS.iter().map(|(d, _)| d.to_string()).collect();
    names.push(ALL_DEPARTMENTS.to_string());
    let mut n = 0;
    while names.len() < count {
        let p = PROJECTS[n % PROJECTS.len()];
        let round = n / PROJECTS.len();
        names.push(if round == 0 {
            format!("Project {p}")
        } else {
            format!("Project {p} {}", round + 1)
        });
        n += 1;
    }
    names.truncate(count);
    names
}

/// The rows of a demo directory.
pub fn users(count: usize, groups: usize, domain: &str, seed: u64) -> Vec<UserRow> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names = group_names(groups);
    let projects: Vec<&String> = names.iter().filter(|n| n.starts_with("Project ")).collect();
    let mut taken = std::collections::HashSet::new();
    // Users of each department in order: index k reports to index (k - 1) / 8 of that list.
    let mut by_dept: Vec<Vec<String>> = vec![Vec::new(); DEPARTMENTS.len()];
    let mut rows = Vec::with_capacity(count);
    for i in 0..count {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let base = format!("{}.{}", ascii(first), ascii(last));
        let mut alias = base.clone();
        let mut n = 1;
        while !taken.insert(alias.clone()) {
            n += 1;
            alias = format!("{base}{n}");
        }
        let upn = format!("{alias}@{domain}");
        let d = i % DEPARTMENTS.len();
        let (dept, titles) = DEPARTMENTS[d];
        let k = by_dept[d].len();
        let level = match k {
            0 => 0,
            1..=8 => 1,
            9..=72 => 2,
            _ => 3,
        };
        let manager = (k > 0).then(|| by_dept[d][(k - 1) / 8].clone());
        by_dept[d].push(upn.clone());
        let office = OFFICES[rng.gen_range(0..OFFICES.len())];
        let mut user_groups = Vec::new();
        if names.iter().any(|g| g == dept) {
            user_groups.push(dept.to_string());
        }
        if !projects.is_empty() && rng.gen_bool(0.6) {
            user_groups.push(projects[rng.gen_range(0..projects.len())].clone());
        }
        let attrs: Vec<(&'static str, Option<String>)> = vec![
            ("givenName", Some(first.to_string())),
            ("surname", Some(last.to_string())),
            ("mailNickname", Some(alias.clone())),
            ("jobTitle", Some(titles[level].to_string())),
            ("department", Some(dept.to_string())),
            ("companyName", Some("Contoso".to_string())),
            ("employeeId", Some(format!("{:06}", 100_000 + i))),
            ("officeLocation", Some(office.0.to_string())),
            ("streetAddress", Some(office.1.to_string())),
            ("city", Some(office.2.to_string())),
            ("state", Some(office.3.to_string())),
            ("postalCode", Some(office.4.to_string())),
            ("country", Some(office.5.to_string())),
            (
                "telephoneNumber",
                Some(format!("{} {:04}", office.6, rng.gen_range(0..10_000))),
            ),
            (
                "mobile",
                rng.gen_bool(0.7)
                    .then(|| format!("{} {:04}", office.6, rng.gen_range(0..10_000))),
            ),
            ("preferredLanguage", Some(office.7.to_string())),
            (
                "extensionAttribute1",
                Some(format!("CC-{}", 1000 + d * 10 + level)),
            ),
        ];
        rows.push(UserRow {
            line: i + 1,
            changes: UserChanges {
                upn: Some(upn.clone()),
                display_name: Some(format!("{first} {last}")),
                mail: Some(Some(upn)),
                manager: Some(manager),
                // About one in thirty accounts is disabled (leavers, long absences).
                enabled: Some(rng.gen_range(0..30) != 0),
                attrs,
            },
            groups: user_groups,
        });
    }
    rows
}

/// Builds (or brings back to its seeded state) a demo directory of `users` users and `groups` groups.
pub async fn run(
    pool: &Pool,
    users: usize,
    groups: usize,
    domain: &str,
    seed: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, DirError> {
    let rows = self::users(users, groups, domain, seed);
    let names = group_names(groups);
    let mut nested: Vec<MemberRow> = Vec::new();
    if names.iter().any(|n| n == ALL_DEPARTMENTS) {
        for (d, _) in DEPARTMENTS {
            if names.iter().any(|n| n == d) {
                nested.push(MemberRow {
                    line: 0,
                    group: ALL_DEPARTMENTS.to_string(),
                    member: d.to_string(),
                    member_type: "group",
                });
            }
        }
    }
    // Groups that no row names yet still belong to the directory asked for.
    for n in &names {
        if !nested.iter().any(|m| &m.group == n || &m.member == n)
            && !rows.iter().any(|r| r.groups.contains(n))
        {
            nested.push(MemberRow {
                line: 0,
                group: n.clone(),
                member: String::new(),
                member_type: "none",
            });
        }
    }
    let fail = |e: import::Failed| DirError::Conflict(e.to_string());
    let plan = Plan {
        columns: Vec::new(),
        rows: Rows::Users(rows),
        creates: 0,
        updates: 0,
        new_groups: 0,
        memberships: 0,
        errors: Vec::new(),
    };
    let (empty, members): (Vec<MemberRow>, Vec<MemberRow>) =
        nested.into_iter().partition(|m| m.member_type == "none");
    let empty: Vec<String> = empty.into_iter().map(|m| m.group).collect();
    let run = import::Run::start(
        pool,
        import::Kind::Users,
        "demo data",
        import::Format::Csv,
        "demo",
    )
    .await?;
    let outcome = async {
        let mut summary = import::apply(&run, pool, &plan, progress).await?;
        summary.groups_created += import::ensure_groups(&run, pool, &empty).await?;
        let plan = Plan {
            rows: Rows::Memberships(members),
            ..plan
        };
        let s2 = import::apply(&run, pool, &plan, &|_, _| {}).await?;
        summary.groups_created += s2.groups_created;
        summary.memberships_added += s2.memberships_added;
        Ok::<_, import::Failed>(summary)
    }
    .await;
    let text = match &outcome {
        Ok(s) => format!("Imported: {s}."),
        Err(e) => format!("Nothing was imported. {e}"),
    };
    run.finish(pool, outcome.is_ok(), &text).await;
    outcome.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unique_and_chained() {
        let a = users(500, 30, "contoso.com", 7);
        assert_eq!(a, users(500, 30, "contoso.com", 7));
        let upns: std::collections::HashSet<_> = a.iter().map(|r| r.changes.upn.clone().unwrap()).collect();
        assert_eq!(upns.len(), 500);
        for r in &a {
            let upn = r.changes.upn.as_deref().unwrap();
            assert!(super::super::validate::upn(upn).is_ok(), "{upn}");
        }
        // Department heads have no manager; everyone else reports to someone listed before them.
        assert_eq!(a[0].changes.manager, Some(None));
        let managers = a
            .iter()
            .filter(|r| matches!(r.changes.manager, Some(Some(_))))
            .count();
        assert_eq!(managers, 500 - DEPARTMENTS.len());
        assert!(a.iter().any(|r| r.changes.enabled == Some(false)));
        assert!(a
            .iter()
            .any(|r| r.changes.display_name.as_deref().is_some_and(|n| !n.is_ascii())));
    }

    #[test]
    fn group_names_fill_the_count() {
        assert_eq!(group_names(3), ["Engineering", "Sales", "Marketing"]);
        let many = group_names(50);
        assert_eq!(many.len(), 50);
        assert_eq!(many.iter().collect::<std::collections::HashSet<_>>().len(), 50);
        assert_eq!(ascii("Ó Súilleabháin"), "osuilleabhain");
    }
}
