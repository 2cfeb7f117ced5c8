//! Multiplicity adjustments for several comparisons: Holm's step-down
//! (closed form) and Dunnett's many-to-one test, for one-way layouts and for
//! any linear model (single-step adjustment, Hothorn, Bretz & Westfall
//! 2008: the multivariate t with the estimates' correlation, by Genz's
//! method in [`crate::mvt`] when the correlation is not of the one-factor
//! form below).
//!
//! Dunnett: the comparisons `T_i = Z_i / S` of each arm against one control
//! share the control's mean, so their correlation has the one-factor form
//! `rho_ij = l_i l_j` with `l_i = sqrt(n_i / (n_i + n_0))` (one-way layout),
//! `Z_i = l_i Z_0 + sqrt(1 - l_i^2) E_i`. Conditioning on `Z_0 = z` and on
//! `S = s` (`nu S^2 ~ chi^2_nu`) makes the `T_i` independent, so
//!
//! ```text
//! P(max |T_i| < c) = int f_S(s) int phi(z) prod_i [ Phi((c s - l_i z) / r_i)
//!                                                  - Phi((-c s - l_i z) / r_i) ] dz ds
//! ```
//!
//! with `r_i = sqrt(1 - l_i^2)`, computed here by adaptive Gauss-Kronrod
//! quadrature in both variables to about 1e-12 (scipy.stats.dunnett's
//! randomised lattice estimate is good to about 1e-5).

use statrs::function::erf::erfc;
use statrs::function::gamma::ln_gamma;

use crate::mvt::{mvt_rectangle, MvtOptions};
use crate::ols::OlsFit;
use crate::StatsError;

/// Direction of the alternative hypothesis, as in scipy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    TwoSided,
    /// Each arm's mean is greater than the control's.
    Greater,
    /// Each arm's mean is less than the control's.
    Less,
}

/// Holm's step-down adjusted p-values (as statsmodels' `multipletests(...,
/// method="holm")`): sorted ascending, the k-th smallest (1-based) is
/// multiplied by `m - k + 1`, made monotone by a running maximum, capped at 1.
pub fn holm(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    if let Some(bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(StatsError::Invalid(format!(
            "Holm adjustment: {bad} is not a p-value (expected a number in [0, 1])"
        )));
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    Ok(out)
}

/// Dunnett's many-to-one comparisons.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dunnett {
    /// Names of the compared arms (or model columns).
    pub names: Vec<String>,
    /// Estimated differences from the control.
    pub estimate: Vec<f64>,
    pub std_error: Vec<f64>,
    /// t statistics.
    pub statistic: Vec<f64>,
    /// Adjusted p-values.
    pub p: Vec<f64>,
    pub df: f64,
    pub alternative: Alternative,
    /// How the p-values were computed.
    pub method: DunnettMethod,
    /// Bound on the absolute error of every adjusted p-value (estimated,
    /// 3 standard errors, for the quasi-Monte Carlo method).
    pub abs_error: f64,
    /// Correlation of the statistics, `k * k` row-major.
    pub correlation: Vec<f64>,
}

fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

// Gauss-Kronrod 7/15 nodes and weights on [-1, 1].
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_728_8,
];
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// One G7K15 panel: (Kronrod estimate, |Kronrod - Gauss|).
fn gk15(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let fc = f(c);
    let mut k = WGK[7] * fc;
    let mut g = WG[3] * fc;
    for j in 0..7 {
        let x = h * XGK[j];
        let s = f(c - x) + f(c + x);
        k += WGK[j] * s;
        if j % 2 == 1 {
            g += WG[j / 2] * s;
        }
    }
    (k * h, ((k - g) * h).abs())
}

/// Adaptive Gauss-Kronrod on [a, b] to absolute tolerance `tol`.
fn integrate(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64, depth: u32) -> f64 {
    let (v, e) = gk15(f, a, b);
    if e <= tol || depth == 0 {
        return v;
    }
    let m = 0.5 * (a + b);
    integrate(f, a, m, tol / 2.0, depth - 1) + integrate(f, m, b, tol / 2.0, depth - 1)
}

