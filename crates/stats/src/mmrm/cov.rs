//! Covariance structures of the repeated measures within a subject, over
//! the m visits in their order, with their first and second derivatives in
//! the parameters. Parameters are SAS PROC MIXED's (so `-2 log REML`, the
//! estimates and the covariance-parameter table read the same):
//!
//! - `us` (UN): the entries `UN(i,j)`, i >= j, row by row: linear;
//! - `cs` (CS): the common covariance `CS` and the `Residual` variance,
//!   `Sigma = Residual * I + CS * J`: linear;
//! - `toep` (TOEP): the covariance at each lag, `TOEP(1)` = variance at lag 0: linear;
//! - `ar1` (AR(1)): the correlation `AR(1)` = rho and the `Residual`
//!   variance, `Sigma_jk = Residual * rho^|j-k|`.
//!
//! Positive definiteness is not built into the parameters; the optimiser
//! rejects steps that leave it.

#![allow(clippy::needless_range_loop)]

use nalgebra::DMatrix;

use crate::StatsError;

/// A covariance structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CovStructure {
    /// Unstructured.
    Us,
    /// Compound symmetry (homogeneous).
    Cs,
    /// First-order autoregressive (homogeneous).
    Ar1,
    /// Toeplitz (homogeneous).
    Toep,
}

