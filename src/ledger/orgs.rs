//! Organisations: the validated input and their creation (route and CLI).

use serde::Deserialize;

use crate::db::audit::Actor;
use crate::db::orgs::OrgView;
use crate::db::{DbConnection, DbError};
use crate::domain::currency::Currency;
use crate::domain::enums::{Industry, SizeBand};
use crate::domain::ids::OrgId;
use crate::domain::pilots::check_text;
use crate::domain::region::is_region;
use crate::error::{ApiError, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgBody {
    pub name: String,
    pub industry: Industry,
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: String,
    #[serde(default)]
    pub fx_rate_required: bool,
}

/// `PATCH /v1/orgs/{org_id}`: the settings an organisation may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchOrgBody {
    pub fx_rate_required: bool,
}

/// A validated organisation.
pub struct NewOrg {
    pub name: String,
    pub industry: Industry,
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: Currency,
    pub fx_rate_required: bool,
}

impl TryFrom<CreateOrgBody> for NewOrg {
    type Error = ApiError;

    fn try_from(b: CreateOrgBody) -> Result<Self, ApiError> {
        let name = check_text("name", &b.name, 200).map_err(super::field_error)?;
        if !is_region(&b.region) {
            return Err(ApiError::field(
                Code::INVALID_FIELD,
                "region",
                "region must be an ISO 3166-1 alpha-2 code such as DE",
            ));
        }
        let reporting_currency = Currency::parse(&b.reporting_currency)
            .map_err(|e| ApiError::field(Code::UNKNOWN_CURRENCY, "reporting_currency", e.to_string()))?;
        Ok(Self {
            name,
            industry: b.industry,
            size_band: b.size_band,
            region: b.region,
            reporting_currency,
            fx_rate_required: b.fx_rate_required,
        })
    }
}

impl NewOrg {
    /// The row to store for this organisation.
    pub fn into_row(self, id: OrgId) -> OrgView {
        OrgView {
            id: id.to_string(),
            name: self.name,
            industry: self.industry,
            size_band: self.size_band,
            region: self.region,
            reporting_currency: self.reporting_currency.code().to_owned(),
            ledger_version: 0,
            created_at: crate::db::now(),
            fx_rate_required: self.fx_rate_required,
        }
    }
}

/// Changes the organisation's settings and audits the change (before and
/// after); the row as it is now.
pub fn update_settings(
    conn: &mut DbConnection,
    id: OrgId,
    patch: &PatchOrgBody,
    actor: &Actor,
) -> Result<OrgView, DbError> {
    let before = crate::db::orgs::find(conn, id)?;
    let after = crate::db::orgs::set_fx_rate_required(conn, id, patch.fx_rate_required)?;
    crate::db::audit::record(
        conn,
        Some(id),
        actor,
        "org.update",
        "org",
        &after.id,
        serde_json::to_value(&before).ok().as_ref(),
        serde_json::to_value(&after).ok().as_ref(),
    )?;
    Ok(after)
}

/// Stores a new organisation and audits its creation.
pub fn create(conn: &mut DbConnection, row: &OrgView, actor: &Actor) -> Result<(), DbError> {
    let id = OrgId::parse(&row.id).ok_or(DbError::Conflict("organisation id is not a UUID"))?;
    crate::db::orgs::insert(conn, row)?;
    let after = serde_json::to_value(row).ok();
    crate::db::audit::record(
        conn,
        Some(id),
        actor,
        "org.create",
        "org",
        &row.id,
        None,
        after.as_ref(),
    )
}