/// P(T_i < c for all i) (one-sided) or P(|T_i| < c for all i) (two-sided)
/// for the one-factor multivariate t with loadings `l` and `df` degrees of
/// freedom (`df = f64::INFINITY` for the normal case).
pub fn one_factor_mvt_prob(c: f64, l: &[f64], df: f64, two_sided: bool) -> f64 {
    let r: Vec<f64> = l.iter().map(|v| (1.0 - v * v).sqrt()).collect();
    let inner = |s: f64| {
        let cs = c * s;
        let mut g = |z: f64| {
            let mut prod = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            for (li, ri) in l.iter().zip(&r) {
                let up = norm_cdf((cs - li * z) / ri);
                prod *= if two_sided {
                    up - norm_cdf((-cs - li * z) / ri)
                } else {
                    up
                };
            }
            prod
        };
        integrate(&mut g, -9.0, 0.0, 1e-12, 30) + integrate(&mut g, 0.0, 9.0, 1e-12, 30)
    };
    if !df.is_finite() || df > 1e7 {
        return inner(1.0).clamp(0.0, 1.0);
    }
    let ln_norm = 0.5 * df * df.ln() - ln_gamma(0.5 * df) - (0.5 * df - 1.0) * 2f64.ln();
    let mut outer = |s: f64| {
        if s <= 0.0 {
            return 0.0;
        }
        let ln_f = ln_norm + (df - 1.0) * s.ln() - 0.5 * df * s * s;
        let w = ln_f.exp();
        if w < 1e-300 {
            0.0
        } else {
            w * inner(s)
        }
    };
    let spread = 12.0 / df.sqrt();
    let lo = (1.0 - spread).max(0.0);
    let hi = 1.0 + spread.max(0.5) + 10.0 / df;
    // Split at the mode so the adaptive rule sees the peak.
    let mode = ((df - 1.0) / df).max(0.0).sqrt().clamp(lo, hi);
    let v = if mode > lo {
        integrate(&mut outer, lo, mode, 1e-11, 30) + integrate(&mut outer, mode, hi, 1e-11, 30)
    } else {
        integrate(&mut outer, lo, hi, 1e-11, 30)
    };
    v.clamp(0.0, 1.0)
}

/// Dunnett-adjusted p-values of the statistics `t` for comparisons with
/// one-factor correlation loadings `l` (each in (-1, 1)).
pub fn dunnett_p(
    t: &[f64],
    l: &[f64],
    df: f64,
    alternative: Alternative,
) -> Result<Vec<f64>, StatsError> {
    if t.len() != l.len() || t.is_empty() {
        return Err(StatsError::Invalid(
            "Dunnett: one loading per comparison is needed".into(),
        ));
    }
    if l.iter().any(|v| v.is_nan() || v.abs() >= 1.0) || df.is_nan() || df <= 0.0 {
        return Err(StatsError::Invalid(
            "Dunnett: correlation loadings must lie strictly between -1 and 1 and df be positive"
                .into(),
        ));
    }
    Ok(t.iter()
        .map(|&ti| {
            let p = match alternative {
                Alternative::TwoSided => 1.0 - one_factor_mvt_prob(ti.abs(), l, df, true),
                Alternative::Greater => 1.0 - one_factor_mvt_prob(ti, l, df, false),
                Alternative::Less => 1.0 - one_factor_mvt_prob(-ti, l, df, false),
            };
            p.clamp(0.0, 1.0)
        })
        .collect())
}

