//! What the engine adapts to in an application that bends the SCIM rules, learned by trying and
//! kept until the configuration changes: the compatibility profile the console and `app status`
//! show.

use super::choices::{choice, closed_set, NotAChoice};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

choice! {
    /// A form an application refused, and what the engine does instead.
    Adaptation, "an adaptation is one of ignores_filters, single_lookups, put_for_patch, members_on_create, members_by_value, members_by_user_name, drops_values, pages_without_count" {
        /// Its lookups answered with accounts that do not match the filter.
        IgnoresFilters = "ignores_filters",
        /// It refused a lookup of several values at once (`or`).
        SingleLookups = "single_lookups",
        /// It refused PATCH (501/405).
        PutForPatch = "put_for_patch",
        /// It refused a group created without members.
        MembersOnCreate = "members_on_create",
        /// It refused `members[value eq "id"]` paths.
        MembersByValue = "members_by_value",
        /// Its groups identify members by userName, not by id.
        MembersByUserName = "members_by_user_name",
        /// It took a write but silently dropped some of its values.
        DropsValues = "drops_values",
        /// It refused a page of a list with `count`.
        PagesWithoutCount = "pages_without_count",
    }
}

choice! {
    /// What the admin chose for one adaptation: learned by trying (the default), always used
    /// (an application known to need it, before any cycle), or never (the standard form only; a
    /// refusal fails the object instead).
    AdaptationChoice, "the choice is auto, always or never" {
        Auto = "auto",
        Always = "always",
        Never = "never",
    }
}

/// One adaptation the admin forced or forbade: part of the application's configuration,
/// exported and applied with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptationRule {
    pub adaptation: Adaptation,
    pub choice: AdaptationChoice,
}

#[allow(
    clippy::derivable_impls,
    reason = "choice! declares the enum with a fixed set of derives"
)]
impl Default for AdaptationChoice {
    fn default() -> Self {
        AdaptationChoice::Auto
    }
}

impl Adaptation {
    /// What Provisio does where an admin forbade the adaptation: the standard form only.
    pub fn standard(self) -> &'static str {
        match self {
            Adaptation::IgnoresFilters => {
                "Trusts the application's lookup filters (accounts that do not hold the value are still left out)"
            }
            Adaptation::SingleLookups => "Looks accounts up several values at a time",
            Adaptation::PutForPatch => "Writes changes with PATCH only",
            Adaptation::MembersOnCreate => "Creates groups without members",
            Adaptation::MembersByValue => "Removes group members by path, else with GET and PUT",
            Adaptation::MembersByUserName => "Names group members by their id",
            Adaptation::DropsValues => "Does not read accounts back after updates",
            Adaptation::PagesWithoutCount => "Reads lists with count only",
        }
    }

    /// What Provisio does for this application, in the admin's words.
    pub fn effect(self) -> &'static str {
        match self {
            Adaptation::IgnoresFilters => {
                "Matches accounts against a full read of the application: it ignores lookup filters"
            }
            Adaptation::SingleLookups => "Looks accounts up one at a time",
            Adaptation::PutForPatch => "Writes changes with GET and PUT instead of PATCH",
            Adaptation::MembersOnCreate => "Creates groups with their first members",
            Adaptation::MembersByValue => "Removes group members by value (Entra's form)",
            Adaptation::MembersByUserName => "Names group members by their userName instead of their id",
            Adaptation::DropsValues => "Reads accounts back after updates and reports values it did not keep",
            Adaptation::PagesWithoutCount => {
                "Reads lists in the pages the application chooses (without count)"
            }
        }
    }
}

/// One fact of an application's compatibility profile, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptationInfo {
    /// The stable name (`put_for_patch`).
    pub adaptation: String,
    /// What Provisio does.
    pub effect: String,
    /// What the application answered that taught it.
    pub reason: String,
    /// When it was learned (UTC); empty for an admin's choice of something never learned.
    pub since: String,
    /// `auto`: learned by trying; `always` / `never`: chosen by an admin (then `effect` says
    /// what is done).
    #[serde(default)]
    pub choice: AdaptationChoice,
}
