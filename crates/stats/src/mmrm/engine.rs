//! The (restricted) likelihood of the MMRM, its exact gradient and observed
//! Hessian in the covariance parameters, and the Newton-Raphson optimiser.
//!
//! With V = blockdiag(Sigma_i), C = (X' V^-1 X)^-1, b = C X' V^-1 y,
//! r = y - X b and P = V^-1 - V^-1 X C X' V^-1, the objective is
//! `f = -2 log L_R = sum_i log|Sigma_i| + r' V^-1 r + log|X' V^-1 X| + (n - p) log 2 pi`
//! (ML: without `log|X' V^-1 X|` and with `n log 2 pi`), and
//!
//! - `df/dk = tr(P V_k) - y' P V_k P y`,
//! - `d2f/dk dl = tr(P V_kl) - tr(P V_k P V_l) + 2 y' P V_k P V_l P y - y' P V_kl P y`
//!
//! (for ML, `V^-1` in place of `P` inside the traces). Every trace splits
//! into per-subject sums and p x p products (`Q_k = X' V^-1 V_k V^-1 X`,
//! `R_kl = X' V^-1 V_k V^-1 V_l V^-1 X`), so nothing n x n is formed.

#![allow(clippy::needless_range_loop)]

use nalgebra::{Cholesky, DMatrix, DVector};

use super::cov::CovStructure;

/// One subject's rows.
pub(crate) struct Subject {
    pub x: DMatrix<f64>,
    pub y: DVector<f64>,
    /// Visit index of each row.
    pub vis: Vec<usize>,
}

pub(crate) struct Problem {
    pub subjects: Vec<Subject>,
    pub n: usize,
    pub p: usize,
    pub m: usize,
    pub structure: CovStructure,
    pub reml: bool,
}

/// Everything at one parameter value.
pub(crate) struct Eval {
    pub f: f64,
    pub beta: DVector<f64>,
    pub c: DMatrix<f64>,
    pub grad: DVector<f64>,
    pub hess: DMatrix<f64>,
    /// Expected information in f's scale: tr(P V_k P V_l).
    pub expected: DMatrix<f64>,
    /// Q_k = X' V^-1 V_k V^-1 X.
    pub q: Vec<DMatrix<f64>>,
    /// R_kl = X' V^-1 V_k V^-1 V_l V^-1 X (k <= l, row-major over pairs).
    pub r: Vec<DMatrix<f64>>,
    /// X' V^-1 V_kl V^-1 X for the non-zero second derivatives.
    pub q2: Vec<(usize, usize, DMatrix<f64>)>,
}

fn sub(s: &DMatrix<f64>, vis: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(vis.len(), vis.len(), |a, b| s[(vis[a], vis[b])])
}

pub(crate) fn pair(k: usize, l: usize, q: usize) -> usize {
    let (a, b) = if k <= l { (k, l) } else { (l, k) };
    a * q - a * (a + 1) / 2 + b
}

