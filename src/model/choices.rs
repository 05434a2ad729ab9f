//! The closed sets of an application's provisioning configuration, each an enum with the
//! spelling the export format, the forms and the database have always used. Reading is forgiving
//! the way the console always was (surrounding spaces and letter case do not matter); an unknown
//! value is refused with the sentence an admin sees beside the field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A value outside one of the sets below; `Display` is the message for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAChoice(pub &'static str);

impl fmt::Display for NotAChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for NotAChoice {}

/// An enum over a closed set of spellings: `ALL`, `as_str`, `Display` and `from_spelling` (the
/// exact spelling). How text is read (exactly, or forgiving case and spaces) is each user's choice.
macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored, exported and posted spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value spelled exactly `s`.
            pub fn from_spelling(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
#[cfg_attr(not(feature = "ssr"), allow(unused_imports))] // storage (ssr) reads its own sets with it
pub(crate) use closed_set;

/// A configuration set: read forgiving case and surrounding spaces (as the console always did),
/// (de)serialised as its spelling, refused with `$message`.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident, $message:literal { $($body:tt)+ }) => {
        closed_set!($(#[$doc])* $name { $($body)+ });

        impl $name {
            /// What an admin is told when a value is not one of these.
            pub const EXPECTED: &'static str = $message;
        }

        impl FromStr for $name {
            type Err = NotAChoice;

            fn from_str(s: &str) -> Result<Self, NotAChoice> {
                let s = s.trim();
                $name::ALL
                    .iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .copied()
                    .ok_or(NotAChoice($message))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

#[cfg_attr(not(feature = "ssr"), allow(unused_imports))]
pub(crate) use choice;

choice!(
    /// How the application is provisioned: by hand (nothing runs) or by the engine.
    ProvisioningMode, "Provisioning Mode is Manual or Automatic" {
        Manual = "manual",
        Automatic = "automatic",
    }
);

choice!(
    /// Which directory objects are in scope.
    SyncScope, "Scope is assigned (Sync only assigned users and groups) or all" {
        /// Sync only assigned users and groups.
        Assigned = "assigned",
        /// Sync all users and groups.
        All = "all",
    }
);

choice!(
    /// The provisioning toggle.
    ProvisioningStatus, "Provisioning Status is On or Off" {
        On = "on",
        Off = "off",
    }
);

choice!(
    /// Where an attribute mapping's value comes from.
    MappingKind, "Mapping type is Direct, Constant, Expression or None" {
        Direct = "direct",
        Constant = "constant",
        Expression = "expression",
        None = "none",
    }
);

choice!(
    /// When an attribute mapping applies.
    ApplyOn, "Apply this mapping Always or Only during object creation" {
        Always = "always",
        /// Only during object creation.
        Create = "create",
    }
);

choice!(
    /// The directory objects a mapping reads.
    MappedObject, "the mapping is users or groups" {
        User = "user",
        Group = "group",
    }
);

impl MappingKind {
    /// The console's label: "Direct", "Constant", "Expression", "None".
    pub fn label(self) -> &'static str {
        match self {
            MappingKind::Direct => "Direct",
            MappingKind::Constant => "Constant",
            MappingKind::Expression => "Expression",
            MappingKind::None => "None",
        }
    }
}

impl MappedObject {
    /// "users" or "groups", as sentences name a mapping.
    pub fn plural(self) -> &'static str {
        match self {
            MappedObject::User => "users",
            MappedObject::Group => "groups",
        }
    }

    /// The SCIM resource type the mapping writes.
    pub fn resource_type(self) -> &'static str {
        match self {
            MappedObject::User => "User",
            MappedObject::Group => "Group",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_reading_forgives_case_and_spaces() {
        for m in ProvisioningMode::ALL {
            assert_eq!(m.as_str().parse::<ProvisioningMode>(), Ok(*m));
        }
        assert_eq!(" Automatic ".parse(), Ok(ProvisioningMode::Automatic));
        assert_eq!("ON".parse(), Ok(ProvisioningStatus::On));
        assert_eq!("sometimes".parse::<ApplyOn>(), Err(NotAChoice(ApplyOn::EXPECTED)));
    }

    #[test]
    fn json_keeps_the_stored_spelling_and_refuses_others_with_the_admins_message() {
        assert_eq!(serde_json::to_string(&SyncScope::All).unwrap(), "\"all\"");
        assert_eq!(
            serde_json::from_str::<SyncScope>("\"ALL\"").unwrap(),
            SyncScope::All
        );
        let e = serde_json::from_str::<MappingKind>("\"lookup\"").unwrap_err();
        assert!(e.to_string().starts_with(MappingKind::EXPECTED), "{e}");
    }
}