/// Dunnett's test from raw samples, as `scipy.stats.dunnett(*samples,
/// control=control)`: pooled variance of all groups, `df = N - (k + 1)`.
pub fn dunnett_samples(
    control: &[f64],
    samples: &[Vec<f64>],
    alternative: Alternative,
) -> Result<Dunnett, StatsError> {
    if control.len() < 2 || samples.is_empty() || samples.iter().any(|s| s.is_empty()) {
        return Err(StatsError::Invalid(
            "Dunnett: the control needs two or more values and every arm one or more".into(),
        ));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ss = |v: &[f64]| {
        let m = mean(v);
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
    };
    let n0 = control.len() as f64;
    let m0 = mean(control);
    let total: usize = control.len() + samples.iter().map(Vec::len).sum::<usize>();
    let df = (total - samples.len() - 1) as f64;
    if df <= 0.0 {
        return Err(StatsError::Invalid(
            "Dunnett: no degrees of freedom left for the variance".into(),
        ));
    }
    let s2 = (ss(control) + samples.iter().map(|s| ss(s)).sum::<f64>()) / df;
    let mut out = Dunnett {
        names: (1..=samples.len()).map(|i| format!("sample {i}")).collect(),
        estimate: Vec::new(),
        std_error: Vec::new(),
        statistic: Vec::new(),
        p: Vec::new(),
        df,
        alternative,
        method: DunnettMethod::OneFactorQuadrature,
        abs_error: QUADRATURE_ERROR,
        correlation: Vec::new(),
    };
    let mut l = Vec::new();
    for s in samples {
        let ni = s.len() as f64;
        let d = mean(s) - m0;
        let se = (s2 * (1.0 / ni + 1.0 / n0)).sqrt();
        out.estimate.push(d);
        out.std_error.push(se);
        out.statistic.push(d / se);
        l.push((ni / (ni + n0)).sqrt());
    }
    out.p = dunnett_p(&out.statistic, &l, df, alternative)?;
    out.correlation = (0..l.len())
        .flat_map(|a| {
            let l = &l;
            (0..l.len()).map(move |b| if a == b { 1.0 } else { l[a] * l[b] })
        })
        .collect();
    Ok(out)
}

/// Largest departure of a correlation matrix from the one-factor form for
/// which the exact quadrature is used. The probability's sensitivity to one
/// correlation is at most `4 phi_2 <= 2 / (pi sqrt(1 - rho^2))` per pair, so
/// the departure adds at most that times the number of pairs to the error.
pub const ONE_FACTOR_TOL: f64 = 1e-9;

/// Error bound of the one-factor adaptive quadrature itself.
const QUADRATURE_ERROR: f64 = 1e-10;

/// How adjusted p-values were computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DunnettMethod {
    /// One-factor correlation (`y ~ arm`, balanced covariates): exact
    /// two-dimensional adaptive Gauss-Kronrod quadrature.
    OneFactorQuadrature,
    /// General correlation: Genz's randomised quasi-Monte Carlo
    /// ([`crate::mvt`]).
    GenzQmc,
}

impl DunnettMethod {
    /// A short description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            DunnettMethod::OneFactorQuadrature => "one-factor quadrature (exact)",
            DunnettMethod::GenzQmc => "Genz randomised quasi-Monte Carlo",
        }
    }
}

/// One-factor loadings `l` with `corr_ij ~ l_i l_j` (`corr` is `k * k`
/// row-major) and the largest departure `|corr_ij - l_i l_j|`, or `None`
/// when no loadings in (-1, 1) can be found.
pub fn one_factor_loadings(corr: &[f64], k: usize) -> Option<(Vec<f64>, f64)> {
    let c = |a: usize, b: usize| corr[a * k + b];
    let l: Vec<f64> = match k {
        0 => return None,
        1 => vec![0.0],
        2 => {
            let r = c(0, 1);
            vec![r.abs().sqrt(), r.signum() * r.abs().sqrt()]
        }
        _ => (0..k)
            .map(|i| {
                let (j, m) = match i {
                    0 => (1, 2),
                    1 => (0, 2),
                    _ => (0, 1),
                };
                let v = c(i, j) * c(i, m) / c(j, m);
                let sign = if i == 0 { 1.0 } else { c(0, i).signum() };
                v.max(0.0).sqrt() * sign
            })
            .collect(),
    };
    if l.iter().any(|v| !v.is_finite() || v.abs() >= 1.0) {
        return None;
    }
    let mut worst = 0.0f64;
    for a in 0..k {
        for b in a + 1..k {
            let d = (c(a, b) - l[a] * l[b]).abs();
            if !d.is_finite() {
                return None;
            }
            worst = worst.max(d);
        }
    }
    Some((l, worst))
}

