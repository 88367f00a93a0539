#!/usr/bin/env python3
"""Coverage of the pilot trend's 95% slope interval, naive against
cluster-robust (issue 30). Not a timed benchmark and not run in CI:

    python3 bench/cluster_coverage.py                 # 1,000 replicates, SD 1.5
    python3 bench/cluster_coverage.py --sd 0 --sd 0.75 --sd 1.5 --reps 1000
    python3 bench/cluster_coverage.py --check-statsmodels   # estimator == statsmodels

Design (the issue's): 40 organisations × 16 evaluated pilots over six quarters
(t in years since 2000, 2025Q1–2026Q2). Organisations adopt at different
times: each evaluates its 16 pilots over `--span` consecutive quarters (default
3) from a start quarter drawn uniformly among those that fit, the dates
uniform within that span. Pilot i of organisation g is zero-impact with
probability expit(ALPHA + BETA·(t − T_MID) + u_g), u_g ~ N(0, sd²) — a company
that cannot measure impact reports zero for every pilot. With `--span 6`
every organisation spans the whole window, t is then nearly uncorrelated
with the organisation, and the slope's naive SE is about right (robust ÷
naive ≈ 1); staggered adoption is what makes the naive interval too narrow,
as on real data.

The target is the population-averaged slope: what the pooled logit (the
service's pilot trend) estimates in large samples — the (a, b) solving
E[(P(t) − expit(a + b·t))·(1, t)] = 0 with P(t) = E_u[expit(ALPHA + BETA·(t − T_MID)
+ u)], the expectation over u by 80-point Gauss–Hermite and over t (uniform
over the six quarters) by 600-point midpoints. With sd > 0 it is flatter than
BETA (attenuation).

The estimator is the one in src/analytics/logistic.rs: Newton–Raphson on t
centred at its mean, naive V = H⁻¹, and CR1
V = H⁻¹(Σ_g s_g s_gᵀ)H⁻¹ · G/(G−1)·(N−1)/(N−2) with t(G−1) critical value
(naive: normal 1.959963984540054). `--check-statsmodels` fits a few replicates
with statsmodels' `Logit(...).fit(cov_type="cluster", use_t=True)` and
asserts equality, which the committed Rust fixture test also shows for the
service. Seeded (numpy PCG64, --seed), so the output is reproducible.
"""

import argparse
import math
import sys

import numpy as np
from scipy.stats import t as student_t

G, PILOTS, QUARTERS = 40, 16, 6
T0 = 25.0  # 2025-01-01 is 25.0 years after 2000-01-01, near enough for a design
T_MID = T0 + QUARTERS / 8.0
ALPHA, BETA = 1.4, -0.4
Z_95 = 1.959963984540054


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def fit(t, y, groups):
    """(slope, naive se, robust se, G) as logistic.rs computes them."""
    c = t.mean()
    x = t - c
    ybar = y.mean()
    beta = np.array([math.log(ybar / (1 - ybar)), 0.0])
    for _ in range(50):
        p = expit(beta[0] + beta[1] * x)
        w = p * (1 - p)
        score = np.array([np.sum(y - p), np.sum((y - p) * x)])
        info = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
        step = np.linalg.solve(info, score)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = expit(beta[0] + beta[1] * x)
    w = p * (1 - p)
    info = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
    bread = np.linalg.inv(info)
    r = y - p
    labels, inv = np.unique(groups, return_inverse=True)
    s0 = np.bincount(inv, weights=r)
    s1 = np.bincount(inv, weights=r * x)
    meat = np.array([[s0 @ s0, s0 @ s1], [s0 @ s1, s1 @ s1]])
    g, n = len(labels), len(y)
    robust = bread @ meat @ bread * g / (g - 1) * (n - 1) / (n - 2)
    # The slope's variance is the same on the centred and original scales.
    return beta[1], math.sqrt(bread[1, 1]), math.sqrt(robust[1, 1]), g