impl CovStructure {
    /// Parses `us`/`un`/`unstructured`, `cs`, `ar1`, `toep`/`toeplitz`.
    pub fn parse(s: &str) -> Result<CovStructure, StatsError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "us" | "un" | "unstructured" => CovStructure::Us,
            "cs" | "compound-symmetry" | "compound_symmetry" => CovStructure::Cs,
            "ar1" | "ar(1)" => CovStructure::Ar1,
            "toep" | "toeplitz" => CovStructure::Toep,
            other => {
                return Err(StatsError::Invalid(format!(
                    "unknown covariance structure `{other}`; expected us (unstructured), cs \
                     (compound symmetry), ar1 or toep (Toeplitz)"
                )))
            }
        })
    }

    /// Number of parameters for m visits.
    pub fn n_params(self, m: usize) -> usize {
        match self {
            CovStructure::Us => m * (m + 1) / 2,
            CovStructure::Cs | CovStructure::Ar1 => 2,
            CovStructure::Toep => m,
        }
    }

    /// Parameter names as SAS prints them.
    pub fn names(self, m: usize) -> Vec<String> {
        match self {
            CovStructure::Us => {
                let mut v = Vec::new();
                for i in 0..m {
                    for j in 0..=i {
                        v.push(format!("UN({},{})", i + 1, j + 1));
                    }
                }
                v
            }
            CovStructure::Cs => vec!["CS".into(), "Residual".into()],
            CovStructure::Ar1 => vec!["AR(1)".into(), "Residual".into()],
            CovStructure::Toep => (1..=m).map(|k| format!("TOEP({k})")).collect(),
        }
    }

    /// Whether Sigma is linear in the parameters (no second derivatives).
    pub fn linear(self) -> bool {
        !matches!(self, CovStructure::Ar1)
    }

    /// Starting parameters from per-visit variances `var` (all positive).
    pub fn start(self, var: &[f64]) -> Vec<f64> {
        let m = var.len();
        let mean = var.iter().sum::<f64>() / m as f64;
        match self {
            CovStructure::Us => {
                let mut v = Vec::new();
                for i in 0..m {
                    for j in 0..=i {
                        v.push(if i == j { var[i] } else { 0.0 });
                    }
                }
                v
            }
            CovStructure::Cs => vec![0.0, mean],
            CovStructure::Ar1 => vec![0.0, mean],
            CovStructure::Toep => {
                let mut v = vec![0.0; m];
                v[0] = mean;
                v
            }
        }
    }

    /// Sigma (m x m).
    pub fn sigma(self, theta: &[f64], m: usize) -> DMatrix<f64> {
        match self {
            CovStructure::Us => {
                let mut s = DMatrix::zeros(m, m);
                let mut k = 0;
                for i in 0..m {
                    for j in 0..=i {
                        s[(i, j)] = theta[k];
                        s[(j, i)] = theta[k];
                        k += 1;
                    }
                }
                s
            }
            CovStructure::Cs => {
                DMatrix::from_fn(m, m, |i, j| theta[0] + if i == j { theta[1] } else { 0.0 })
            }
            CovStructure::Toep => DMatrix::from_fn(m, m, |i, j| theta[i.abs_diff(j)]),
            CovStructure::Ar1 => {
                DMatrix::from_fn(m, m, |i, j| theta[1] * theta[0].powi(i.abs_diff(j) as i32))
            }
        }
    }

    /// d Sigma / d theta_k (m x m) for every k.
    pub fn d1(self, theta: &[f64], m: usize) -> Vec<DMatrix<f64>> {
        match self {
            CovStructure::Us => {
                let mut out = Vec::new();
                for i in 0..m {
                    for j in 0..=i {
                        let mut b = DMatrix::zeros(m, m);
                        b[(i, j)] = 1.0;
                        b[(j, i)] = 1.0;
                        out.push(b);
                    }
                }
                out
            }
            CovStructure::Cs => vec![DMatrix::from_element(m, m, 1.0), DMatrix::identity(m, m)],
            CovStructure::Toep => (0..m)
                .map(|d| DMatrix::from_fn(m, m, |i, j| f64::from(u8::from(i.abs_diff(j) == d))))
                .collect(),
            CovStructure::Ar1 => {
                let (rho, s2) = (theta[0], theta[1]);
                vec![
                    DMatrix::from_fn(m, m, |i, j| {
                        let d = i.abs_diff(j) as i32;
                        if d == 0 {
                            0.0
                        } else {
                            s2 * f64::from(d) * rho.powi(d - 1)
                        }
                    }),
                    DMatrix::from_fn(m, m, |i, j| rho.powi(i.abs_diff(j) as i32)),
                ]
            }
        }
    }

    /// d2 Sigma / d theta_k d theta_l, as (k, l, matrix) for the non-zero
    /// ones with k <= l.
    pub fn d2(self, theta: &[f64], m: usize) -> Vec<(usize, usize, DMatrix<f64>)> {
        match self {
            CovStructure::Ar1 => {
                let (rho, s2) = (theta[0], theta[1]);
                vec![
                    (
                        0,
                        0,
                        DMatrix::from_fn(m, m, |i, j| {
                            let d = i.abs_diff(j) as i32;
                            if d < 2 {
                                0.0
                            } else {
                                s2 * f64::from(d * (d - 1)) * rho.powi(d - 2)
                            }
                        }),
                    ),
                    (
                        0,
                        1,
                        DMatrix::from_fn(m, m, |i, j| {
                            let d = i.abs_diff(j) as i32;
                            if d == 0 {
                                0.0
                            } else {
                                f64::from(d) * rho.powi(d - 1)
                            }
                        }),
                    ),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the parameters are admissible apart from positive definiteness.
    pub fn admissible(self, theta: &[f64]) -> bool {
        match self {
            CovStructure::Ar1 => theta[0].abs() < 1.0 && theta[1] > 0.0,
            CovStructure::Cs => theta[1] > 0.0,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for s in [
            CovStructure::Us,
            CovStructure::Cs,
            CovStructure::Ar1,
            CovStructure::Toep,
        ] {
            let m = 4;
            let mut th = s.start(&[2.0, 3.0, 4.0, 5.0]);
            if s == CovStructure::Ar1 {
                th[0] = 0.4;
            }
            let d1 = s.d1(&th, m);
            for (k, dk) in d1.iter().enumerate() {
                let h = 1e-6;
                let mut a = th.clone();
                a[k] += h;
                let mut b = th.clone();
                b[k] -= h;
                let fd = (s.sigma(&a, m) - s.sigma(&b, m)) / (2.0 * h);
                assert!((fd - dk).abs().max() < 1e-6, "{s:?} {k}");
            }
        }
    }
}
