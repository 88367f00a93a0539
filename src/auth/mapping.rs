//! Claim mapping: from the claims of a token the company's identity provider
//! signed to a pilotledger role and organisation.
//!
//! * The **role** comes from one claim (`groups` by default; a dotted path
//!   such as `realm_access.roles` reaches into objects), a string or a list
//!   of strings. The role map is an ordered list of `value → role`; the first
//!   pair whose value the token carries wins. No pair matching is a 403: the
//!   person is known to the provider but not given any access here.
//! * The **organisation** (for `member`, `finance` and `admin`) is the union
//!   of the organisation claim (a UUID) and every operator-managed binding
//!   (`claim`, `value`) → organisation the token matches. Exactly one
//!   organisation is accepted; none, or two or more, is a 403 naming them.
//!   Platform roles (`researcher`, `operator`) belong to no organisation, so
//!   the organisation sources are not read for them.

use serde_json::{Map, Value};

use super::claims::Role;
use crate::db::idp_bindings::IdpBinding;
use crate::domain::ids::OrgId;

/// How claims become a role and an organisation.
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    pub roles_claim: String,
    /// `(claim value, role)`, first match wins.
    pub role_map: Vec<(String, Role)>,
    /// A claim holding the organisation's UUID.
    pub org_claim: Option<String>,
}

/// Why a verified token gets no access (answered 403: the signature is fine).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "none of this token's `{0}` values is mapped to a pilotledger role (PILOTLEDGER_OIDC_ROLE_MAP); \
         ask your administrator for access"
    )]
    NoRole(String),
    #[error(
        "this token names no organisation: neither {0} nor any identity-provider binding \
         (PUT /v1/orgs/{{org_id}}/idp-bindings) matches it"
    )]
    NoOrg(String),
    #[error("the `{0}` claim must be an organisation id (a UUID)")]
    OrgClaimNotUuid(String),
    #[error(
        "this token maps to {} organisations ({}); an account must belong to exactly one: \
         remove the extra group or binding",
        .0.len(),
        .0.join(", ")
    )]
    SeveralOrgs(Vec<String>),
}

