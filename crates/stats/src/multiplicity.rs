//! Multiplicity adjustments for several comparisons: Holm's step-down
//! (closed form) and Dunnett's many-to-one test.
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
    Ok(out)
}

/// Dunnett's test of model columns that each compare one arm with the
/// reference arm (e.g. `arm[T.il2_0_2]`, `arm[T.il2_0_5]`, `arm[T.il2_1_0]`
/// in `y ~ arm`). The correlation of the estimates must have the one-factor
/// form `l_i l_j` (exact for `y ~ arm` and for balanced covariates); a model
/// whose correlations depart from it by more than 1e-6 is refused, naming
/// the largest departure.
pub fn dunnett_fit(
    fit: &OlsFit,
    cols: &[usize],
    alternative: Alternative,
) -> Result<Dunnett, StatsError> {
    let p = fit.terms.len();
    let k = cols.len();
    if k == 0 || cols.iter().any(|&c| c >= p) {
        return Err(StatsError::Invalid(
            "Dunnett needs model columns to compare".into(),
        ));
    }
    let se: Vec<f64> = cols.iter().map(|&c| fit.terms[c].std_error).collect();
    let corr = |a: usize, b: usize| fit.cov[cols[a] * p + cols[b]] / (se[a] * se[b]);
    let l: Vec<f64> = if k == 1 {
        vec![0.0]
    } else if k == 2 {
        let r = corr(0, 1);
        vec![r.abs().sqrt(), r.signum() * r.abs().sqrt()]
    } else {
        (0..k)
            .map(|i| {
                let (j, m) = match i {
                    0 => (1, 2),
                    1 => (0, 2),
                    _ => (0, 1),
                };
                let v = corr(i, j) * corr(i, m) / corr(j, m);
                let sign = if i == 0 { 1.0 } else { corr(0, i).signum() };
                v.max(0.0).sqrt() * sign
            })
            .collect()
    };
    let mut worst = (0.0f64, 0, 0);
    for a in 0..k {
        for b in a + 1..k {
            let d = (corr(a, b) - l[a] * l[b]).abs();
            if d > worst.0 {
                worst = (d, a, b);
            }
        }
    }
    if worst.0 > 1e-6 || !worst.0.is_finite() {
        return Err(StatsError::Invalid(format!(
            "Dunnett: the correlation of `{}` and `{}` ({:.6}) does not have the one-factor form \
             of many-to-one comparisons (off by {:.2e}); use Holm for this model",
            fit.terms[cols[worst.1]].name,
            fit.terms[cols[worst.2]].name,
            corr(worst.1, worst.2),
            worst.0
        )));
    }
    let statistic: Vec<f64> = cols.iter().map(|&c| fit.terms[c].t).collect();
    let pv = dunnett_p(&statistic, &l, fit.df_resid, alternative)?;
    Ok(Dunnett {
        names: cols.iter().map(|&c| fit.terms[c].name.clone()).collect(),
        estimate: cols.iter().map(|&c| fit.terms[c].estimate).collect(),
        std_error: se,
        statistic,
        p: pv,
        df: fit.df_resid,
        alternative,
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
