//! Tests of the parent module.

use super::*;

/// Builds a dataset from (t, ones, zeros) counts.
fn from_counts(cells: &[(f64, usize, usize)]) -> (Vec<f64>, Vec<bool>) {
    let mut out = (Vec::new(), Vec::new());
    for &(x, ones, zeros) in cells {
        for k in 0..ones + zeros {
            out.0.push(x);
            out.1.push(k < ones);
        }
    }
    out
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Relative tolerance above 1, absolute below.
#[track_caller]
fn near(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * want.abs().max(1.0), "{got} vs {want}");
}

/// Score equations and covariance checked against the observed
/// information computed and inverted here.
fn check_score_and_information(t: &[f64], y: &[bool], f: &LogitFit) {
    let (mut s0, mut s1, mut i00, mut i01, mut i11) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&x, &yi) in t.iter().zip(y) {
        let p = expit(f.intercept + f.slope * x);
        let r = if yi { 1.0 - p } else { -p };
        (s0, s1) = (s0 + r, s1 + r * x);
        i00 += p * (1.0 - p);
        i01 += p * (1.0 - p) * x;
        i11 += p * (1.0 - p) * x * x;
    }
    assert!(s0.abs() < 1e-10 && s1.abs() < 1e-10, "score ({s0}, {s1})");
    let det = i00 * i11 - i01 * i01;
    let (v00, v01, v11) = (i11 / det, -i01 / det, i00 / det);
    near(f.covariance[0][0], v00, 1e-7);
    near(f.covariance[0][1], v01, 1e-7);
    near(f.covariance[1][0], v01, 1e-7);
    near(f.covariance[1][1], v11, 1e-7);
    near(f.intercept_se, v00.sqrt(), 1e-7);
    near(f.slope_se, v11.sqrt(), 1e-7);
}

