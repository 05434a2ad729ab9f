//! The closed sets the engine stores as text, each with the spelling the database (and the
//! console's JSON) has always used: `as_str` on the way in, `FromStr` on the way out. A value
//! the database holds that is not in the set is an error when read, never a silent default.

use std::fmt;
use std::str::FromStr;

/// An unknown spelling of one of the sets below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub set: &'static str,
    pub value: String,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a valid {}", self.value, self.set)
    }
}

impl std::error::Error for Unknown {}

/// Reads a column holding one of the sets below.
pub fn column<T>(r: &super::Row, name: &str) -> sqlx::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    optional_column(r, name)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: name.to_string(),
        source: "NULL where a value is required".into(),
    })
}

/// Reads a nullable column holding one of the sets below (NULL: None).
pub fn optional_column<T>(r: &super::Row, name: &str) -> sqlx::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row;
    let text: Option<String> = r.try_get(name)?;
    text.map(|t| t.parse())
        .transpose()
        .map_err(|e: T::Err| sqlx::Error::ColumnDecode {
            index: name.to_string(),
            source: Box::new(e),
        })
}

/// A stored set: read back by its exact spelling only.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $set:literal { $($body:tt)+ }) => {
        crate::model::closed_set!($(#[$doc])* $name { $($body)+ });

        impl FromStr for $name {
            type Err = Unknown;

            fn from_str(s: &str) -> Result<Self, Unknown> {
                $name::from_spelling(s).ok_or_else(|| Unknown { set: $set, value: s.to_string() })
            }
        }
    };
}

vocabulary!(
    /// What a provisioning object is.
    ObjectType, "object type" {
        User = "user",
        Group = "group",
    }
);

vocabulary!(
    /// What a directory change (`dir_changes`) is about.
    ChangeKind, "change kind" {
        User = "user",
        Group = "group",
        /// `object_id` is the group, `related_id` the member.
        Membership = "membership",
        /// `object_id` is the application, `related_id` the user or group.
        Assignment = "assignment",
    }
);

vocabulary!(
    /// A connector data store link's state: what the target holds.
    LinkState, "link state" {
        Active = "active",
        /// Disabled in the target (soft delete); its groups no longer list it.
        Disabled = "disabled",
    }
);

vocabulary!(
    /// Which objects a cycle looks at.
    CycleKind, "cycle kind" {
        /// Every user and group in scope.
        Initial = "initial",
        /// What changed since the watermark, and escrows due.
        Incremental = "incremental",
    }
);

vocabulary!(
    /// How a cycle stands or ended.
    CycleState, "cycle state" {
        Running = "Running",
        Succeeded = "Succeeded",
        /// It ran to the end, but some objects failed (they are escrowed).
        EntryLevelErrors = "EntryLevelErrors",
        Failed = "Failed",
    }
);

vocabulary!(
    /// What a running cycle is doing, in the order it does it.
    CyclePhase, "cycle phase" {
        /// Users in scope (or changed): created, updated, disabled as needed.
        Users = "users",
        /// Manager references that could not be set while the users were processed.
        References = "references",
        /// Users and groups that left scope or the directory.
        Deprovisions = "deprovisions",
        /// Groups and their members.
        Groups = "groups",
    }
);

vocabulary!(
    /// A provisioning job's state.
    JobState, "job state" {
        Active = "Active",
        /// Provisioning status Off: no cycles run until it is On again.
        Paused = "Paused",
        Quarantine = "Quarantine",
        /// Quarantined for four weeks: cycles stop until an admin restarts the job.
        Disabled = "Disabled",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_back_as_itself() {
        for v in ObjectType::ALL {
            assert_eq!(v.as_str().parse::<ObjectType>(), Ok(*v));
        }
        for v in ChangeKind::ALL {
            assert_eq!(v.as_str().parse::<ChangeKind>(), Ok(*v));
        }
        for v in LinkState::ALL {
            assert_eq!(v.as_str().parse::<LinkState>(), Ok(*v));
        }
        for v in CycleKind::ALL {
            assert_eq!(v.as_str().parse::<CycleKind>(), Ok(*v));
        }
        for v in CycleState::ALL {
            assert_eq!(v.as_str().parse::<CycleState>(), Ok(*v));
        }
        for v in JobState::ALL {
            assert_eq!(v.as_str().parse::<JobState>(), Ok(*v));
        }
    }

    #[test]
    fn an_unknown_spelling_is_an_error() {
        let e = "User".parse::<ObjectType>().unwrap_err();
        assert_eq!(e.to_string(), "\"User\" is not a valid object type");
    }
}