/// Single-step (Dunnett-type) adjusted p-values for any correlation of the
/// statistics (Hothorn, Bretz & Westfall 2008; R's `multcomp::glht(...,
/// test = adjusted("single-step"))`): with `T` multivariate t (`df`
/// degrees of freedom, `f64::INFINITY` for the normal) with correlation
/// `corr` (`k * k` row-major), `p_i = 1 - P(max_j |T_j| < |t_i|)`
/// (two-sided), `1 - P(max_j T_j < t_i)` (greater) or `1 - P(min_j T_j >
/// t_i)` (less), by Genz's method. Returns the p-values and their error
/// estimates.
pub fn single_step_p(
    t: &[f64],
    corr: &[f64],
    df: f64,
    alternative: Alternative,
    opts: &MvtOptions,
) -> Result<(Vec<f64>, Vec<f64>), StatsError> {
    let k = t.len();
    if k == 0 || corr.len() != k * k {
        return Err(StatsError::Invalid(format!(
            "single-step adjustment: {k} statistics need a {k} x {k} correlation matrix \
             ({} entries given)",
            corr.len()
        )));
    }
    if t.iter().any(|v| v.is_nan()) {
        return Err(StatsError::Invalid(
            "single-step adjustment: a statistic is NaN".into(),
        ));
    }
    let mut p = Vec::with_capacity(k);
    let mut err = Vec::with_capacity(k);
    for &ti in t {
        let (lo, hi) = match alternative {
            Alternative::TwoSided => (-ti.abs(), ti.abs()),
            Alternative::Greater => (f64::NEG_INFINITY, ti),
            Alternative::Less => (ti, f64::INFINITY),
        };
        let prob = mvt_rectangle(&vec![lo; k], &vec![hi; k], corr, df, opts)?;
        p.push((1.0 - prob.value).clamp(0.0, 1.0));
        err.push(prob.error);
    }
    Ok((p, err))
}

/// Dunnett-type adjusted p-values for statistics `t` with correlation
/// `corr`: the exact one-factor quadrature when `corr` has the one-factor
/// form to [`ONE_FACTOR_TOL`], Genz's method otherwise. Returns the
/// p-values, the method and the error bound (largest over the p-values).
pub fn adjusted_p(
    t: &[f64],
    corr: &[f64],
    df: f64,
    alternative: Alternative,
) -> Result<(Vec<f64>, DunnettMethod, f64), StatsError> {
    let k = t.len();
    if k == 0 || corr.len() != k * k {
        return Err(StatsError::Invalid(
            "Dunnett: one correlation row per comparison is needed".into(),
        ));
    }
    if let Some((l, departure)) = one_factor_loadings(corr, k) {
        if departure <= ONE_FACTOR_TOL {
            let rho = l.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let pairs = (k * (k - 1) / 2) as f64;
            let sens = 2.0 / (std::f64::consts::PI * (1.0 - rho.powi(4)).sqrt());
            let p = dunnett_p(t, &l, df, alternative)?;
            return Ok((
                p,
                DunnettMethod::OneFactorQuadrature,
                QUADRATURE_ERROR + departure * pairs * sens,
            ));
        }
    }
    let (p, err) = single_step_p(t, corr, df, alternative, &MvtOptions::default())?;
    let bound = err.iter().fold(0.0f64, |m, v| m.max(*v));
    Ok((p, DunnettMethod::GenzQmc, bound))
}

