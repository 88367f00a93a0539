//! The one place that reads across organisations, for the anonymised research
//! aggregates. Nothing here is returned to a client as is: `analytics` turns it
//! into disclosure-controlled cells first.

use diesel::prelude::*;

use super::entries::EntryView;
use super::fx::FxRateView;
use super::orgs::OrgView;
use super::pilots::PilotView;
use super::schema::{entries, orgs, pilots};
use super::{DbConnection, DbError};

/// Everything the aggregates need, read in one snapshot.
pub struct ResearchInputs {
    pub orgs: Vec<OrgView>,
    pub pilots: Vec<PilotView>,
    pub entries: Vec<EntryView>,
    pub fx_rates: Vec<FxRateView>,
}

/// Reads every organisation, pilot, entry and FX rate.
pub fn load(conn: &mut DbConnection) -> Result<ResearchInputs, DbError> {
    Ok(ResearchInputs {
        orgs: orgs::table
            .select(OrgView::as_select())
            .order(orgs::id.asc())
            .load(conn)?,
        pilots: pilots::table
            .select(PilotView::as_select())
            .order(pilots::id.asc())
            .load(conn)?,
        entries: entries::table
            .select(EntryView::as_select())
            .order(entries::id.asc())
            .load(conn)?,
        fx_rates: super::fx::load_all(conn)?,
    })
}
