//! Inference after an MMRM fit: contrasts with Satterthwaite or
//! Kenward-Roger degrees of freedom, F tests (multi-row contrasts), type III
//! tests of formula terms and least-squares means.
//!
//! - Satterthwaite (one row l): `df = 2 (l'Cl)^2 / (g' A g)` with
//!   `g_k = l' dC/dtheta_k l = l' C Q_k C l` and `A = 2 H^-1` (H the observed
//!   Hessian of `-2 log L_R`); several rows: Fai and Cornelius's
//!   eigen-decomposition (SAS): `E = sum nu_m / (nu_m - 2)` over the
//!   components with `nu_m > 2`, `df = 2E / (E - q)`.
//! - Kenward-Roger (1997): the adjusted covariance
//!   `Phi_A = C + 2 C [sum_ij W_ij (Q_ij - P_i C P_j - R_ij / 4)] C`
//!   (`P_i = -Q_i`, `Q_ij = X'V^-1 V_i V^-1 V_j V^-1 X`,
//!   `R_ij = X'V^-1 V_ij V^-1 X`, `W = A`) and the df `m` and scale `lambda`
//!   of their F approximation; one row: SE from `Phi_A`, df = m.
//! - Type III: for a term, contrasts among the cell means of its
//!   categorical factors (each cell averaged with equal weights over the
//!   levels of the model's other categorical factors, numeric covariates at
//!   their means; a numeric factor of the term enters as the slope), as SAS's
//!   type 3 tests and emmeans' joint tests.

#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use nalgebra::{Cholesky, DMatrix, DVector, SymmetricEigen};

use super::engine::{pair, Eval, Problem};
use super::{DfMethod, MmrmFit};
use crate::dist::{f_sf, t_two_sided_p, t_upper_quantile};
use crate::formula::{Design, ModelSpec};
use crate::frame::{Column, Frame};
use crate::StatsError;

/// What inference needs from the fit.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub beta: DVector<f64>,
    /// Unadjusted covariance of beta.
    pub c: DMatrix<f64>,
    /// Kenward-Roger adjusted covariance (equal to `c` for Satterthwaite).
    pub phi_a: DMatrix<f64>,
    /// dC/dtheta_k = C Q_k C.
    pub dc: Vec<DMatrix<f64>>,
    /// P_i = -Q_i (Kenward-Roger).
    pub p_i: Vec<DMatrix<f64>>,
    /// Asymptotic covariance of theta.
    pub a: DMatrix<f64>,
}

impl State {
    pub fn new(
        prob: &Problem,
        _theta: &[f64],
        ev: &Eval,
        method: DfMethod,
    ) -> Result<State, StatsError> {
        let q = ev.q.len();
        let h = ev.hess.clone();
        let a = Cholesky::new(h.clone())
            .map(|ch| ch.inverse() * 2.0)
            .or_else(|| h.try_inverse().map(|m| m * 2.0))
            .ok_or_else(|| {
                StatsError::Invalid(
                    "the Hessian of the REML objective is singular at the estimate: a \
                     covariance parameter is not identified; try a simpler covariance"
                        .into(),
                )
            })?;
        let c = ev.c.clone();
        let dc: Vec<DMatrix<f64>> = ev.q.iter().map(|qk| &c * qk * &c).collect();
        let p_i: Vec<DMatrix<f64>> = ev.q.iter().map(|qk| -qk.clone()).collect();
        let mut phi_a = c.clone();
        if method == DfMethod::KenwardRoger {
            let p = prob.p;
            let mut inner = DMatrix::<f64>::zeros(p, p);
            for i in 0..q {
                for j in 0..q {
                    let w = a[(i, j)];
                    if w == 0.0 {
                        continue;
                    }
                    let qij = if i <= j {
                        ev.r[pair(i, j, q)].clone()
                    } else {
                        ev.r[pair(j, i, q)].transpose()
                    };
                    let mut term = qij - &p_i[i] * &c * &p_i[j];
                    for (k, l, r2) in &ev.q2 {
                        if (*k == i && *l == j) || (*k == j && *l == i) {
                            term -= r2 * 0.25;
                        }
                    }
                    inner += term * w;
                }
            }
            phi_a = &c + (&c * inner * &c) * 2.0;
        }
        Ok(State {
            beta: ev.beta.clone(),
            c,
            phi_a,
            dc,
            p_i,
            a,
        })
    }

