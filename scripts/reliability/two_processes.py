#!/usr/bin/env python3
"""Two server processes over one PostgreSQL database must behave as one service.

    two_processes.py [--rounds 20]

Creates a fresh database on 127.0.0.1:5432 (user postgres), starts processes A
and B at the same moment on two ports with the same secret, and checks:
  1. idempotency across processes: the same Idempotency-Key and body sent at the
     same instant to A and to B (same token) create exactly one entry; every
     answer is 201 (fresh or replayed) or 409 (in flight), and a 409 retried
     replays the one entry;
  2. revocation across processes: a token issued and revoked through A is
     refused (401) by B on the very next request, and the other way round;
  3. summaries across processes: a spend entry written through A shows in B's
     `GET /v1/summary` totals on the very next request (converted to EUR at the
     rate loaded through A), and A's and B's summaries are equal;
  4. aggregates across processes: seven organisations with evaluated pilots
     make a published zero-impact-rate cell; an impact entry written through A
     changes B's `GET /v1/aggregates/zero-impact-rate` on the very next request,
     and B's response equals A's.
Prints one line per check and a summary; exits non-zero on any failure. The
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import threading
import time

from _common import (
    ORG_BODY,
    PILOT_BODY,
    Env,
    Server,
    create_pg_database,
    drop_pg_database,
    free_port,
    json_call,
    list_entries,
    log,
    qs,
    request,
)

SPEND = {
    "category": "licences",
    "period_start": "2026-01-01",
    "period_end": "2026-01-31",
    "currency": "USD",
    "capex": False,
}
RANGE = qs({"from": "2026-01-01", "to": "2026-12-31"})
AGG = qs({"from": "2026Q1", "to": "2026Q2"})


class Checks:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed.append(what)
            log(f"  ok    {what}")
        else:
            self.failed.append(what)
            log(f"  FAIL  {what}{': ' + detail if detail else ''}")
        return ok


def start_together(servers: list[Server]) -> None:
    errors: list[BaseException] = []

    def run(s: Server) -> None:
        try:
            s.start()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def idempotency_race(a: Server, b: Server, member: str, pilot: str, rounds: int, copies: int, c: Checks) -> None:
    first = collections.Counter()
    problems: list[str] = []
    replays = conflicts = 0
    for r in range(rounds):
        key = f"two-proc-race-{r}-{time.time_ns()}"
        raw = json.dumps({**SPEND, "amount": f"{r + 1}.00", "note": key}).encode()
        senders = [(f"{s.name}{i}", s) for i in range(copies) for s in (a, b)]
        barrier = threading.Barrier(len(senders))
        results: dict[str, list] = {}

        def send(name: str, server: Server) -> None:
            barrier.wait()
            answers = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                status, headers, body = request("POST", f"{server.base}/v1/pilots/{pilot}/spend", raw, member,
                                                {"Idempotency-Key": key})
                answers.append((status, headers.get("idempotent-replayed") == "true", body))
                if status != 409:
                    break
                time.sleep(0.02)
            results[name] = answers

        ts = [threading.Thread(target=send, args=(n, s)) for n, s in senders]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ids = set()
        fresh = 0
        for name, answers in results.items():
            first[answers[0][0]] += 1
            for status, replayed, body in answers:
                if status not in (201, 409):
                    problems.append(f"round {r} {name}: {status} {body[:200]!r}")
            status, replayed, body = answers[-1]
            if status == 201:
                ids.add(json.loads(body)["id"])
                fresh += 0 if replayed else 1
                replays += 1 if replayed else 0
                conflicts += sum(1 for x in answers if x[0] == 409)
            else:
                problems.append(f"round {r} {name}: never got 201 (last {status})")
        if len(ids) != 1 or fresh != 1:
            problems.append(f"round {r}: ids {sorted(ids)}, {fresh} fresh (not replayed) 201s")
    items, _ = list_entries(a.base, member, pilot)
    per_key = collections.Counter(i["note"] for i in items if (i.get("note") or "").startswith("two-proc-race-"))
    rows_ok = len(per_key) == rounds and all(n == 1 for n in per_key.values())
    if not rows_ok:
        problems.append(f"stored rows per key: {dict(per_key)}")
    firsts = ", ".join(f"{k}×{v}" for k, v in sorted(first.items(), key=lambda kv: str(kv[0])))
    c.check(not problems, f"same key to A and B at once ({copies} copies each), {rounds} rounds → one entry each "
                          f"(first answers {firsts}; {replays} replays, {conflicts} 409 answers retried; "
                          f"{len(per_key)} keys, {sum(per_key.values())} rows)",
            "; ".join(problems[:10]))


def revocation(issuer: Server, other: Server, admin: str, pilot: str, label: str, c: Checks) -> None:
    _, _, tok = json_call("POST", f"{issuer.base}/v1/tokens", {"role": "member", "label": label}, admin,
                          expect=(201,))
    s_before, _, _ = request("GET", f"{other.base}/v1/pilots/{pilot}", token=tok["token"])
    s_del, _, body = request("DELETE", f"{issuer.base}/v1/tokens/{tok['id']}", token=admin)
    s_get, _, _ = request("GET", f"{other.base}/v1/pilots/{pilot}", token=tok["token"])
    s_post, _, _ = request("POST", f"{other.base}/v1/pilots/{pilot}/spend",
                           {**SPEND, "amount": "1.00", "note": "after revocation"}, tok["token"],
                           {"Idempotency-Key": f"revoked-{time.time_ns()}"})
    s_self, _, _ = request("GET", f"{issuer.base}/v1/pilots/{pilot}", token=tok["token"])
    ok = (s_before, s_del, s_get, s_post, s_self) == (200, 204, 401, 401, 401)
    c.check(ok, f"token revoked through {issuer.name} is refused by {other.name} at once "
                f"(before {s_before}, revoke {s_del}, then GET {s_get}, POST {s_post}, on {issuer.name} {s_self})",
            "" if ok else f"revoke answered {body[:200]!r}")


def summary_spend(server: Server, finance: str) -> tuple[dict, int]:
    _, _, s = json_call("GET", f"{server.base}/v1/summary?{RANGE}", token=finance)
    return s, s["totals"]["spend"]["amount_minor"]


def summaries(a: Server, b: Server, member: str, finance: str, pilot: str, c: Checks) -> None:
    _, before = summary_spend(b, finance)
    json_call("POST", f"{a.base}/v1/pilots/{pilot}/spend", {**SPEND, "amount": "110.00", "note": "summary"}, member,
              {"Idempotency-Key": f"summary-{time.time_ns()}"}, expect=(201,))
    sb, after = summary_spend(b, finance)
    sa, _ = summary_spend(a, finance)
    c.check(after - before == 10000 and sb["currency"] == "EUR",
            f"USD 110.00 written through A shows at once in B's summary as EUR 100.00 "
            f"(spend {before} → {after} minor units {sb['currency']})",
            f"expected +10000, got {after - before}")
    c.check(sa == sb, "A's and B's summaries are equal", json.dumps({"A": sa["totals"], "B": sb["totals"]})[:500])


def research_orgs(a: Server, b: Server, env: Env, op: str, n: int) -> list[tuple[str, str]]:
    """n organisations (created through A and B in turn), each with one pilot
    evaluated in 2026Q1 and USD 1,000 of spend. Returns [(member token, pilot id)]."""
    out = []
    for i in range(n):
        srv = a if i % 2 == 0 else b
        _, _, org = json_call("POST", f"{srv.base}/v1/orgs", {"name": f"Research org {i}", **ORG_BODY}, op,
                              expect=(201,))
        member = env.mint("member", org["id"], "two-proc-research")
        _, _, p = json_call("POST", f"{srv.base}/v1/pilots",
                            {"name": f"research pilot {i}", **PILOT_BODY, "stage": "production",
                             "started_on": "2025-10-01", "evaluated_on": "2026-02-15"},
                            member, expect=(201,))
        json_call("POST", f"{srv.base}/v1/pilots/{p['id']}/spend", {**SPEND, "amount": "1000.00", "note": "r"},
                  member, {"Idempotency-Key": f"research-spend-{i}"}, expect=(201,))
        out.append((member, p["id"]))
    return out


def impact(server: Server, member: str, pilot: str, key: str) -> None:
    json_call("POST", f"{server.base}/v1/pilots/{pilot}/impact",
              {"kind": "cost_reduction", "period_start": "2026-01-01", "period_end": "2026-01-31",
               "amount": "5000.00", "currency": "USD", "attribution_method": "controlled_experiment",
               "confidence": 0.9, "measured": True, "evidence": "A/B"},
              member, {"Idempotency-Key": key}, expect=(201,))


def aggregates(server: Server, researcher: str) -> dict:
    _, _, body = json_call("GET", f"{server.base}/v1/aggregates/zero-impact-rate?{AGG}", token=researcher)
    return body


def published(resp: dict) -> list[dict]:
    return [cell for cell in resp.get("cells", []) if not cell.get("suppressed")]


def aggregates_check(a: Server, b: Server, env: Env, op: str, researcher: str, c: Checks) -> None:
    # 7 organisations: 3 with measured impact, 4 zero-impact; the write gives the
    # 7th impact too, so the headline share moves from 4/7 to 3/7 and stays
    # publishable (at least 3 organisations on each side, none dominant).
    orgs = research_orgs(a, b, env, op, 7)
    for i, (member, pilot) in enumerate(orgs[:3]):
        impact(a if i % 2 else b, member, pilot, f"research-impact-{i}")
    before_b = aggregates(b, researcher)
    before_a = aggregates(a, researcher)
    c.check(before_a == before_b, "A's and B's aggregates are equal before the write")
    member, pilot = orgs[6]
    impact(a, member, pilot, "research-impact-write")
    after_b = aggregates(b, researcher)
    after_a = aggregates(a, researcher)
    cells_before = [(x["quarter"], x.get("zero_return_organisations"), x.get("organisations")) for x in published(before_b)]
    cells_after = [(x["quarter"], x.get("zero_return_organisations"), x.get("organisations")) for x in published(after_b)]
    c.check(bool(cells_before) and after_b != before_b,
            f"an impact entry written through A changes B's aggregates at once "
            f"(published cells (quarter, zero-return orgs, orgs) {cells_before} → {cells_after})",
            "no published cell" if not cells_before else "B's response did not change")
    c.check(after_a == after_b, "B's aggregates equal A's after the write",
            json.dumps({"A": published(after_a), "B": published(after_b)})[:600])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20, help="rounds of the cross-process idempotency race")
    ap.add_argument("--copies", type=int, default=2, help="concurrent copies of each request per process")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    db_name, url = create_pg_database("pl_ci_two")
    env = Env(url)
    a = Server(env, free_port(), "A")
    b = Server(env, free_port(), "B")
    c = Checks()
    log(f"two processes over one PostgreSQL database: A on {a.port}, B on {b.port}")
    try:
        # Both migrate the fresh database at the same moment, as two replicas
        # deployed together would.
        try:
            start_together([a, b])
            c.check(True, "A and B started together over one fresh database")
        except RuntimeError as e:
            c.check(False, "A and B started together over one fresh database", str(e).splitlines()[0])
            for line in (a.tail(400) + "\n" + b.tail(400)).splitlines():
                if "error" in line.lower() and "at " not in line[:8]:
                    log(f"        {line.strip()[:300]}")
                    break
            # Go on with the other checks: A first, then B over the migrated database.
            a.kill()
            b.kill()
            a.start()
            b.start()
        op = env.mint("operator")
        json_call("PUT", f"{a.base}/v1/fx-rates",
                  {"rates": [{"currency": "EUR", "date": "2026-01-01", "rate_to_usd": "1.10"}]}, op)
        _, _, org = json_call("POST", f"{b.base}/v1/orgs", {"name": "Two processes", **ORG_BODY}, op,
                              expect=(201,))
        admin = env.mint("admin", org["id"], "two-proc-admin")
        finance = env.mint("finance", org["id"], "two-proc-finance")
        researcher = env.mint("researcher", None, "two-proc-researcher")
        _, _, member_tok = json_call("POST", f"{a.base}/v1/tokens", {"role": "member", "label": "two-proc"}, admin,
                                     expect=(201,))
        member = member_tok["token"]
        _, _, p = json_call("POST", f"{b.base}/v1/pilots", {"name": "two-proc pilot", **PILOT_BODY}, member,
                            expect=(201,))
        pilot = p["id"]

        idempotency_race(a, b, member, pilot, args.rounds, args.copies, c)
        revocation(a, b, admin, pilot, "revoke-via-A", c)
        revocation(b, a, admin, pilot, "revoke-via-B", c)
        summaries(a, b, member, finance, pilot, c)
        aggregates_check(a, b, env, op, researcher, c)
    except Exception as e:  # noqa: BLE001
        c.check(False, "setup", str(e))
        log(a.tail(10))
        log(b.tail(10))
    finally:
        a.stop()
        b.stop()
        if args.keep:
            log(f"  kept {env.data_dir} and database {db_name}")
        else:
            drop_pg_database(db_name)
            shutil.rmtree(env.data_dir, ignore_errors=True)
    log(f"two_processes: {len(c.passed)} passed, {len(c.failed)} failed")
    return 0 if not c.failed else 1


if __name__ == "__main__":
    sys.exit(main())