def population_averaged_slope(sd, span):
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    # t's marginal distribution: an equal mixture over start quarters of
    # uniforms over `span` quarters, each by 600 midpoints.
    grid = (np.arange(600) + 0.5) / 600 * span / 4.0
    ts = np.concatenate([T0 + s / 4.0 + grid for s in range(QUARTERS - span + 1)])
    P = (expit(ALPHA + BETA * (ts[:, None] - T_MID) + sd * nodes[None, :]) * weights).sum(axis=1)
    x = ts - ts.mean()
    b = np.array([0.0, 0.0])
    for _ in range(100):
        q = expit(b[0] + b[1] * x)
        w = q * (1 - q)
        score = np.array([np.sum(P - q), np.sum((P - q) * x)])
        info = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
        step = np.linalg.solve(info, score)
        b = b + step
        if np.max(np.abs(step)) < 1e-14:
            break
    return b[1]


def replicate(rng, sd, span):
    u = rng.normal(0.0, sd, G)
    start = rng.integers(0, QUARTERS - span + 1, G)
    groups = np.repeat(np.arange(G), PILOTS)
    t = T0 + start[groups] / 4.0 + rng.uniform(0.0, span / 4.0, G * PILOTS)
    y = (rng.uniform(size=G * PILOTS) < expit(ALPHA + BETA * (t - T_MID) + u[groups])).astype(float)
    return t, y, groups


def run(sd, reps, seed, span):
    rng = np.random.default_rng([seed, int(round(sd * 1000)), span])
    target = population_averaged_slope(sd, span)
    crit_t = float(student_t.ppf(0.975, G - 1))
    cover_naive = cover_robust = 0
    ratios = []
    skipped = 0
    for _ in range(reps):
        t, y, groups = replicate(rng, sd, span)
        if y.min() == y.max():
            skipped += 1
            continue
        b, se_n, se_r, g = fit(t, y, groups)
        cover_naive += abs(b - target) <= Z_95 * se_n
        cover_robust += abs(b - target) <= crit_t * se_r
        ratios.append(se_r / se_n)
    done = reps - skipped
    ratios = np.array(ratios)
    return {
        "sd": sd,
        "target": target,
        "reps": done,
        "naive": cover_naive / done,
        "robust": cover_robust / done,
        "ratio_median": float(np.median(ratios)),
        "ratio_p10": float(np.percentile(ratios, 10)),
        "ratio_p90": float(np.percentile(ratios, 90)),
    }


def check_statsmodels(seed, span):
    import statsmodels.api as sm

    rng = np.random.default_rng(seed)
    for _ in range(5):
        t, y, groups = replicate(rng, 1.5, span)
        b, se_n, se_r, _ = fit(t, y, groups)
        X = np.column_stack([np.ones_like(t), t])
        naive = sm.Logit(y, X).fit(disp=0)
        robust = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        assert abs(b - robust.params[1]) < 1e-6, (b, robust.params[1])
        assert abs(se_n - naive.bse[1]) < 1e-6 * se_n, (se_n, naive.bse[1])
        assert abs(se_r - robust.bse[1]) < 1e-6 * se_r, (se_r, robust.bse[1])
    print("estimator equals statsmodels cov_type='cluster', use_t=True on 5 replicates")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sd", type=float, action="append", help="organisation-effect SD (repeatable; default 1.5)")
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--span", type=int, default=3, choices=range(1, QUARTERS + 1),
                    help="quarters over which one organisation's pilots are evaluated")
    ap.add_argument("--check-statsmodels", action="store_true")
    args = ap.parse_args()
    if args.check_statsmodels:
        check_statsmodels(args.seed, args.span)
    print(f"{G} organisations x {PILOTS} pilots over {QUARTERS} quarters (each organisation over {args.span}), "
          f"{args.reps} replicates, seed {args.seed}; nominal 95% slope intervals")
    print(f"{'org SD':>6}  {'PA slope':>9}  {'naive cover':>11}  {'robust cover':>12}  "
          f"{'robust/naive SE median (p10-p90)':>34}")
    failed = False
    for sd in args.sd or [1.5]:
        r = run(sd, args.reps, args.seed, args.span)
        print(f"{r['sd']:6.2f}  {r['target']:9.4f}  {r['naive']:11.1%}  {r['robust']:12.1%}  "
              f"{r['ratio_median']:20.2f} ({r['ratio_p10']:.2f}-{r['ratio_p90']:.2f})")
        if sd == 1.5 and r["robust"] < 0.93:
            failed = True
    if failed:
        print("robust coverage below 93% at SD 1.5", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