    pub fn cov_rowmajor(&self) -> Vec<f64> {
        let p = self.phi_a.nrows();
        (0..p * p).map(|t| self.phi_a[(t / p, t % p)]).collect()
    }

    fn satterthwaite_df(&self, l: &DVector<f64>) -> f64 {
        let v = l.dot(&(&self.c * l));
        let g = DVector::from_iterator(self.dc.len(), self.dc.iter().map(|d| l.dot(&(d * l))));
        let den = g.dot(&(&self.a * &g));
        if den <= 0.0 {
            f64::INFINITY
        } else {
            2.0 * v * v / den
        }
    }

    /// Kenward-Roger's df `m` and scale `lambda` for contrast rows `l` (p x q).
    fn kr_df(&self, l: &DMatrix<f64>) -> (f64, f64) {
        let q = l.ncols() as f64;
        let phi = &self.c;
        let m = l.transpose() * phi * l;
        let Some(minv) = m.clone().try_inverse() else {
            return (f64::NAN, 1.0);
        };
        let theta = l * minv * l.transpose();
        let tp = &theta * phi;
        let u: Vec<DMatrix<f64>> = self.p_i.iter().map(|pi| &tp * pi * phi).collect();
        let n = u.len();
        let (mut a1, mut a2) = (0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                let w = self.a[(i, j)];
                a1 += w * u[i].trace() * u[j].trace();
                a2 += w * (&u[i] * &u[j]).trace();
            }
        }
        let b = (a1 + 6.0 * a2) / (2.0 * q);
        let g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2);
        let den = 3.0 * q + 2.0 * (1.0 - g);
        let (c1, c2, c3) = (g / den, (q - g) / den, (q + 2.0 - g) / den);
        let e_star = 1.0 / (1.0 - a2 / q);
        let v_star = (2.0 / q) * (1.0 + c1 * b) / ((1.0 - c2 * b).powi(2) * (1.0 - c3 * b));
        let rho = v_star / (2.0 * e_star * e_star);
        let mdf = 4.0 + (q + 2.0) / (q * rho - 1.0);
        let lambda = mdf / (e_star * (mdf - 2.0));
        (mdf, lambda)
    }
}

/// A one-row contrast `l' beta`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contrast {
    pub estimate: f64,
    pub std_error: f64,
    pub df: f64,
    pub t: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// An F test of several contrast rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FTest {
    pub term: String,
    pub num_df: f64,
    pub den_df: f64,
    pub f: f64,
    pub p: f64,
}

/// A least-squares mean of one cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LsMean {
    /// (variable, level) of the cell.
    pub cell: Vec<(String, String)>,
    #[serde(flatten)]
    pub value: Contrast,
}

fn t_ci(est: f64, se: f64, df: f64) -> (f64, f64) {
    let q = if df.is_finite() && df > 0.0 {
        t_upper_quantile(0.025, df)
    } else {
        crate::glm::Z_975
    };
    (est - q * se, est + q * se)
}

impl MmrmFit {
    /// The contrast `l' beta` with the fit's df method.
    pub fn contrast(&self, l: &[f64]) -> Result<Contrast, StatsError> {
        let s = &self.state;
        let p = s.beta.len();
        if l.len() != p {
            return Err(StatsError::Invalid(format!(
                "a contrast needs {p} entries, one per model column; {} given",
                l.len()
            )));
        }
        let lv = DVector::from_column_slice(l);
        let est = lv.dot(&s.beta);
        let (var, df) = match self.df_method {
            DfMethod::Satterthwaite => (lv.dot(&(&s.c * &lv)), s.satterthwaite_df(&lv)),
            DfMethod::KenwardRoger => {
                let lm = DMatrix::from_column_slice(p, 1, l);
                (lv.dot(&(&s.phi_a * &lv)), s.kr_df(&lm).0)
            }
        };
        let se = var.max(0.0).sqrt();
        let t = est / se;
        let (ci_low, ci_high) = t_ci(est, se, df);
        Ok(Contrast {
            estimate: est,
            std_error: se,
            df,
            t,
            p: if df.is_finite() {
                t_two_sided_p(t, df)
            } else {
                2.0 * crate::mvt::norm_cdf(-t.abs())
            },
            ci_low,
            ci_high,
        })
    }

