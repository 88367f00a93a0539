"""The README walkthrough through the Python client generated from /openapi.json.

Run by clients/run.sh, with the generated package `pilotledger_client` on the
path and BASE_URL, TOKEN_ADMIN, TOKEN_FINANCE, TOKEN_RESEARCHER set. Every
answer must parse into its generated model (or, for a download, come back as
text or bytes); any other outcome fails with the status and body.
"""

import csv
import datetime as dt
import io
import os
import sys
import uuid

from pilotledger_client import AuthenticatedClient
from pilotledger_client.api.entries import create_impact, create_spend, import_, reverse_entry
from pilotledger_client.api.finance import get_pilot_roi, get_pilot_roi_csv, get_summary, get_summary_csv
from pilotledger_client.api.orgs import get_org, update_org
from pilotledger_client.api.pilots import create_pilot, get_pilot, update_pilot
from pilotledger_client.api.projections import project_gap, project_gap_csv
from pilotledger_client.api.research import (
    export,
    export_json,
    export_parquet,
    zero_impact_rate,
    zero_impact_rate_csv,
)
from pilotledger_client.models import (
    AggregatesExport,
    AiKind,
    AttributionMethod,
    BusinessFunction,
    CreateImpact,
    CreatePilot,
    CreateSpend,
    CurrencyCode,
    FittedTrend,
    FixedSuccessRate,
    FixedSuccessRateByYearType0,
    GapParams,
    GapProjection,
    ImpactEntry,
    ImpactKind,
    ImportSummary,
    IntervalBands,
    MeasuredSuccessRate,
    Org,
    PatchOrg,
    PatchPilot,
    Pilot,
    PilotRoi,
    Problem,
    ProblemCode,
    ResolvedFixedSuccessRate,
    ResolvedMeasuredSuccessRate,
    Reversal,
    Reverse,
    Sourcing,
    SpendCategory,
    SpendEntry,
    Stage,
    Summary,
    ZeroImpactRate,
)
from pilotledger_client.types import File

BASE = os.environ["BASE_URL"]
admin = AuthenticatedClient(base_url=BASE, token=os.environ["TOKEN_ADMIN"], raise_on_unexpected_status=True)
finance = AuthenticatedClient(base_url=BASE, token=os.environ["TOKEN_FINANCE"], raise_on_unexpected_status=True)
researcher = AuthenticatedClient(base_url=BASE, token=os.environ["TOKEN_RESEARCHER"], raise_on_unexpected_status=True)
checks = 0


def parsed(response, model, status=200):
    """The answer's model, after checking its status and type."""
    global checks
    if response.status_code != status or not isinstance(response.parsed, model):
        sys.exit(
            f"expected {status} {getattr(model, '__name__', model)}, got {response.status_code} "
            f"{type(response.parsed).__name__}: {response.content[:500]!r}"
        )
    checks += 1
    return response.parsed


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


# 1. A pilot; its ETag is its version.
r = create_pilot.sync_detailed(
    client=admin,
    body=CreatePilot(
        name="Invoice triage agent",
        business_function=BusinessFunction.FINANCE_ACCOUNTING,
        sourcing=Sourcing.BOUGHT,
        ai_kind=AiKind.GENAI_AGENTIC,
        stage=Stage.PILOTING,
        started_on=dt.date(2026, 1, 15),
        owner_team="AP",
        tags=["invoices"],
        external_ref="FIN-123",
    ),
)
pilot = parsed(r, Pilot, 201)
assert r.headers["etag"].strip('"') == str(pilot.version), (r.headers["etag"], pilot.version)

# 2. Spend with an Idempotency-Key: a retry with the same key answers the same entry.
spend_body = CreateSpend(
    category=SpendCategory.LICENCES,
    period_start=dt.date(2026, 1, 1),
    period_end=dt.date(2026, 1, 31),
    amount="12500.00",
    currency=CurrencyCode.USD,
    capex=False,
    note="seats",
)
key = str(uuid.uuid4())
spend = parsed(create_spend.sync_detailed(pilot.id, client=admin, body=spend_body, idempotency_key=key), SpendEntry, 201)
again = parsed(create_spend.sync_detailed(pilot.id, client=admin, body=spend_body, idempotency_key=key), SpendEntry, 201)
assert again.id == spend.id, "a retried spend wrote twice"