/// Dunnett's test of model columns that each compare one arm with the
/// reference arm (e.g. `arm[T.il2_0_2]`, `arm[T.il2_0_5]`, `arm[T.il2_1_0]`
/// in `y ~ arm + sledai_w0 + site`), for any linear model: the statistics
/// are the columns' t values, their joint null distribution multivariate t
/// with the residual df and the correlation of the estimates (from the
/// fit's covariance, classical or robust). One-factor correlations (`y ~
/// arm`, balanced covariates) use the exact quadrature, others Genz's
/// method; [`Dunnett::method`] and [`Dunnett::abs_error`] say which and how
/// precise.
pub fn dunnett_fit(
    fit: &OlsFit,
    cols: &[usize],
    alternative: Alternative,
) -> Result<Dunnett, StatsError> {
    let p = fit.terms.len();
    let k = cols.len();
    if k == 0 || cols.iter().any(|&c| c >= p) || fit.cov.len() != p * p {
        return Err(StatsError::Invalid(
            "Dunnett needs model columns to compare".into(),
        ));
    }
    let se: Vec<f64> = cols.iter().map(|&c| fit.terms[c].std_error).collect();
    if se.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(StatsError::Invalid(
            "Dunnett: a compared coefficient has no positive, finite standard error".into(),
        ));
    }
    let mut corr = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            corr[a * k + b] = if a == b {
                1.0
            } else {
                fit.cov[cols[a] * p + cols[b]] / (se[a] * se[b])
            };
        }
    }
    let statistic: Vec<f64> = cols.iter().map(|&c| fit.terms[c].t).collect();
    let (pv, method, abs_error) = adjusted_p(&statistic, &corr, fit.df_resid, alternative)?;
    Ok(Dunnett {
        names: cols.iter().map(|&c| fit.terms[c].name.clone()).collect(),
        estimate: cols.iter().map(|&c| fit.terms[c].estimate).collect(),
        std_error: se,
        statistic,
        p: pv,
        df: fit.df_resid,
        alternative,
        method,
        abs_error,
        correlation: corr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_comparison_reduces_to_the_t_test() {
        // With one comparison Dunnett is the plain t test:
        // scipy.stats.t.sf(2.0, 5) * 2 = 0.10193947882985835.
        let p = dunnett_p(&[2.0], &[0.5], 5.0, Alternative::TwoSided).unwrap();
        assert!((p[0] - 0.101_939_478_829_858_35).abs() < 1e-10, "{p:?}");
        let p = dunnett_p(&[2.0], &[0.5], 5.0, Alternative::Greater).unwrap();
        assert!((p[0] - 0.050_969_739_414_929_17).abs() < 1e-10, "{p:?}");
    }

    #[test]
    fn independent_normal_comparisons_multiply() {
        // l = 0 and df = inf: P(all |Z| < c) = (2 Phi(c) - 1)^k exactly.
        let c = 2.1;
        let q = 2.0 * norm_cdf(c) - 1.0;
        let got = one_factor_mvt_prob(c, &[0.0, 0.0, 0.0], f64::INFINITY, true);
        assert!((got - q.powi(3)).abs() < 1e-13);
    }

    fn one_factor_corr(l: &[f64]) -> Vec<f64> {
        let k = l.len();
        (0..k * k)
            .map(|x| {
                if x / k == x % k {
                    1.0
                } else {
                    l[x / k] * l[x % k]
                }
            })
            .collect()
    }

    /// The general (Genz) path against the exact one-factor quadrature (the
    /// independent reference) for a one-factor correlation with unequal
    /// loadings in dimension 10: `(c, df, two-sided)` cases, each within
    /// the returned error estimate (3 standard errors) and below `tol`.
    fn check_genz_against_quadrature(opts: &MvtOptions, tol: f64) {
        let l: Vec<f64> = (0..10).map(|i| 0.35 + 0.04 * i as f64).collect();
        let corr = one_factor_corr(&l);
        for (c, df, two) in [
            (2.9, 40.0, true),
            (2.6, 40.0, false),
            (2.5, f64::INFINITY, true),
        ] {
            let exact = one_factor_mvt_prob(c, &l, df, two);
            let lo = if two { -c } else { f64::NEG_INFINITY };
            let got = mvt_rectangle(&[lo; 10], &[c; 10], &corr, df, opts).unwrap();
            let diff = (got.value - exact).abs();
            assert!(
                diff < tol && got.error < tol,
                "c={c} df={df}: Genz {got:?} vs quadrature {exact}"
            );
            assert!(
                diff <= got.error,
                "c={c} df={df}: off by {diff:e}, estimate {got:?}"
            );
        }
    }

    #[test]
    fn genz_matches_one_factor_quadrature_in_ten_dimensions() {
        // Debug builds: a 1e-4 target keeps this test to seconds; the
        // release-only test below checks the default 1e-5.
        let opts = MvtOptions {
            abs_eps: 1e-4,
            ..MvtOptions::default()
        };
        check_genz_against_quadrature(&opts, 1e-4);
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "slow unoptimised; run with cargo test --release -p rct-stats"
    )]
    fn genz_reaches_1e5_in_ten_dimensions() {
        check_genz_against_quadrature(&MvtOptions::default(), 1e-5);
    }

    #[test]
    fn one_comparison_through_the_general_path_is_the_t_test() {
        // Dimension 1 is the plain t test: scipy.stats.t.sf(2.0, 5) * 2.
        let (p, err) = single_step_p(
            &[2.0],
            &[1.0],
            5.0,
            Alternative::TwoSided,
            &MvtOptions::default(),
        )
        .unwrap();
        assert!((p[0] - 0.101_939_478_829_858_35).abs() < 1e-12, "{p:?}");
        assert_eq!(err[0], 0.0);
        let (p, _) = single_step_p(
            &[-2.0],
            &[1.0],
            5.0,
            Alternative::Less,
            &MvtOptions::default(),
        )
        .unwrap();
        assert!((p[0] - 0.050_969_739_414_929_17).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn identity_correlation_gives_sidak() {
        // Independent normal statistics: p_adj = 1 - (1 - p)^k (Sidak),
        // p = 2 (1 - Phi(|t|)).
        let t = [1.3, -2.2, 2.9, 0.4];
        let k = t.len();
        let id: Vec<f64> = (0..k * k)
            .map(|x| if x / k == x % k { 1.0 } else { 0.0 })
            .collect();
        let (p, _) = single_step_p(
            &t,
            &id,
            f64::INFINITY,
            Alternative::TwoSided,
            &MvtOptions::default(),
        )
        .unwrap();
        for (ti, pi) in t.iter().zip(&p) {
            let raw = 2.0 * (1.0 - norm_cdf(ti.abs()));
            let sidak = 1.0 - (1.0 - raw).powi(k as i32);
            assert!((pi - sidak).abs() < 1e-6, "t={ti}: {pi} vs Sidak {sidak}");
        }
    }

    #[test]
    fn adjusted_p_picks_the_method() {
        let l = [0.5, 0.6, 0.7];
        let (_, m, e) = adjusted_p(
            &[2.0, 1.0, 0.5],
            &one_factor_corr(&l),
            30.0,
            Alternative::TwoSided,
        )
        .unwrap();
        assert_eq!(m, DunnettMethod::OneFactorQuadrature);
        assert!(e < 1e-8);
        // Three negative correlations have no one-factor form.
        let r = [1.0, -0.3, -0.2, -0.3, 1.0, -0.25, -0.2, -0.25, 1.0];
        let (p, m, e) = adjusted_p(&[2.5, 1.0, 0.5], &r, 30.0, Alternative::TwoSided).unwrap();
        assert_eq!(m, DunnettMethod::GenzQmc);
        assert!(e <= 1e-5 && p[0] > 0.0 && p[0] < 1.0, "{p:?} {e}");
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.01, 0.02, 0.04 times 3, 2, 1 -> 0.03, 0.04, 0.04 (monotone).
        let a = holm(&[0.04, 0.01, 0.02]).unwrap();
        for (g, w) in a.iter().zip([0.04, 0.03, 0.04]) {
            assert!((g - w).abs() < 1e-15);
        }
        assert!(holm(&[0.5, 1.5]).is_err());
    }
}
