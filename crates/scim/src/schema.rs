//! The resource schemas this server supports (RFC 7643 sections 4 and 8.7): core User, the
//! EnterpriseUser extension and Group. The definitions drive everything attribute-specific:
//! case-insensitive attribute names, caseExact comparisons, string-boolean coercion, mutability,
//! what is returned, and the `/Schemas` document itself, so what we advertise is what we do.

use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Schema URNs that clients send and that mean nothing to us: Entra's non-standard group schema
/// and the enterprise URN with a missing colon that older Entra payloads carry.
pub const IGNORED_SCHEMAS: &[&str] = &[
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
];
/// The typo'd enterprise URN; an object under this key is read as the enterprise extension.
pub const ENTERPRISE_TYPO: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `server` uniqueness (userName); everything else is `none`.
    pub unique: bool,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const STR: Attr = Attr {
    name: "",
    ty: AttrType::String,
    multi: false,
    required: false,
    case_exact: false,
    mutability: Mutability::ReadWrite,
    returned: Returned::Default,
    unique: false,
    canonical: &[],
    reference_types: &[],
    sub: &[],
    description: "",
};

const fn string(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        description,
        ..STR
    }
}

const fn boolean(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        description,
        ty: AttrType::Boolean,
        ..STR
    }
}

const fn external_ref(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        description,
        ty: AttrType::Reference,
        case_exact: true,
        reference_types: &["external"],
        ..STR
    }
}

/// A multi-valued complex attribute with the usual value/display/type/primary sub-attributes.
const fn multi(name: &'static str, description: &'static str, sub: &'static [Attr]) -> Attr {
    Attr {
        name,
        description,
        ty: AttrType::Complex,
        multi: true,
        sub,
        ..STR
    }
}

const DISPLAY: Attr = string(
    "display",
    "A human-readable name, primarily used for display purposes.",
);
const PRIMARY: Attr = boolean(
    "primary",
    "Whether this is the primary value; at most one value is primary.",
);

const NAME_SUB: &[Attr] = &[
    string("formatted", "The full name, formatted for display."),
    string(
        "familyName",
        "The family name (last name in most Western languages).",
    ),
    string(
        "givenName",
        "The given name (first name in most Western languages).",
    ),
    string("middleName", "The middle name(s)."),
    string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const EMAIL_SUB: &[Attr] = &[
    string("value", "The email address, canonicalized according to RFC 5321."),
    DISPLAY,
    Attr {
        canonical: &["work", "home", "other"],
        ..string("type", "A label indicating the email's function.")
    },
    PRIMARY,
];

const PHONE_SUB: &[Attr] = &[
    string("value", "The phone number, canonicalized according to RFC 3966."),
    DISPLAY,
    Attr {
        canonical: &["work", "home", "mobile", "fax", "pager", "other"],
        ..string("type", "A label indicating the phone number's function.")
    },
    PRIMARY,
];

const IM_SUB: &[Attr] = &[
    string("value", "The instant messaging address."),
    DISPLAY,
    Attr {
        canonical: &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
        ..string("type", "A label indicating the instant messaging service.")
    },
    PRIMARY,
];

const PHOTO_SUB: &[Attr] = &[
    external_ref("value", "The URL of a photo of the user."),
    DISPLAY,
    Attr {
        canonical: &["photo", "thumbnail"],
        ..string("type", "A label indicating the photo's function.")
    },
    PRIMARY,
];

const ADDRESS_SUB: &[Attr] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The street address."),
    string("locality", "The city or locality."),
    string("region", "The state or region."),
    string("postalCode", "The zip code or postal code."),
    string("country", "The country name component."),
    Attr {
        canonical: &["work", "home", "other"],
        ..string("type", "A label indicating the address's function.")
    },
    PRIMARY,
];

const GENERIC_SUB: &[Attr] = &[
    string("value", "The value."),
    DISPLAY,
    string("type", "A label indicating the value's function."),
    PRIMARY,
];

const CERT_SUB: &[Attr] = &[
    Attr {
        ty: AttrType::Binary,
        case_exact: true,
        ..string("value", "The DER-encoded X.509 certificate, base64.")
    },
    DISPLAY,
    string("type", "A label indicating the certificate's function."),
    PRIMARY,
];

const READ_ONLY: Attr = Attr {
    mutability: Mutability::ReadOnly,
    ..STR
};

const USER_GROUPS_SUB: &[Attr] = &[
    Attr {
        name: "value",
        description: "The identifier of the group.",
        ..READ_ONLY
    },
    Attr {
        name: "$ref",
        description: "The URI of the group.",
        ty: AttrType::Reference,
        case_exact: true,
        reference_types: &["User", "Group"],
        ..READ_ONLY
    },
    Attr {
        name: "display",
        description: "The group's displayName.",
        ..READ_ONLY
    },
    Attr {
        name: "type",
        description: "How the membership was derived: direct or indirect.",
        canonical: &["direct", "indirect"],
        ..READ_ONLY
    },
];

