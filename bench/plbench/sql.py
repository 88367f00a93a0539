"""The zero-impact aggregate and the trend standard errors recomputed in SQL and Python, independent of the server."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from . import common
from .common import *  # noqa: F401,F403
from .procs import *  # noqa: F401,F403
from .backends import *  # noqa: F401,F403
from .load import *  # noqa: F401,F403


def zero_impact_sql(backend: str, from_date: str, to_excl: str, window_months=6, min_impact_usd=0) -> str:
    """Per evaluation quarter: organisations with an evaluated pilot, zero-return
    organisations, evaluated pilots, zero-impact pilots — the DESIGN definition,
    converted to USD with the latest FX rate on or before each entry's
    period_end (currency exponents of the demo's currencies: JPY 0, BHD 3, else 2)."""
    min_cents = min_impact_usd * 100
    scale = "CASE e.currency WHEN 'JPY' THEN 100.0 WHEN 'BHD' THEN 0.1 ELSE 1.0 END"
    if backend == "sqlite":
        fx = ("CASE WHEN e.currency = 'USD' THEN 1.0 ELSE (SELECT CAST(f.rate_to_usd AS REAL) FROM fx_rates f "
              "WHERE f.currency = e.currency AND f.rate_date <= e.period_end ORDER BY f.rate_date DESC LIMIT 1) END")
        wend = (f"min(date(ed, '+{window_months} months'), "
                f"date(ed, 'start of month', '+{window_months + 1} months', '-1 day'))")
        q = "strftime('%Y', ed) || 'Q' || ((CAST(strftime('%m', ed) AS INTEGER) + 2) / 3)"
        measured = "e.measured = 1"
        lateral = ""
    else:
        fx = "CASE WHEN e.currency = 'USD' THEN 1.0 ELSE fx.rate END"
        wend = f"(ed + interval '{window_months} months')::date"
        q = "extract(year from ed)::int || 'Q' || extract(quarter from ed)::int"
        measured = "e.measured"
        lateral = ("LEFT JOIN LATERAL (SELECT f.rate_to_usd::numeric AS rate FROM fx_rates f "
                   "WHERE f.currency = e.currency AND f.rate_date <= e.period_end "
                   "ORDER BY f.rate_date DESC LIMIT 1) fx ON true")
    return f"""
WITH ev AS (
  SELECT org_id, id,
         COALESCE(evaluated_on, CASE WHEN stage IN ('production', 'scaled', 'abandoned') THEN stage_entered_on END) AS ed
  FROM pilots
), inq AS (
  SELECT org_id, id, ed, {wend} AS wend, {q} AS q
  FROM ev WHERE ed IS NOT NULL AND ed >= '{from_date}' AND ed < '{to_excl}'
), pil AS (
  SELECT i.q, i.org_id, i.id, i.ed, COALESCE(SUM(e.amount_minor * {fx} * {scale}), 0) AS net
  FROM inq i
  LEFT JOIN entries e ON e.org_id = i.org_id AND e.pilot_id = i.id AND e.entry_type = 'impact'
       AND {measured} AND e.attribution_method <> 'self_reported' AND e.period_end <= i.wend
  {lateral}
  GROUP BY i.q, i.org_id, i.id, i.ed
), po AS (
  SELECT q, org_id, COUNT(*) AS n, SUM(CASE WHEN net <= {min_cents} THEN 1 ELSE 0 END) AS z FROM pil GROUP BY q, org_id
)
SELECT q, COUNT(*) AS organisations, SUM(CASE WHEN z = n THEN 1 ELSE 0 END) AS zero_return_organisations,
       SUM(n) AS evaluated_pilots, SUM(z) AS zero_impact_pilots
FROM po GROUP BY q ORDER BY q;
"""


def pilot_rows_sql(backend: str, from_date: str, to_excl: str) -> str:
    """The per-pilot rows behind zero_impact_sql: organisation, quarter,
    evaluation date, zero-impact (0/1), default definition."""
    head = zero_impact_sql(backend, from_date, to_excl).split("), po AS (")[0]
    return head + ")\nSELECT org_id, q, ed, CASE WHEN net <= 0 THEN 1 ELSE 0 END FROM pil;\n"


def logit_se_ratio(runs: dict) -> tuple[float, int, int]:
    """Slope SE, cluster-robust by organisation (CR1) ÷ naive (inverse
    information), for runs {(org, t, y): count} — src/analytics/logistic.rs's
    estimator in plain Python (Newton on centred t). Returns (ratio, G, N)."""
    items = [(g, t, y, n) for (g, t, y), n in runs.items() if n > 0]
    n_obs = sum(n for *_, n in items)
    centre = sum(t * n for _, t, _, n in items) / n_obs
    ybar = sum(y * n for _, _, y, n in items) / n_obs
    a, b = math.log(ybar / (1 - ybar)), 0.0
    for _ in range(50):
        s0 = s1 = h00 = h01 = h11 = 0.0
        for _, t, y, n in items:
            x = t - centre
            p = 1 / (1 + math.exp(-(a + b * x)))
            w = n * p * (1 - p)
            s0, s1 = s0 + n * (y - p), s1 + n * (y - p) * x
            h00, h01, h11 = h00 + w, h01 + w * x, h11 + w * x * x
        det = h00 * h11 - h01 * h01
        da, db = (h11 * s0 - h01 * s1) / det, (h00 * s1 - h01 * s0) / det
        a, b = a + da, b + db
        if max(abs(da), abs(db)) < 1e-10:
            break
    scores: dict = {}
    h00 = h01 = h11 = 0.0
    for g, t, y, n in items:
        x = t - centre
        p = 1 / (1 + math.exp(-(a + b * x)))
        w = n * p * (1 - p)
        h00, h01, h11 = h00 + w, h01 + w * x, h11 + w * x * x
        sg = scores.setdefault(g, [0.0, 0.0])
        sg[0] += n * (y - p)
        sg[1] += n * (y - p) * x
    det = h00 * h11 - h01 * h01
    inv = [[h11 / det, -h01 / det], [-h01 / det, h00 / det]]
    m = [[sum(s[i] * s[j] for s in scores.values()) for j in range(2)] for i in range(2)]
    # Row 1 of H⁻¹·M·H⁻¹: the slope's variance.
    r = [inv[1][0] * m[0][k] + inv[1][1] * m[1][k] for k in range(2)]
    var_b = r[0] * inv[0][1] + r[1] * inv[1][1]
    g = len(scores)
    var_b *= g / (g - 1) * (n_obs - 1) / (n_obs - 2)
    return math.sqrt(var_b) / math.sqrt(inv[1][1]), g, n_obs


def trend_se_ratios(sql_out: str) -> str:
    """Both trends' slope SE, robust ÷ naive, on the seeded data: the pilot
    trend on each pilot's evaluation date, the organisation trend on each
    (organisation, quarter)'s zero return at the quarter's middle. Every
    quarter of the window, published or not (the API fits published ones)."""
    epoch = dt.date(2000, 1, 1)
    pilots: dict = {}
    cells: dict = {}
    for line in sql_out.split():
        f = line.split("|")
        if len(f) != 4:
            continue
        org, q, ed, zero = f[0], f[1], dt.date.fromisoformat(f[2][:10]), int(f[3])
        key = (org, (ed - epoch).days / 365.25, zero)
        pilots[key] = pilots.get(key, 0) + 1
        cells[(org, q)] = cells.get((org, q), 1) & zero
    org_runs: dict = {}
    for (org, q), zero in cells.items():
        y, k = int(q[:4]), int(q[-1])
        start = dt.date(y, 3 * k - 2, 1)
        end = dt.date(y + 1, 1, 1) if k == 4 else dt.date(y, 3 * k + 1, 1)
        mid = (start - epoch).days / 365.25 + (end - start).days / 2 / 365.25
        org_runs[(org, mid, zero)] = org_runs.get((org, mid, zero), 0) + 1
    out = []
    for name, runs in (("pilot", pilots), ("organisation", org_runs)):
        try:
            ratio, g, n = logit_se_ratio(runs)
            out.append(f"{name} trend {ratio:.2f} (G {g}, N {n})")
        except (ValueError, ZeroDivisionError) as e:
            out.append(f"{name} trend not fitted ({e})")
    return "trend slope SE, cluster-robust by organisation ÷ naive, on the demo data: " + "; ".join(out)
