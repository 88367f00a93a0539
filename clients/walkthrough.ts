// The README walkthrough through the TypeScript client generated from
// /openapi.json (openapi-typescript types + openapi-fetch). Run by
// clients/run.sh after `tsc --noEmit`: the calls below must type-check against
// the generated paths, and every answer must carry the documented shape.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const baseUrl = env("BASE_URL");
const as = (token: string) => createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
const admin = as(env("TOKEN_ADMIN"));
const finance = as(env("TOKEN_FINANCE"));
const researcher = as(env("TOKEN_RESEARCHER"));

let checks = 0;
function ok<T>(r: { data?: T; error?: unknown; response: Response }, status: number): T {
  if (r.response.status !== status || r.data === undefined) {
    throw new Error(`expected ${status}, got ${r.response.status}: ${JSON.stringify(r.error)}`);
  }
  checks += 1;
  return r.data;
}
function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}
const lines = (csv: string): string[] => csv.split("\r\n").filter((l) => l.length > 0);

// 1. A pilot: only the required fields; every field with a default may be left out.
const pilot: Schemas["Pilot"] = ok(
  await admin.POST("/v1/pilots", {
    body: {
      name: "Invoice triage agent",
      business_function: "finance_accounting",
      sourcing: "bought",
      ai_kind: "genai_agentic",
      started_on: "2026-01-15",
    },
  }),
  201,
);

// 2. Spend with an Idempotency-Key; the retry answers the same entry.
const key = crypto.randomUUID();
const spendBody: Schemas["CreateSpend"] = {
  category: "licences",
  period_start: "2026-01-01",
  period_end: "2026-01-31",
  amount: "12500.00",
  currency: "USD",
};
const spendCall = () =>
  admin.POST("/v1/pilots/{pilot_id}/spend", {
    params: { path: { pilot_id: pilot.id }, header: { "Idempotency-Key": key } },
    body: spendBody,
  });
const spend = ok(await spendCall(), 201);
check(ok(await spendCall(), 201).id === spend.id, "a retried spend wrote twice");

// 3. Impact.
ok(
  await admin.POST("/v1/pilots/{pilot_id}/impact", {
    params: { path: { pilot_id: pilot.id }, header: { "Idempotency-Key": crypto.randomUUID() } },
    body: {
      kind: "cost_reduction",
      period_start: "2026-02-01",
      period_end: "2026-02-28",
      amount: "4000.00",
      currency: "USD",
      attribution_method: "controlled_experiment",
      measured: true,
    },
  }),
  201,
);

// 4. PATCH with If-Match.
const patched = ok(
  await admin.PATCH("/v1/pilots/{pilot_id}", {
    params: { path: { pilot_id: pilot.id }, header: { "If-Match": `"${pilot.version}"` } },
    body: { stage: "production", evaluated_on: "2026-03-31" },
  }),
  200,
);
check(patched.version === pilot.version + 1, "PATCH did not bump the version");