# 3. Measured impact.
impact = parsed(
    create_impact.sync_detailed(
        pilot.id,
        client=admin,
        idempotency_key=str(uuid.uuid4()),
        body=CreateImpact(
            kind=ImpactKind.COST_REDUCTION,
            period_start=dt.date(2026, 2, 1),
            period_end=dt.date(2026, 2, 28),
            amount="4000.00",
            currency=CurrencyCode.USD,
            attribution_method=AttributionMethod.CONTROLLED_EXPERIMENT,
            confidence=0.8,
            measured=True,
            evidence="A/B on 2 regions",
        ),
    ),
    ImpactEntry,
    201,
)

# 4. PATCH guarded by If-Match; a stale version is refused with a Problem.
current = parsed(get_pilot.sync_detailed(pilot.id, client=admin), Pilot)
patched = parsed(
    update_pilot.sync_detailed(
        pilot.id,
        client=admin,
        if_match=f'"{current.version}"',
        body=PatchPilot(stage=Stage.PRODUCTION, evaluated_on=dt.date(2026, 3, 31)),
    ),
    Pilot,
)
assert patched.version == current.version + 1
stale = parsed(
    update_pilot.sync_detailed(pilot.id, client=admin, if_match=f'"{current.version}"', body=PatchPilot(name="x")),
    Problem,
    412,
)
assert stale.code == ProblemCode.PRECONDITION_FAILED, stale.code

# 5. Reverse the spend, replacing it with the right amount.
reversal = parsed(
    reverse_entry.sync_detailed(
        pilot.id,
        spend.id,
        client=admin,
        idempotency_key=str(uuid.uuid4()),
        body=Reverse(
            reason="seat count was wrong",
            replacement=CreateSpend(
                category=SpendCategory.LICENCES,
                period_start=dt.date(2026, 1, 1),
                period_end=dt.date(2026, 1, 31),
                amount="10000.00",
                currency=CurrencyCode.USD,
            ),
        ),
    ),
    Reversal,
    201,
)
assert isinstance(reversal.replacement, SpendEntry)

# 6. ROI as JSON and as CSV: the same months, the same money.
usd = CurrencyCode.USD
roi = parsed(get_pilot_roi.sync_detailed(pilot.id, client=admin, currency=usd), PilotRoi)
assert (roi.spend.amount, roi.measured_impact.amount) == ("10000.00", "4000.00"), (roi.spend, roi.measured_impact)
roi_csv = parsed(get_pilot_roi_csv.sync_detailed(pilot.id, client=admin, currency=usd), str)
rows = csv_rows(roi_csv)
assert [row["month"] for row in rows] == [m.month for m in roi.monthly], (rows, roi.monthly)
assert [row["spend"] for row in rows] == [m.spend.amount for m in roi.monthly]

# 7. The organisation summary as JSON and CSV (finance).
summary = parsed(get_summary.sync_detailed(client=finance), Summary)
summary_csv = csv_rows(parsed(get_summary_csv.sync_detailed(client=finance), str))
assert summary_csv[0]["spend"] == summary.totals.spend.amount, (summary_csv[0], summary.totals.spend)
assert int(summary_csv[0]["pilots"]) == summary.totals.pilots

# 8. Research: the rate as JSON and CSV, the export as CSV, JSON and Parquet.
rate = parsed(zero_impact_rate.sync_detailed(client=researcher, from_="2024Q1", to="2026Q3"), ZeroImpactRate)
rate_csv = csv_rows(parsed(zero_impact_rate_csv.sync_detailed(client=researcher, from_="2024Q1", to="2026Q3"), str))
assert len(rate_csv) == len(rate.cells), (len(rate_csv), len(rate.cells))
assert isinstance(rate.trend.organisation, FittedTrend), "the demo data should publish an organisation trend"
export_csv = csv_rows(parsed(export.sync_detailed(client=researcher, from_="2026Q1", to="2026Q2"), str))
export_doc = parsed(export_json.sync_detailed(client=researcher, from_="2026Q1", to="2026Q2"), AggregatesExport)
assert len(export_csv) == len(export_doc.cells), (len(export_csv), len(export_doc.cells))
parquet = parsed(export_parquet.sync_detailed(client=researcher, from_="2026Q1", to="2026Q2"), File)
data = parquet.payload.read()
assert data[:4] == b"PAR1" and data[-4:] == b"PAR1", data[:16]