#[test]
fn binary_covariate_matches_closed_form() {
    // 2×2 table: t = 0 → a ones, b zeros; t = 1 → c ones, d zeros.
    let (a, b, c, d) = (7.0, 13.0, 15.0, 10.0);
    let (t, y) = from_counts(&[(0.0, 7, 13), (1.0, 15, 10)]);
    let f = fit(&t, &y).unwrap();
    let (p0, p1) = (a / (a + b), c / (c + d));
    near(f.intercept, logit(p0), 1e-9);
    near(f.slope, logit(p1) - logit(p0), 1e-9);
    near(f.intercept_se, (1.0 / a + 1.0 / b).sqrt(), 1e-9);
    near(f.slope_se, (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt(), 1e-9);
    near(f.covariance[0][1], -(1.0 / a + 1.0 / b), 1e-9);
    near(f.slope_ci.unwrap().0, f.slope - Z_95 * f.slope_se, 1e-12);
    near(f.intercept_ci.unwrap().1, f.intercept + Z_95 * f.intercept_se, 1e-12);
    near(f.predict(0.0), p0, 1e-9);
    near(f.predict(1.0), p1, 1e-9);
    let ll = a * p0.ln() + b * (1.0 - p0).ln() + c * p1.ln() + d * (1.0 - p1).ln();
    near(f.log_likelihood, ll, 1e-9);
    assert_eq!(f.n, 45);
    // Prediction interval at t = 0 is the Wald interval for logit(p0).
    let pi = f.predict_interval(0.0);
    let half = Z_95 * (1.0 / a + 1.0 / b).sqrt();
    near(pi.low.unwrap(), expit(logit(p0) - half), 1e-9);
    near(pi.high.unwrap(), expit(logit(p0) + half), 1e-9);
}

#[test]
fn shifted_binary_covariate_reports_original_scale() {
    // t ∈ {25, 26}: intercept = l0 − 25·(l1 − l0) = 26·l0 − 25·l1 with
    // independent l0 = logit(p0), l1 = logit(p1).
    let (a, b, c, d) = (7.0, 13.0, 15.0, 10.0);
    let (t, y) = from_counts(&[(25.0, 7, 13), (26.0, 15, 10)]);
    let f = fit(&t, &y).unwrap();
    let (l0, l1) = (logit(a / (a + b)), logit(c / (c + d)));
    let (v0, v1) = (1.0 / a + 1.0 / b, 1.0 / c + 1.0 / d);
    near(f.slope, l1 - l0, 1e-9);
    near(f.intercept, 26.0 * l0 - 25.0 * l1, 1e-9);
    near(f.covariance[0][0], 676.0 * v0 + 625.0 * v1, 1e-9);
    near(f.covariance[0][1], -26.0 * v0 - 25.0 * v1, 1e-9);
}

#[test]
fn three_level_covariate_solves_score_equations() {
    let (t, y) = from_counts(&[(0.0, 3, 7), (1.0, 6, 6), (2.0, 9, 2)]);
    let f = fit(&t, &y).unwrap();
    check_score_and_information(&t, &y, &f);
    assert!(f.iterations < 10);
}

/// 201 deterministic points over t ∈ [25, 27] (years since 2000), with
/// outcomes from a low-discrepancy sequence against a known curve.
fn realistic() -> (Vec<f64>, Vec<bool>) {
    (0..201)
        .map(|i| {
            let t = 25.0 + 2.0 * f64::from(i) / 200.0;
            let u = (f64::from(i) * 0.618_033_988_749_895).fract();
            (t, u < expit(0.3 + 0.9 * (t - 26.0)))
        })
        .unzip()
}

#[test]
fn runs_fit_exactly_as_the_observations_written_out() {
    // Many pilots share an evaluation date: 40 dates, 3 to 60 pilots each,
    // both outcomes at most dates, in the sorted order the trend uses.
    let mut runs = Vec::new();
    for day in 0..40_u32 {
        let t = 25.0 + f64::from(day) / 20.0;
        let ones = u64::from((day * 7) % 23 + 1);
        let zeros = u64::from((day * 11) % 37 + 2);
        runs.push((t, false, zeros));
        runs.push((t, true, ones));
    }
    let (t, y): (Vec<f64>, Vec<bool>) = runs
        .iter()
        .flat_map(|&(t, y, n)| std::iter::repeat_n((t, y), n as usize))
        .unzip();
    let written_out = fit(&t, &y).unwrap();
    let by_runs = fit_runs(&runs).unwrap();
    // Bit for bit: the same sums in the same order.
    assert_eq!(by_runs, written_out);
    assert_eq!(by_runs.n, t.len());
    // Runs split differently (and empty ones) change nothing either.
    let split: Vec<(f64, bool, u64)> = runs
        .iter()
        .flat_map(|&(t, y, n)| [(t, y, n / 2), (t, y, 0), (t, y, n - n / 2)])
        .collect();
    assert_eq!(fit_runs(&split).unwrap(), written_out);
    // Errors are the same as for the observations written out.
    assert_eq!(
        fit_runs(&runs[..2]),
        fit(
            &t[..runs[0].2 as usize + runs[1].2 as usize],
            &y[..runs[0].2 as usize + runs[1].2 as usize]
        )
    );
}

#[test]
fn realistic_years_fit() {
    let (t, y) = realistic();
    let f = fit(&t, &y).unwrap();
    check_score_and_information(&t, &y, &f);
    // Shifting t only moves the intercept: refit on t − 26.
    let shifted: Vec<f64> = t.iter().map(|v| v - 26.0).collect();
    let g = fit(&shifted, &y).unwrap();
    near(g.slope, f.slope, 1e-9);
    near(g.slope_se, f.slope_se, 1e-9);
    near(g.intercept, f.intercept + 26.0 * f.slope, 1e-9);
    near(g.log_likelihood, f.log_likelihood, 1e-12);
    let ci = f.slope_ci.unwrap();
    assert!(ci.0 < 0.9 && 0.9 < ci.1, "{ci:?}");
}

#[test]
fn pp_change_matches_numerical_delta_method() {
    let (t, y) = realistic();
    let f = fit(&t, &y).unwrap();
    let at = 26.5;
    let g = |a: f64, b: f64| 100.0 * b * expit(a + b * at) * (1.0 - expit(a + b * at));
    let r = f.pp_change_per_year_at(at);
    near(r.estimate, g(f.intercept, f.slope), 1e-12);
    // Derivative of the prediction by central difference in t.
    let h = 1e-5;
    near(
        r.estimate,
        100.0 * (f.predict(at + h) - f.predict(at - h)) / (2.0 * h),
        1e-6,
    );
    // Delta-method variance from a numerical gradient.
    let da = (g(f.intercept + h, f.slope) - g(f.intercept - h, f.slope)) / (2.0 * h);
    let db = (g(f.intercept, f.slope + h) - g(f.intercept, f.slope - h)) / (2.0 * h);
    let v = f.covariance;
    let se = (da * da * v[0][0] + 2.0 * da * db * v[0][1] + db * db * v[1][1]).sqrt();
    let (low, high) = (r.low.unwrap(), r.high.unwrap());
    near((high - low) / (2.0 * Z_95), se, 1e-5);
    assert!(low < r.estimate && r.estimate < high);
}

/// SplitMix64: a fixed stream for simulated datasets.
fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn one_observation_per_cluster_without_effects_agrees_with_the_naive_covariance() {
    // 2000 organisations with one pilot each, six quarters, outcomes from
    // one logit curve: no organisation effect. The robust covariance is
    // then White's HC0 times the small-sample factor N/(N−2) (G = N), and
    // HC0 estimates the same matrix as the inverse information.
    let mut state = 30;
    let n = 2000_u32;
    let runs: Vec<ClusterRun> = (0..n)
        .map(|g| {
            let t = 25.0 + f64::from(g % 6) / 4.0;
            let y = splitmix(&mut state) < expit(-0.3 - 0.5 * (t - 25.6));
            ClusterRun {
                cluster: g,
                t,
                y,
                count: 1,
            }
        })
        .collect();
    let f = fit_clustered(&runs).unwrap();
    assert_eq!((f.clusters, f.df, f.n), (Some(2000), Some(1999), 2000));
    let factor = (f64::from(n) / f64::from(n - 2)).sqrt();
    for (robust, naive) in [
        (f.slope_se, f.model_covariance[1][1].sqrt()),
        (f.intercept_se, f.model_covariance[0][0].sqrt()),
    ] {
        let ratio = robust / naive / factor;
        // Sampling noise of HC0 ÷ model SE at this N is about 0.002 (SD).
        assert!(
            (ratio - 1.0).abs() < 0.01,
            "robust/naive ÷ small-sample factor = {ratio}"
        );
    }
    // The sandwich written out: V = N/(N−2)·H⁻¹(Σ r²xxᵀ)H⁻¹, x = (1, t).
    let (mut h, mut m) = ([0.0; 3], [0.0; 3]);
    for r in &runs {
        let p = expit(f.intercept + f.slope * r.t);
        let e = f64::from(u8::from(r.y)) - p;
        let w = p * (1.0 - p);
        (h[0], h[1], h[2]) = (h[0] + w, h[1] + w * r.t, h[2] + w * r.t * r.t);
        (m[0], m[1], m[2]) = (m[0] + e * e, m[1] + e * e * r.t, m[2] + e * e * r.t * r.t);
    }
    let det = h[0] * h[2] - h[1] * h[1];
    let hi = [h[2] / det, -h[1] / det, h[0] / det];
    let mm = |a: [f64; 3], b: [f64; 3]| {
        [
            a[0] * b[0] + a[1] * b[1],
            a[0] * b[1] + a[1] * b[2],
            a[1] * b[0] + a[2] * b[1],
            a[1] * b[1] + a[2] * b[2],
        ]
    };
    let hm = mm(hi, m);
    let v = [
        hm[0] * hi[0] + hm[1] * hi[1],
        hm[0] * hi[1] + hm[1] * hi[2],
        hm[2] * hi[1] + hm[3] * hi[2],
    ];
    let c = f64::from(n) / f64::from(n - 2);
    near(f.covariance[0][0], c * v[0], 1e-6);
    near(f.covariance[0][1], c * v[1], 1e-6);
    near(f.covariance[1][1], c * v[2], 1e-6);
    // Intervals use t with N − 1 = 1999 degrees of freedom.
    let ci = f.slope_ci.unwrap();
    near(ci.1 - f.slope, student_t::critical_95(1999) * f.slope_se, 1e-12);
}

#[test]
fn clustering_gives_the_same_estimates_and_groups_scores_by_cluster() {
    let (t, y) = realistic();
    let naive = fit(&t, &y).unwrap();
    // 12 clusters of consecutive observations: estimates as unclustered,
    // covariance from the cluster scores.
    let runs: Vec<ClusterRun> = t
        .iter()
        .zip(&y)
        .enumerate()
        .map(|(i, (&t, &y))| ClusterRun {
            cluster: (i / 17) as u32,
            t,
            y,
            count: 1,
        })
        .collect();
    let f = fit_clustered(&runs).unwrap();
    assert_eq!((f.intercept, f.slope), (naive.intercept, naive.slope));
    assert_eq!(f.model_covariance, naive.covariance);
    assert_eq!((f.clusters, f.df), (Some(12), Some(11)));
    assert_eq!(f.critical, Some(student_t::critical_95(11)));
    // Relabelling the clusters, or listing a cluster's runs apart,
    // changes nothing but rounding.
    let relabelled: Vec<ClusterRun> = runs
        .iter()
        .map(|r| ClusterRun {
            cluster: 1000 - r.cluster * 7,
            ..*r
        })
        .collect();
    let g = fit_clustered(&relabelled).unwrap();
    near(g.slope_se, f.slope_se, 1e-12);
    // Merging two clusters is a different covariance.
    let merged: Vec<ClusterRun> = runs
        .iter()
        .map(|r| ClusterRun {
            cluster: r.cluster.min(10),
            ..*r
        })
        .collect();
    let h = fit_clustered(&merged).unwrap();
    assert_eq!(h.clusters, Some(11));
    assert!((h.slope_se - f.slope_se).abs() > 1e-6);
}

#[test]
fn fewer_than_ten_clusters_give_estimates_without_intervals() {
    let (t, y) = realistic();
    let with = |clusters: usize| {
        let runs: Vec<ClusterRun> = t
            .iter()
            .zip(&y)
            .enumerate()
            .map(|(i, (&t, &y))| ClusterRun {
                cluster: (i % clusters) as u32,
                t,
                y,
                count: 1,
            })
            .collect();
        fit_clustered(&runs).unwrap()
    };
    let nine = with(MIN_CLUSTERS - 1);
    assert_eq!((nine.intercept_ci, nine.slope_ci, nine.critical), (None, None, None));
    let why = nine.intervals_unavailable.clone().unwrap();
    assert_eq!(
        why,
        "too few organisations for cluster-robust intervals: 9 in the fit, need at least 10"
    );
    let p = nine.predict_interval(26.0);
    assert_eq!((p.low, p.high), (None, None));
    assert!((p.estimate - nine.predict(26.0)).abs() < 1e-15);
    let pp = nine.pp_change_per_year_at(26.0);
    assert_eq!((pp.low, pp.high), (None, None));
    let ten = with(MIN_CLUSTERS);
    assert_eq!(ten.intervals_unavailable, None);
    assert_eq!(ten.critical, Some(student_t::critical_95(9)));
    assert!(ten.slope_ci.is_some() && ten.predict_interval(26.0).low.is_some());
    // One cluster: no sandwich at all, still the estimates.
    let one = with(1);
    assert!(one.slope_se.is_nan() && one.slope_ci.is_none() && one.slope.is_finite());
}

#[test]
fn errors_fire_on_their_datasets() {
    use FitError::*;
    let (rt, ry) = realistic();
    let no_var = NoVariation { n: 201, value: false };
    assert_eq!(fit(&rt, &vec![false; 201]), Err(no_var));
    let ts: Vec<f64> = (0..20).map(f64::from).collect();
    let sep: Vec<bool> = ts.iter().map(|&v| v >= 10.0).collect();
    assert_eq!(fit(&ts, &sep), Err(Separation { boundary: 9.5 }));
    let rev: Vec<bool> = ts.iter().map(|&v| v < 10.0).collect();
    assert_eq!(fit(&ts, &rev), Err(Separation { boundary: 9.5 }));
    // Quasi-complete: both outcomes only at the shared value t = 10.
    let cells = [(8.0, 0, 3), (9.0, 0, 3), (10.0, 2, 2), (11.0, 3, 0), (12.0, 3, 0)];
    let (qt, qy) = from_counts(&cells);
    assert_eq!(fit(&qt, &qy), Err(Separation { boundary: 10.0 }));
    let (ft, fy) = from_counts(&[(0.0, 2, 2), (1.0, 2, 2)]);
    assert_eq!(fit(&ft, &fy), Err(TooFewObservations { n: 8, distinct: 2 }));
    let (st, sy) = from_counts(&[(3.0, 10, 10)]);
    assert_eq!(fit(&st, &sy), Err(TooFewObservations { n: 20, distinct: 1 }));
    assert_eq!(fit(&st[..5], &sy), Err(LengthMismatch { t: 5, y: 20 }));
    let mut nan = ts.clone();
    nan[3] = f64::NAN;
    assert_eq!(fit(&nan, &sep), Err(NonFiniteCovariate));
    // t values 1e-300 apart: centred squares underflow to 0.
    let (ut, uy) = from_counts(&[(0.0, 5, 5), (1e-300, 5, 5)]);
    assert_eq!(fit(&ut, &uy), Err(Singular));
    assert_eq!(fit_with_limit(&rt, &ry, 1), Err(NotConverged { iterations: 1 }));
    let msg = Separation { boundary: 9.5 }.to_string();
    assert!(msg.contains("separation") && msg.contains("9.5"), "{msg}");
}