pub const USER_ATTRS: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..string(
            "userName",
            "Unique identifier for the user, typically used to sign in. Unique per account, case-insensitively.",
        )
    },
    Attr {
        ty: AttrType::Complex,
        sub: NAME_SUB,
        ..string("name", "The components of the user's real name.")
    },
    string("displayName", "The name of the user, suitable for display."),
    string("nickName", "The casual way to address the user."),
    external_ref("profileUrl", "A URI of an online profile of the user."),
    string("title", "The user's title, such as 'Vice President'."),
    string("userType", "The relationship between the organization and the user."),
    string("preferredLanguage", "The user's preferred written or spoken language."),
    string("locale", "The user's default location for localization."),
    string("timezone", "The user's time zone in IANA format."),
    boolean("active", "The user's administrative status."),
    Attr {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        ..string(
            "password",
            "Accepted on create and replace and never returned; Provisio users sign in through single sign-on, so it is not stored.",
        )
    },
    multi("emails", "Email addresses of the user.", EMAIL_SUB),
    multi("phoneNumbers", "Phone numbers of the user.", PHONE_SUB),
    multi("ims", "Instant messaging addresses of the user.", IM_SUB),
    multi("photos", "URLs of photos of the user.", PHOTO_SUB),
    multi("addresses", "Physical mailing addresses of the user.", ADDRESS_SUB),
    Attr {
        mutability: Mutability::ReadOnly,
        ..multi(
            "groups",
            "The groups the user belongs to, computed from the groups' members.",
            USER_GROUPS_SUB,
        )
    },
    multi("entitlements", "Entitlements of the user.", GENERIC_SUB),
    multi("roles", "Roles of the user.", GENERIC_SUB),
    multi("x509Certificates", "Certificates of the user.", CERT_SUB),
];

const MANAGER_SUB: &[Attr] = &[
    Attr {
        case_exact: true,
        ..string("value", "The id of the user's manager.")
    },
    Attr {
        name: "$ref",
        description: "The URI of the manager.",
        ty: AttrType::Reference,
        case_exact: true,
        reference_types: &["User"],
        ..STR
    },
    Attr {
        name: "displayName",
        description: "The manager's displayName.",
        ..READ_ONLY
    },
];

pub const ENTERPRISE_ATTRS: &[Attr] = &[
    string(
        "employeeNumber",
        "A string identifier assigned by the organization.",
    ),
    string("costCenter", "The name of a cost center."),
    string("organization", "The name of an organization."),
    string("division", "The name of a division."),
    string("department", "The name of a department."),
    Attr {
        ty: AttrType::Complex,
        sub: MANAGER_SUB,
        ..string("manager", "The user's manager.")
    },
];

const MEMBERS_SUB: &[Attr] = &[
    Attr {
        name: "value",
        description: "The id of a member (a User or a Group of this account).",
        mutability: Mutability::Immutable,
        case_exact: true,
        ..STR
    },
    Attr {
        name: "$ref",
        description: "The URI of the member.",
        ty: AttrType::Reference,
        case_exact: true,
        mutability: Mutability::Immutable,
        reference_types: &["User", "Group"],
        ..STR
    },
    Attr {
        name: "display",
        description: "A name for the member, as the client sent it.",
        ..STR
    },
    Attr {
        name: "type",
        description: "The type of the member.",
        mutability: Mutability::Immutable,
        canonical: &["User", "Group"],
        ..STR
    },
];

pub const GROUP_ATTRS: &[Attr] = &[
    Attr {
        required: true,
        ..string("displayName", "A human-readable name for the group.")
    },
    multi("members", "The members of the group.", MEMBERS_SUB),
];

/// `id`, `externalId` and `meta` (RFC 7643 section 3.1), shared by every resource.
pub const ID: Attr = Attr {
    name: "id",
    description: "Unique identifier assigned by the service provider.",
    case_exact: true,
    mutability: Mutability::ReadOnly,
    returned: Returned::Always,
    ..STR
};
pub const EXTERNAL_ID: Attr = Attr {
    name: "externalId",
    description: "The identifier the provisioning client assigned.",
    case_exact: true,
    ..STR
};
const META_SUB: &[Attr] = &[
    Attr {
        name: "resourceType",
        case_exact: true,
        ..READ_ONLY
    },
    Attr {
        name: "created",
        ty: AttrType::DateTime,
        ..READ_ONLY
    },
    Attr {
        name: "lastModified",
        ty: AttrType::DateTime,
        ..READ_ONLY
    },
    Attr {
        name: "location",
        ty: AttrType::Reference,
        case_exact: true,
        ..READ_ONLY
    },
    Attr {
        name: "version",
        case_exact: true,
        ..READ_ONLY
    },
];
pub const META: Attr = Attr {
    name: "meta",
    ty: AttrType::Complex,
    sub: META_SUB,
    mutability: Mutability::ReadOnly,
    ..STR
};
const COMMON: &[Attr] = &[ID, EXTERNAL_ID, META];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    pub fn core_urn(self) -> &'static str {
        match self {
            Kind::User => USER,
            Kind::Group => GROUP,
        }
    }

    pub fn core_attrs(self) -> &'static [Attr] {
        match self {
            Kind::User => USER_ATTRS,
            Kind::Group => GROUP_ATTRS,
        }
    }

    /// The schema extensions this resource type supports.
    pub fn extensions(self) -> &'static [(&'static str, &'static [Attr])] {
        match self {
            Kind::User => &[(ENTERPRISE, ENTERPRISE_ATTRS)],
            Kind::Group => &[],
        }
    }
}