# 9. The gap projection: defaults, a fixed rate by year, the measured rate, and CSV.
default = parsed(project_gap.sync_detailed(client=finance, body=GapParams()), GapProjection)
assert isinstance(default.parameters.success_rate, ResolvedFixedSuccessRate)
assert default.scenarios and default.scenarios[0].years
by_year = FixedSuccessRateByYearType0.from_dict({"2026": 0.05, "2028": 0.10})
stepped = parsed(
    project_gap.sync_detailed(client=finance, body=GapParams(success_rate=FixedSuccessRate(by_year=by_year))),
    GapProjection,
)
rates = {y.year: y.success_rate for y in stepped.scenarios[0].years}
assert rates[2026] == 0.05 and rates[2027] == 0.05 and rates[2028] == 0.10, rates
banded = parsed(
    project_gap.sync_detailed(
        client=finance, body=GapParams(success_rate=FixedSuccessRate(value=0.05, low=0.03, high=0.08))
    ),
    GapProjection,
)
assert isinstance(banded.scenarios[0].years[0].bands, IntervalBands)
measured = parsed(
    project_gap.sync_detailed(client=researcher, body=GapParams(success_rate=MeasuredSuccessRate(source="measured"))),
    GapProjection,
)
assert isinstance(measured.parameters.success_rate, ResolvedMeasuredSuccessRate)
gap_csv = csv_rows(parsed(project_gap_csv.sync_detailed(client=finance, body=GapParams()), str))
assert len(gap_csv) == sum(len(s.years) for s in default.scenarios), len(gap_csv)

# 10. Import a file upload (NDJSON, then CSV), all or nothing, idempotent.
ndjson = (
    '{"type": "pilot", "ref": "P1", "name": "Contract review", "business_function": "legal", '
    '"sourcing": "built", "ai_kind": "genai_assistant", "stage": "piloting", "started_on": "2026-02-01"}\n'
    '{"type": "spend", "pilot_ref": "P1", "category": "licences", "period_start": "2026-02-01", '
    '"period_end": "2026-02-28", "amount": "800.00", "currency": "USD"}\n'
)
key = str(uuid.uuid4())
upload = lambda text: File(payload=io.BytesIO(text.encode()), file_name="import.ndjson")  # noqa: E731
imported = parsed(import_.sync_detailed(client=admin, body=upload(ndjson), idempotency_key=key), ImportSummary, 201)
assert (imported.rows, imported.pilots_created, imported.spend_created) == (2, 1, 1), imported
replayed = parsed(import_.sync_detailed(client=admin, body=upload(ndjson), idempotency_key=key), ImportSummary, 201)
assert replayed.pilots.to_dict() == imported.pilots.to_dict(), "a replayed import wrote again"
table = (
    "type,ref,pilot_ref,pilot_id,category,period_start,period_end,amount,currency\r\n"
    f"spend,,,{pilot.id},data,2026-03-01,2026-03-31,120.00,USD\r\n"
)
from_csv = parsed(
    import_.sync_detailed(client=admin, body=upload(table), idempotency_key=str(uuid.uuid4())), ImportSummary, 201
)
assert from_csv.spend_created == 1, from_csv
rejected = parsed(
    import_.sync_detailed(client=admin, body=upload('{"type": "spend"}\n'), idempotency_key=str(uuid.uuid4())),
    Problem,
    422,
)
assert rejected.code == ProblemCode.IMPORT_REJECTED and rejected.errors, rejected

# 11. The organisation's settings: the admin turns fx_rate_required on and off again.
org_id = uuid.UUID(os.environ["ORG_ID"])
assert parsed(get_org.sync_detailed(org_id, client=finance), Org).fx_rate_required is False
on = parsed(update_org.sync_detailed(org_id, client=admin, body=PatchOrg(fx_rate_required=True)), Org)
assert on.fx_rate_required is True
parsed(update_org.sync_detailed(org_id, client=admin, body=PatchOrg(fx_rate_required=False)), Org)

# 12. Any problem is one type.
missing = parsed(get_pilot.sync_detailed(uuid.uuid4(), client=admin), Problem, 404)
assert missing.code == ProblemCode.PILOT_NOT_FOUND, missing.code

print(f"python client: {checks} typed answers parsed")