    /// The F test that every row of `rows` (each a contrast of the p
    /// coefficients) is zero; dependent rows are dropped.
    pub fn f_test(&self, term: &str, rows: &[Vec<f64>]) -> Result<FTest, StatsError> {
        let s = &self.state;
        let p = s.beta.len();
        if rows.is_empty() || rows.iter().any(|r| r.len() != p) {
            return Err(StatsError::Invalid(format!(
                "test of `{term}`: no contrast rows of the model's width"
            )));
        }
        let l = DMatrix::from_fn(p, rows.len(), |i, j| rows[j][i]);
        // Reduce to independent directions by the eigen-decomposition of L'CL.
        let m = l.transpose() * &s.c * &l;
        let eig = SymmetricEigen::new(m);
        let max = eig.eigenvalues.iter().fold(0.0f64, |a, v| a.max(*v));
        let keep: Vec<usize> = (0..eig.eigenvalues.len())
            .filter(|&k| eig.eigenvalues[k] > 1e-10 * max.max(1e-300))
            .collect();
        if keep.is_empty() {
            return Err(StatsError::Invalid(format!(
                "test of `{term}`: nothing is estimable"
            )));
        }
        let q = keep.len();
        match self.df_method {
            DfMethod::Satterthwaite => {
                let mut f = 0.0;
                let mut e = 0.0;
                let mut nus = Vec::new();
                for &k in &keep {
                    let u = eig.eigenvectors.column(k);
                    let lk = &l * u;
                    let d = eig.eigenvalues[k];
                    f += lk.dot(&s.beta).powi(2) / d;
                    let nu = s.satterthwaite_df(&lk);
                    nus.push(nu);
                    if nu > 2.0 {
                        e += nu / (nu - 2.0);
                    }
                }
                let qf = q as f64;
                f /= qf;
                let den = if q == 1 {
                    nus[0]
                } else if e > qf {
                    2.0 * e / (e - qf)
                } else {
                    nus.iter().cloned().fold(f64::INFINITY, f64::min)
                };
                Ok(FTest {
                    term: term.to_string(),
                    num_df: qf,
                    den_df: den,
                    f,
                    p: f_sf(f, qf, den),
                })
            }
            DfMethod::KenwardRoger => {
                let basis =
                    DMatrix::from_fn(p, q, |i, j| (&l * eig.eigenvectors.column(keep[j]))[i]);
                let (mdf, lambda) = s.kr_df(&basis);
                let ma = basis.transpose() * &s.phi_a * &basis;
                let lb = basis.transpose() * &s.beta;
                let w = ma
                    .try_inverse()
                    .map(|mi| lb.dot(&(mi * &lb)))
                    .ok_or_else(|| StatsError::Invalid(format!("test of `{term}`: singular")))?;
                let qf = q as f64;
                let f = if q == 1 { w } else { lambda * w / qf };
                Ok(FTest {
                    term: term.to_string(),
                    num_df: qf,
                    den_df: mdf,
                    f,
                    p: f_sf(f, qf, mdf),
                })
            }
        }
    }
}

/// The reference grid: every combination of the levels of the model's
/// categorical variables, numeric variables at their mean over the rows
/// used, and its design rows.
pub struct Grid {
    /// Categorical variables and their levels.
    pub factors: Vec<(String, Vec<String>)>,
    /// Level index of each factor in each grid row.
    pub cells: Vec<Vec<usize>>,
    /// Design rows (grid rows x p).
    pub rows: DMatrix<f64>,
    numeric: Vec<(String, f64)>,
}

fn grid_frame(
    spec: &ModelSpec,
    factors: &[(String, Vec<String>)],
    cells: &[Vec<usize>],
    numeric: &[(String, f64)],
    shift: &[String],
) -> Result<DMatrix<f64>, StatsError> {
    let g = cells.len();
    let mut f = Frame::new();
    for (k, (name, lv)) in factors.iter().enumerate() {
        f.push(
            name,
            Column::Text(cells.iter().map(|c| lv[c[k]].clone()).collect()),
        )?;
    }
    for (name, mean) in numeric {
        let v = if shift.contains(name) {
            mean + 1.0
        } else {
            *mean
        };
        f.push(name, Column::Num(vec![v; g]))?;
    }
    let resp = spec.formula.response.var.clone();
    if f.column(&resp).is_none() {
        f.push(&resp, Column::Num(vec![0.0; g]))?;
    }
    let d = spec.design(&f)?;
    if d.nobs != g {
        return Err(StatsError::Invalid(
            "the reference grid lost rows (a transform undefined at a covariate's mean)".into(),
        ));
    }
    Ok(DMatrix::from_fn(g, d.ncols(), |i, j| d.x[j * g + i]))
}