/// Finds an attribute by name, case-insensitively (RFC 7643 section 2.1).
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Where an attribute named without a URN lives: the common attributes or the core schema.
pub fn find_top(kind: Kind, name: &str) -> Option<&'static Attr> {
    find(COMMON, name).or_else(|| find(kind.core_attrs(), name))
}

/// Resolves a URN prefix to a known schema of `kind`: the core schema, a known extension, or
/// `None` for a custom extension (which we store without a schema).
pub fn schema_attrs(kind: Kind, urn: &str) -> Option<&'static [Attr]> {
    if urn.eq_ignore_ascii_case(kind.core_urn()) {
        return Some(kind.core_attrs());
    }
    kind.extensions()
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(urn))
        .map(|(_, attrs)| *attrs)
}

/// A custom extension URN (`urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`), which Entra
/// sends with attribute values but without listing it in `schemas`.
pub fn is_extension_urn(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("urn:") && lower.contains(":extension:")
}

fn attr_json(a: &Attr) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
    });
    if a.ty != AttrType::Complex && a.ty != AttrType::Boolean {
        v["caseExact"] = json!(a.case_exact);
        v["uniqueness"] = json!(if a.unique { "server" } else { "none" });
    }
    if !a.canonical.is_empty() {
        v["canonicalValues"] = json!(a.canonical);
    }
    if a.ty == AttrType::Reference {
        v["referenceTypes"] = json!(a.reference_types);
    }
    if !a.sub.is_empty() {
        v["subAttributes"] = Value::Array(a.sub.iter().map(attr_json).collect());
    }
    v
}

/// The `/Schemas` resources, in the order they are listed.
pub fn schemas(base: &str) -> Vec<Value> {
    let one = |id: &str, name: &str, description: &str, attrs: &[Attr]| {
        json!({
            "schemas": [SCHEMA],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attrs.iter().map(attr_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
        })
    };
    vec![
        one(USER, "User", "User Account", USER_ATTRS),
        one(ENTERPRISE, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRS),
        one(GROUP, "Group", "Group", GROUP_ATTRS),
    ]
}

pub fn resource_types(base: &str) -> Vec<Value> {
    [Kind::User, Kind::Group]
        .into_iter()
        .map(|k| {
            json!({
                "schemas": [RESOURCE_TYPE],
                "id": k.name(),
                "name": k.name(),
                "endpoint": format!("/{}", k.endpoint()),
                "description": if k == Kind::User { "User Account" } else { "Group" },
                "schema": k.core_urn(),
                "schemaExtensions": k.extensions().iter()
                    .map(|(urn, _)| json!({"schema": urn, "required": false}))
                    .collect::<Vec<_>>(),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", k.name())},
            })
        })
        .collect()
}

/// Limits advertised in `/ServiceProviderConfig` and enforced by the endpoint.
pub const BULK_MAX_OPERATIONS: usize = 1000;
pub const BULK_MAX_PAYLOAD: usize = 1024 * 1024;
pub const MAX_RESULTS: usize = 1000;
pub const DEFAULT_COUNT: usize = 100;

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://github.com/provisio/provisio#scim-endpoint",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": BULK_MAX_OPERATIONS, "maxPayloadSize": BULK_MAX_PAYLOAD},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "An API key of this account, sent as 'Authorization: Bearer <key>'. Create one in Access Management > API Keys.",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(find_top(Kind::User, "USERNAME").unwrap().name, "userName");
        assert_eq!(find_top(Kind::User, "externalid").unwrap().name, "externalId");
        assert!(find_top(Kind::Group, "userName").is_none());
        assert!(schema_attrs(Kind::User, &ENTERPRISE.to_uppercase()).is_some());
        assert!(schema_attrs(Kind::Group, ENTERPRISE).is_none());
    }

    #[test]
    fn schemas_describe_every_attribute() {
        let s = schemas("http://x");
        assert_eq!(s.len(), 3);
        let user = &s[0]["attributes"];
        let password = user
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "password")
            .unwrap();
        assert_eq!(password["returned"], "never");
        assert_eq!(password["mutability"], "writeOnly");
        let user_name = &user[0];
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
    }
}