/// The string values of claim `path` (dotted for nested objects): a string
/// is one value, a list gives its strings; anything else gives none.
pub fn claim_values<'a>(claims: &'a Map<String, Value>, path: &str) -> Vec<&'a str> {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else { return Vec::new() };
    let mut value = claims.get(first);
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl ClaimMapping {
    /// The role and (for organisation roles) the organisation of a verified
    /// token's claims, given the operator's bindings.
    pub fn map(
        &self,
        claims: &Map<String, Value>,
        bindings: &[IdpBinding],
    ) -> Result<(Role, Option<OrgId>), MappingError> {
        let values = claim_values(claims, &self.roles_claim);
        let role = self
            .role_map
            .iter()
            .find(|(value, _)| values.contains(&value.as_str()))
            .map(|(_, role)| *role)
            .ok_or_else(|| MappingError::NoRole(self.roles_claim.clone()))?;
        if !role.is_org_scoped() {
            return Ok((role, None));
        }
        let mut orgs: Vec<OrgId> = Vec::new();
        if let Some(claim) = &self.org_claim {
            for value in claim_values(claims, claim) {
                let org = OrgId::parse(value).ok_or_else(|| MappingError::OrgClaimNotUuid(claim.clone()))?;
                if !orgs.contains(&org) {
                    orgs.push(org);
                }
            }
        }
        for binding in bindings {
            if claim_values(claims, &binding.claim).contains(&binding.value.as_str()) {
                if let Some(org) = OrgId::parse(&binding.org_id) {
                    if !orgs.contains(&org) {
                        orgs.push(org);
                    }
                }
            }
        }
        match orgs.as_slice() {
            [org] => Ok((role, Some(*org))),
            [] => Err(MappingError::NoOrg(match &self.org_claim {
                Some(claim) => format!("the `{claim}` claim"),
                None => "an organisation claim (none is configured)".to_owned(),
            })),
            _ => {
                let mut names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
                names.sort();
                Err(MappingError::SeveralOrgs(names))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "0190a0a0-0000-7000-8000-00000000000a";
    const B: &str = "0190a0a0-0000-7000-8000-00000000000b";

    fn mapping(org_claim: Option<&str>) -> ClaimMapping {
        ClaimMapping {
            roles_claim: "groups".into(),
            role_map: vec![
                ("pl-admins".into(), Role::Admin),
                ("pl-finance".into(), Role::Finance),
                ("pl-members".into(), Role::Member),
                ("pl-research".into(), Role::Researcher),
                ("pl-ops".into(), Role::Operator),
            ],
            org_claim: org_claim.map(str::to_owned),
        }
    }

    fn binding(claim: &str, value: &str, org: &str) -> IdpBinding {
        IdpBinding {
            claim: claim.into(),
            value: value.into(),
            org_id: org.into(),
            created_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
        }
    }

    fn claims(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn first_listed_role_wins_and_strings_count_as_one_value() {
        let m = mapping(Some("org"));
        let c = claims(json!({"groups": ["pl-members", "pl-finance"], "org": A}));
        assert_eq!(m.map(&c, &[]).unwrap(), (Role::Finance, OrgId::parse(A)));
        let c = claims(json!({"groups": "pl-members", "org": A}));
        assert_eq!(m.map(&c, &[]).unwrap().0, Role::Member);
    }

    #[test]
    fn nested_claims_are_reached_by_a_dotted_path() {
        let mut m = mapping(Some("org"));
        m.roles_claim = "realm_access.roles".into();
        let c = claims(json!({"realm_access": {"roles": ["offline_access", "pl-admins"]}, "org": A}));
        assert_eq!(m.map(&c, &[]).unwrap().0, Role::Admin);
    }

    #[test]
    fn no_mapped_group_is_no_role() {
        let c = claims(json!({"groups": ["everyone"], "org": A}));
        assert_eq!(
            mapping(Some("org")).map(&c, &[]),
            Err(MappingError::NoRole("groups".into()))
        );
        let c = claims(json!({"org": A}));
        assert!(matches!(
            mapping(Some("org")).map(&c, &[]),
            Err(MappingError::NoRole(_))
        ));
    }

    #[test]
    fn platform_roles_ignore_organisation_sources() {
        let c = claims(json!({"groups": ["pl-research"], "org": A}));
        assert_eq!(mapping(Some("org")).map(&c, &[]).unwrap(), (Role::Researcher, None));
    }

    #[test]
    fn organisation_by_binding_and_by_claim_agree_or_are_refused() {
        let bindings = [binding("tid", "tenant-a", A), binding("groups", "acme-b", B)];
        let m = mapping(Some("org"));
        let by_binding = claims(json!({"groups": ["pl-finance"], "tid": "tenant-a"}));
        assert_eq!(m.map(&by_binding, &bindings).unwrap().1, OrgId::parse(A));
        let both_same = claims(json!({"groups": ["pl-finance"], "tid": "tenant-a", "org": A}));
        assert_eq!(m.map(&both_same, &bindings).unwrap().1, OrgId::parse(A));
        let two = claims(json!({"groups": ["pl-finance", "acme-b"], "tid": "tenant-a"}));
        assert_eq!(
            m.map(&two, &bindings),
            Err(MappingError::SeveralOrgs(vec![A.into(), B.into()]))
        );
        let none = claims(json!({"groups": ["pl-finance"], "tid": "tenant-z"}));
        assert!(matches!(m.map(&none, &bindings), Err(MappingError::NoOrg(_))));
        let not_uuid = claims(json!({"groups": ["pl-finance"], "org": "acme"}));
        assert_eq!(
            m.map(&not_uuid, &bindings),
            Err(MappingError::OrgClaimNotUuid("org".into()))
        );
    }
}
