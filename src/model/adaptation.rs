//! What the engine adapts to in an application that bends the SCIM rules, learned by trying and
//! kept until the configuration changes: the compatibility profile the console and `app status`
//! show.

use super::choices::closed_set;
use serde::{Deserialize, Serialize};

closed_set! {
    /// A form an application refused, and what the engine does instead.
    Adaptation {
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
        /// It took a write but silently dropped some of its values.
        DropsValues = "drops_values",
        /// It refused a page of a list with `count`.
        PagesWithoutCount = "pages_without_count",
    }
}

impl Adaptation {
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
    /// When it was learned (UTC).
    pub since: String,
}