impl Grid {
    /// Builds the grid of `spec` over `frame`'s rows used in `d`.
    pub fn new(spec: &ModelSpec, frame: &Frame, d: &Design) -> Result<Grid, StatsError> {
        let mut factors = Vec::new();
        let mut numeric = Vec::new();
        for v in spec.formula.variables() {
            if v == spec.formula.response.var {
                continue;
            }
            if let Some(lv) = spec.levels_of(&v) {
                factors.push((v, lv));
            } else if let Some(Column::Num(x)) = frame.column(&v) {
                let mean = d.rows.iter().map(|&i| x[i]).sum::<f64>() / d.rows.len().max(1) as f64;
                numeric.push((v, mean));
            }
        }
        let total: usize = factors.iter().map(|(_, l)| l.len()).product();
        if total > 200_000 {
            return Err(StatsError::Invalid(format!(
                "the reference grid of LS means would have {total} cells; too many factor levels"
            )));
        }
        let mut cells = Vec::with_capacity(total);
        for mut t in 0..total {
            let mut c = Vec::with_capacity(factors.len());
            for (_, l) in &factors {
                c.push(t % l.len());
                t /= l.len();
            }
            cells.push(c);
        }
        let rows = grid_frame(spec, &factors, &cells, &numeric, &[])?;
        Ok(Grid {
            factors,
            cells,
            rows,
            numeric,
        })
    }

    fn factor_index(&self, var: &str) -> Result<usize, StatsError> {
        self.factors
            .iter()
            .position(|(n, _)| n == var)
            .ok_or_else(|| {
                StatsError::Invalid(format!(
                    "`{var}` is not a categorical variable of the model"
                ))
            })
    }

    /// The averaged design row of each cell of `by` (levels of the factors
    /// in `by`, first varying fastest), from design rows `rows`.
    fn cell_rows(&self, by: &[usize], rows: &DMatrix<f64>) -> (Vec<Vec<usize>>, DMatrix<f64>) {
        let sizes: Vec<usize> = by.iter().map(|&k| self.factors[k].1.len()).collect();
        let ncell: usize = sizes.iter().product();
        let p = rows.ncols();
        let mut sum = DMatrix::<f64>::zeros(ncell, p);
        let mut cnt = vec![0usize; ncell];
        for (g, c) in self.cells.iter().enumerate() {
            let mut idx = 0;
            let mut mult = 1;
            for (b, &k) in by.iter().enumerate() {
                idx += c[k] * mult;
                mult *= sizes[b];
            }
            for j in 0..p {
                sum[(idx, j)] += rows[(g, j)];
            }
            cnt[idx] += 1;
        }
        for (i, n) in cnt.iter().enumerate() {
            for j in 0..p {
                sum[(i, j)] /= (*n).max(1) as f64;
            }
        }
        let labels = (0..ncell)
            .map(|mut t| {
                sizes
                    .iter()
                    .map(|s| {
                        let v = t % s;
                        t /= s;
                        v
                    })
                    .collect()
            })
            .collect();
        (labels, sum)
    }
}

/// LS means of every cell of the factors `by`.
pub fn ls_means(fit: &MmrmFit, grid: &Grid, by: &[&str]) -> Result<Vec<LsMean>, StatsError> {
    let idx: Vec<usize> = by
        .iter()
        .map(|v| grid.factor_index(v))
        .collect::<Result<_, _>>()?;
    let (labels, rows) = grid.cell_rows(&idx, &grid.rows);
    let mut out = Vec::with_capacity(labels.len());
    for (c, lab) in labels.iter().enumerate() {
        let l: Vec<f64> = rows.row(c).iter().copied().collect();
        out.push(LsMean {
            cell: idx
                .iter()
                .zip(lab)
                .map(|(&k, &v)| (grid.factors[k].0.clone(), grid.factors[k].1[v].clone()))
                .collect(),
            value: fit.contrast(&l)?,
        });
    }
    Ok(out)
}