// 5. Reverse with a replacement.
const reversal = ok(
  await admin.POST("/v1/pilots/{pilot_id}/entries/{entry_id}/reverse", {
    params: { path: { pilot_id: pilot.id, entry_id: spend.id }, header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { reason: "seat count was wrong", replacement: { ...spendBody, amount: "10000.00" } },
  }),
  201,
);
check(reversal.replacement !== null && reversal.replacement !== undefined, "no replacement");

// 6. ROI and summary, JSON and CSV.
const roi = ok(await admin.GET("/v1/pilots/{pilot_id}/roi", { params: { path: { pilot_id: pilot.id } } }), 200);
const roiCsv = ok(
  await admin.GET("/v1/pilots/{pilot_id}/roi.csv", { params: { path: { pilot_id: pilot.id } }, parseAs: "text" }),
  200,
);
check(lines(roiCsv).length === roi.monthly.length + 1, "ROI CSV rows differ from the JSON months");
const summary = ok(await finance.GET("/v1/summary", {}), 200);
const summaryCsv = ok(await finance.GET("/v1/summary.csv", { parseAs: "text" }), 200);
check(lines(summaryCsv).length === summary.groups.length + 2, "summary CSV rows differ from the JSON");

// 7. Research in every format.
const window = { query: { from: "2024Q1", to: "2026Q3" } };
const rate = ok(await researcher.GET("/v1/aggregates/zero-impact-rate", { params: window }), 200);
const rateCsv = ok(await researcher.GET("/v1/aggregates/zero-impact-rate.csv", { params: window, parseAs: "text" }), 200);
check(lines(rateCsv).length === rate.cells.length + 1, "rate CSV rows differ from the JSON cells");
const short = { query: { from: "2026Q1", to: "2026Q2" } };
const exported = ok(await researcher.GET("/v1/aggregates/export.json", { params: short }), 200);
const exportCsv = ok(await researcher.GET("/v1/aggregates/export", { params: short, parseAs: "text" }), 200);
check(lines(exportCsv).length === exported.cells.length + 1, "export CSV rows differ from the JSON cells");
const parquet = ok(await researcher.GET("/v1/aggregates/export.parquet", { params: short, parseAs: "arrayBuffer" }), 200);
check(new TextDecoder().decode(parquet.slice(0, 4)) === "PAR1", "the Parquet export lacks its magic");

// 8. The gap projection: defaults, a fixed rate by year, the measured rate, CSV.
const defaults = ok(await finance.POST("/v1/projections/gap", { body: {} }), 200);
check(defaults.parameters.success_rate.source === "fixed", "default source is not fixed");
const stepped = ok(
  await finance.POST("/v1/projections/gap", { body: { success_rate: { by_year: { "2026": 0.05, "2028": 0.1 } } } }),
  200,
);
const year2028 = stepped.scenarios[0]?.years.find((y) => y.year === 2028);
check(year2028?.success_rate === 0.1, "by_year was not applied");
const measured = ok(
  await researcher.POST("/v1/projections/gap", { body: { success_rate: { source: "measured" } } }),
  200,
);
check(measured.parameters.success_rate.source === "measured", "measured source not resolved");
const gapCsv = ok(await finance.POST("/v1/projections/gap.csv", { body: {}, parseAs: "text" }), 200);
const years = defaults.scenarios.reduce((n, s) => n + s.years.length, 0);
check(lines(gapCsv).length === years + 1, "gap CSV rows differ from the JSON years");

// 9. Import a file upload.
const file =
  '{"type": "pilot", "ref": "P1", "name": "Contract review", "business_function": "legal", ' +
  '"sourcing": "built", "ai_kind": "genai_assistant", "started_on": "2026-02-01"}\n' +
  '{"type": "spend", "pilot_ref": "P1", "category": "licences", "period_start": "2026-02-01", ' +
  '"period_end": "2026-02-28", "amount": "800.00", "currency": "USD"}\n';
const imported = ok(
  await admin.POST("/v1/import", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: file,
    bodySerializer: (body) => body,
    headers: { "Content-Type": "application/octet-stream" },
  }),
  201,
);
check(imported.rows === 2 && imported.pilots_created === 1, "import summary is wrong");

// 10. The organisation's settings: the admin turns fx_rate_required on and off again.
const orgPath = { params: { path: { org_id: env("ORG_ID") } } };
check(ok(await finance.GET("/v1/orgs/{org_id}", orgPath), 200).fx_rate_required === false, "fx_rate_required not off");
const on = ok(await admin.PATCH("/v1/orgs/{org_id}", { ...orgPath, body: { fx_rate_required: true } }), 200);
check(on.fx_rate_required === true, "PATCH did not turn fx_rate_required on");
ok(await admin.PATCH("/v1/orgs/{org_id}", { ...orgPath, body: { fx_rate_required: false } }), 200);

// 11. A problem is one type.
const missing = await admin.GET("/v1/pilots/{pilot_id}", {
  params: { path: { pilot_id: crypto.randomUUID() } },
});
const problem: Schemas["Problem"] | undefined = missing.error;
check(missing.response.status === 404 && problem?.code === "pilot_not_found", "no pilot_not_found problem");

console.log(`typescript client: ${checks} typed answers checked`);