impl Problem {
    /// Evaluates at `theta`; `None` when Sigma is not positive definite (or
    /// the parameters are not admissible).
    pub fn eval(&self, theta: &[f64], derivatives: bool) -> Option<Eval> {
        if !self.structure.admissible(theta) {
            return None;
        }
        let (m, p) = (self.m, self.p);
        let sigma = self.structure.sigma(theta, m);
        Cholesky::new(sigma.clone())?;
        let q = self.structure.n_params(m);
        let d1 = if derivatives {
            self.structure.d1(theta, m)
        } else {
            Vec::new()
        };
        let d2 = if derivatives {
            self.structure.d2(theta, m)
        } else {
            Vec::new()
        };
        // Per-subject inverses.
        let mut inv = Vec::with_capacity(self.subjects.len());
        let mut logdet = 0.0;
        let mut xtvx = DMatrix::<f64>::zeros(p, p);
        let mut xtvy = DVector::<f64>::zeros(p);
        for s in &self.subjects {
            let si = sub(&sigma, &s.vis);
            let ch = Cholesky::new(si)?;
            logdet += ch.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum::<f64>();
            let vi = ch.inverse();
            let vx = &vi * &s.x;
            xtvx += s.x.transpose() * &vx;
            xtvy += vx.transpose() * &s.y;
            inv.push(vi);
        }
        let chx = Cholesky::new(xtvx.clone())?;
        let c = chx.inverse();
        let beta = &c * &xtvy;
        let mut quad = 0.0;
        let mut resid = Vec::with_capacity(self.subjects.len());
        for (s, vi) in self.subjects.iter().zip(&inv) {
            let r = &s.y - &s.x * &beta;
            quad += r.dot(&(vi * &r));
            resid.push(r);
        }
        let ln2pi = (2.0 * std::f64::consts::PI).ln();
        let f = if self.reml {
            let ld_x: f64 = chx.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
            logdet + quad + ld_x + (self.n - p) as f64 * ln2pi
        } else {
            logdet + quad + self.n as f64 * ln2pi
        };
        if !derivatives {
            return Some(Eval {
                f,
                beta,
                c,
                grad: DVector::zeros(0),
                hess: DMatrix::zeros(0, 0),
                expected: DMatrix::zeros(0, 0),
                q: Vec::new(),
                r: Vec::new(),
                q2: Vec::new(),
            });
        }
        let npairs = q * (q + 1) / 2;
        let mut tr1 = vec![0.0; q]; // sum tr(Vi^-1 V_ik)
        let mut rmr = vec![0.0; q]; // sum r' Vi^-1 V_ik Vi^-1 r
        let mut qk = vec![DMatrix::<f64>::zeros(p, p); q];
        let mut wk = vec![DVector::<f64>::zeros(p); q];
        let mut tr2 = vec![0.0; npairs]; // sum tr(Vi^-1 V_k Vi^-1 V_l)
        let mut skl = vec![0.0; npairs]; // sum u_k' Vi^-1 u_l
        let mut rkl = vec![DMatrix::<f64>::zeros(p, p); npairs];
        let mut tr_d2 = vec![0.0; d2.len()];
        let mut rd2r = vec![0.0; d2.len()];
        let mut q2 = vec![DMatrix::<f64>::zeros(p, p); d2.len()];
        let mut a_k: Vec<DMatrix<f64>> = Vec::with_capacity(q); // Vi^-1 V_ik
        let mut u_k: Vec<DVector<f64>> = Vec::with_capacity(q); // V_ik Vi^-1 r
        let mut vx_k: Vec<DMatrix<f64>> = Vec::with_capacity(q); // V_ik Vi^-1 X
        for ((s, vi), r) in self.subjects.iter().zip(&inv).zip(&resid) {
            a_k.clear();
            u_k.clear();
            vx_k.clear();
            let vir = vi * r;
            let vix = vi * &s.x;
            for (k, dk) in d1.iter().enumerate() {
                let b = sub(dk, &s.vis);
                let a = vi * &b;
                tr1[k] += a.trace();
                let u = &b * &vir;
                rmr[k] += vir.dot(&u);
                let bvx = &b * &vix;
                qk[k] += vix.transpose() * &bvx;
                wk[k] += vix.transpose() * &u;
                a_k.push(a);
                u_k.push(u);
                vx_k.push(bvx);
            }
            for k in 0..q {
                let vi_vk_vix = vi * &vx_k[k];
                for l in k..q {
                    let idx = pair(k, l, q);
                    tr2[idx] += (&a_k[k] * &a_k[l]).trace();
                    skl[idx] += u_k[k].dot(&(vi * &u_k[l]));
                    rkl[idx] += vi_vk_vix.transpose() * &vx_k[l];
                }
            }
            for (t, (_, _, dkl)) in d2.iter().enumerate() {
                let b = sub(dkl, &s.vis);
                tr_d2[t] += (vi * &b).trace();
                rd2r[t] += vir.dot(&(&b * &vir));
                q2[t] += vix.transpose() * (&b * &vix);
            }
        }
        let cq: Vec<DMatrix<f64>> = qk.iter().map(|m| &c * m).collect();
        let mut grad = DVector::<f64>::zeros(q);
        for k in 0..q {
            let corr = if self.reml { cq[k].trace() } else { 0.0 };
            grad[k] = tr1[k] - corr - rmr[k];
        }
        let mut hess = DMatrix::<f64>::zeros(q, q);
        let mut expected = DMatrix::<f64>::zeros(q, q);
        for k in 0..q {
            for l in k..q {
                let idx = pair(k, l, q);
                let tr_pvpv = if self.reml {
                    tr2[idx] - 2.0 * (&c * &rkl[idx]).trace() + (&cq[k] * &cq[l]).trace()
                } else {
                    tr2[idx]
                };
                let ypvpvpy = skl[idx] - wk[k].dot(&(&c * &wk[l]));
                let mut h = -tr_pvpv + 2.0 * ypvpvpy;
                for (t, (a, b, _)) in d2.iter().enumerate() {
                    if *a == k && *b == l {
                        let corr = if self.reml {
                            (&c * &q2[t]).trace()
                        } else {
                            0.0
                        };
                        h += tr_d2[t] - corr - rd2r[t];
                    }
                }
                hess[(k, l)] = h;
                hess[(l, k)] = h;
                expected[(k, l)] = tr_pvpv;
                expected[(l, k)] = tr_pvpv;
            }
        }
        Some(Eval {
            f,
            beta,
            c,
            grad,
            hess,
            expected,
            q: qk,
            r: rkl,
            q2: d2
                .iter()
                .zip(q2)
                .map(|((a, b, _), m)| (*a, *b, m))
                .collect(),
        })
    }

