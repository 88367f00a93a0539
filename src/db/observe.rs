//! Rollup rows as the research computations see them: each evaluated
//! pilot's observation under a definition, its organisation numbered in id
//! order (the order the bootstrap uses), attributes parsed. Pilots that
//! cannot be measured are counted, never treated as zero-impact.

use std::collections::HashMap;

use super::rollups::RollupRow;
use super::{DbConnection, DbError};
use crate::analytics::definitions::{DefinitionParams, Measure, PilotOutcome};
use crate::analytics::rates::Observation;
use crate::domain::enums::Stage;
use crate::domain::enums::{AiKind, BusinessFunction, Industry, SizeBand, Sourcing};
use crate::domain::region::RegionCode;

/// Turns rollup rows into observations: the organisations' attributes,
/// read once per request, each organisation numbered in id order.
pub struct Observer {
    orgs: HashMap<String, OrgAttrs>,
}

type OrgAttrs = (u32, Option<Industry>, Option<SizeBand>, Option<RegionCode>);

impl Observer {
    pub fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let orgs = crate::db::research::org_attributes(conn)?
            .into_iter()
            .enumerate()
            .map(|(i, (id, industry, size, region))| {
                let attrs = (
                    i as u32,
                    Industry::parse(&industry),
                    SizeBand::parse(&size),
                    RegionCode::parse(&region),
                );
                (id, attrs)
            })
            .collect();
        Ok(Self { orgs })
    }

    /// The pilot's observation under `p`, or `None` when it cannot be
    /// measured: an entry whose currency has no FX rate for its period, a sum
    /// that left i64 at any window of the grid, or (never written by the API) an attribute that no
    /// longer parses. Such pilots are counted, never treated as zero.
    /// `measure`: the outcome its `zero_impact` flag carries.
    pub fn observe(&self, row: &RollupRow, p: &DefinitionParams, measure: Measure) -> Option<Observation> {
        let rollup = row.rollup();
        // Measurable at every window of the grid, or at none: the set of
        // pilots observed — every count a cell publishes — is then the same
        // at every grid point and under every definition (issue 18).
        if rollup
            .impact_usd_minor
            .iter()
            .chain(rollup.split_usd_minor.iter().flatten())
            .any(Option::is_none)
        {
            return None;
        }
        let (revenue_uplift, cost_decrease) = rollup.revenue_and_cost(p.window_months)?;
        let (Some(evaluation), 0, Some(spend), Some(net)) = (
            rollup.evaluation,
            rollup.unconverted_entries,
            rollup.spend_usd_minor,
            rollup.net_impact(p.window_months),
        ) else {
            return None;
        };
        let &(org, Some(industry), Some(size_band), Some(region)) = self.orgs.get(&row.org_id)? else {
            return None;
        };
        Some(Observation {
            org,
            industry,
            size_band,
            region,
            business_function: BusinessFunction::parse(&row.business_function)?,
            sourcing: Sourcing::parse(&row.sourcing)?,
            ai_kind: AiKind::parse(&row.ai_kind)?,
            evaluation_date: evaluation,
            zero_impact: measure.holds(
                &PilotOutcome {
                    measured_net: net,
                    abandoned: Stage::parse(&row.stage) == Some(Stage::Abandoned),
                    reached_production: row.reached_production,
                    expected_benefit: row.expected_benefit_usd_minor,
                    revenue_uplift,
                    cost_decrease,
                },
                p,
            ),
            spend_usd_minor: spend,
            measured_net_usd_minor: net,
        })
    }
}

/// The observations of every evaluated pilot under each of `params`, read
/// from the per-pilot rollups in one pass, with how many were left out
/// ([`Observer::observe`]).
pub fn observations(
    conn: &mut DbConnection,
    params: &[DefinitionParams],
    measure: Measure,
) -> Result<Vec<(Vec<Observation>, u64)>, DbError> {
    let observer = Observer::load(conn)?;
    // Sized up front (the count is read in the same snapshot): a vector
    // grown by doubling holds up to twice what it needs, and while it is
    // copied to its next size the old and the new copy are both resident.
    let evaluated = crate::db::research::count_evaluated(conn)?;
    let mut out: Vec<(Vec<Observation>, u64)> = params.iter().map(|_| (Vec::with_capacity(evaluated), 0)).collect();
    crate::db::research::for_each_evaluated(conn, |row| {
        for (p, (obs, excluded)) in params.iter().zip(out.iter_mut()) {
            match observer.observe(row, p, measure) {
                Some(o) => obs.push(o),
                None => *excluded += 1,
            }
        }
    })?;
    Ok(out)
}