/// The difference of LS means `arm = level` minus `arm = reference` at each
/// level of `at` (e.g. each visit).
pub fn ls_mean_differences(
    fit: &MmrmFit,
    grid: &Grid,
    arm: &str,
    level: &str,
    reference: &str,
    at: &str,
) -> Result<Vec<(String, Contrast)>, StatsError> {
    let ka = grid.factor_index(arm)?;
    let kv = grid.factor_index(at)?;
    let (labels, rows) = grid.cell_rows(&[ka, kv], &grid.rows);
    let lv = &grid.factors[ka].1;
    let find = |name: &str| {
        lv.iter()
            .position(|x| x == name)
            .ok_or_else(|| StatsError::UnknownLevel {
                column: arm.to_string(),
                level: name.to_string(),
                levels: lv.join(", "),
            })
    };
    let (a, r) = (find(level)?, find(reference)?);
    let mut out = Vec::new();
    for (v, vname) in grid.factors[kv].1.iter().enumerate() {
        let ia = labels.iter().position(|c| c[0] == a && c[1] == v);
        let ir = labels.iter().position(|c| c[0] == r && c[1] == v);
        if let (Some(ia), Some(ir)) = (ia, ir) {
            let l: Vec<f64> = (rows.row(ia) - rows.row(ir)).iter().copied().collect();
            out.push((vname.clone(), fit.contrast(&l)?));
        }
    }
    Ok(out)
}

/// Type III F tests of every term of the model (except the intercept).
pub fn type3(fit: &MmrmFit, spec: &ModelSpec, grid: &Grid) -> Result<Vec<FTest>, StatsError> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    for term in &spec.term_info {
        if term.name == "Intercept" || seen.insert(term.name.clone(), ()).is_some() {
            continue;
        }
        let vars: Vec<String> = term.name.split(':').map(|s| strip_var(spec, s)).collect();
        let cats: Vec<usize> = vars
            .iter()
            .filter_map(|v| grid.factors.iter().position(|(n, _)| n == v))
            .collect();
        let nums: Vec<String> = vars
            .iter()
            .filter(|v| grid.numeric.iter().any(|(n, _)| n == *v))
            .cloned()
            .collect();
        // Design rows of the term's numeric derivative: inclusion-exclusion
        // over the shifted numeric factors.
        let mut rows = DMatrix::<f64>::zeros(grid.rows.nrows(), grid.rows.ncols());
        let k = nums.len();
        for mask in 0u32..(1 << k) {
            let shifted: Vec<String> = (0..k)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| nums[i].clone())
                .collect();
            let sign = if (k - shifted.len()) % 2 == 0 {
                1.0
            } else {
                -1.0
            };
            let r = if shifted.is_empty() {
                grid.rows.clone()
            } else {
                grid_frame(spec, &grid.factors, &grid.cells, &grid.numeric, &shifted)?
            };
            rows += r * sign;
        }
        let (labels, cellrows) = grid.cell_rows(&cats, &rows);
        // Interaction contrasts: Kronecker product of "level j minus level 0".
        let sizes: Vec<usize> = cats.iter().map(|&c| grid.factors[c].1.len()).collect();
        let mut contrasts: Vec<Vec<f64>> = Vec::new();
        let combos: usize = sizes.iter().map(|s| s - 1).product();
        for mut t in 0..combos {
            let pick: Vec<usize> = sizes
                .iter()
                .map(|s| {
                    let v = t % (s - 1) + 1;
                    t /= s - 1;
                    v
                })
                .collect();
            let mut l = vec![0.0; rows.ncols()];
            for (ci, lab) in labels.iter().enumerate() {
                // coefficient: product over factors of (+1 at pick, -1 at 0, 0 otherwise)
                let mut w = 1.0;
                for (f, &lv) in lab.iter().enumerate() {
                    w *= if lv == pick[f] {
                        1.0
                    } else if lv == 0 {
                        -1.0
                    } else {
                        0.0
                    };
                }
                if w != 0.0 {
                    for j in 0..l.len() {
                        l[j] += w * cellrows[(ci, j)];
                    }
                }
            }
            contrasts.push(l);
        }
        if cats.is_empty() {
            contrasts = vec![cellrows.row(0).iter().copied().collect()];
        }
        out.push(fit.f_test(&term.name, &contrasts)?);
    }
    Ok(out)
}

/// The variable of a factor name (`C(x)` -> `x`, `log(x)` -> `x`).
fn strip_var(spec: &ModelSpec, factor: &str) -> String {
    spec.formula
        .factors
        .iter()
        .find(|f| f.name == factor)
        .map_or_else(|| factor.to_string(), |f| f.var.clone())
}