    /// Newton-Raphson (Fisher scoring where the Hessian is not positive
    /// definite) with step halving. Returns the estimate, its evaluation and
    /// the iterations, or why it failed.
    pub fn optimise(
        &self,
        start: Vec<f64>,
        max_iter: usize,
    ) -> Result<(Vec<f64>, Eval, usize), String> {
        let mut theta = start;
        let mut cur = self
            .eval(&theta, true)
            .ok_or("the starting covariance is not positive definite")?;
        for it in 1..=max_iter {
            let g = &cur.grad;
            let dir = Cholesky::new(cur.hess.clone())
                .map(|ch| ch.solve(g))
                .or_else(|| Cholesky::new(cur.expected.clone()).map(|ch| ch.solve(g)))
                .ok_or("neither the Hessian nor the expected information is positive definite")?;
            // SAS's relative Hessian criterion g' H^-1 g / |f|.
            let crit = g.dot(&dir).abs() / cur.f.abs().max(1e-8);
            if crit < 1e-16 && it > 1 {
                return Ok((theta, cur, it - 1));
            }
            let mut step = 1.0;
            let mut accepted = None;
            for _ in 0..60 {
                let cand: Vec<f64> = theta
                    .iter()
                    .zip(dir.iter())
                    .map(|(t, d)| t - step * d)
                    .collect();
                if let Some(e) = self.eval(&cand, false) {
                    if e.f <= cur.f + 1e-12 * cur.f.abs().max(1.0) {
                        accepted = Some(cand);
                        break;
                    }
                }
                step *= 0.5;
            }
            let Some(next) = accepted else {
                if crit < 1e-10 {
                    return Ok((theta, cur, it));
                }
                return Err("no step along the Newton direction lowers the objective".into());
            };
            let old_f = cur.f;
            theta = next;
            cur = self
                .eval(&theta, true)
                .ok_or("the covariance left the positive definite region")?;
            if (old_f - cur.f).abs() < 1e-13 * cur.f.abs().max(1.0) && crit < 1e-12 {
                return Ok((theta, cur, it));
            }
        }
        Err(format!("no convergence in {max_iter} iterations"))
    }
}
