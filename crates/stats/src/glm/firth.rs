//! Firth's penalised likelihood for logistic regression.

use nalgebra::{Cholesky, DMatrix, DVector};

use super::{loglik, Family, GlmOptions, Prepared};
use crate::StatsError;

/// Firth's penalised logistic regression by modified-score Newton steps
/// with step halving on the penalised log-likelihood. `fixed[j]` holds
/// coefficient j at 0 (for penalised likelihood-ratio tests).
pub(super) fn firth(
    pr: &Prepared,
    fixed: &[bool],
    opts: GlmOptions,
) -> Result<(Vec<f64>, usize, bool, f64), StatsError> {
    let (n, p) = (pr.n, pr.p);
    let free: Vec<usize> = (0..p).filter(|&j| !fixed[j]).collect();
    let mut beta = vec![0.0; p];
    let mut eta = vec![0.0; n];
    let mut mu = vec![0.0; n];
    let penalised = |b: &[f64], eta: &mut [f64], mu: &mut [f64]| -> Option<f64> {
        pr.eta(b, eta);
        let l = loglik(Family::Binomial, pr, eta, mu);
        let w: Vec<f64> = mu.iter().map(|m| m * (1.0 - m)).collect();
        let ch = Cholesky::new(pr.xtwx(&w))?;
        let logdet: f64 = ch.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
        Some(l + 0.5 * logdet)
    };
    let mut pl = penalised(&beta, &mut eta, &mut mu).ok_or_else(|| {
        StatsError::Invalid("Firth: the Fisher information is singular at the start".into())
    })?;
    for it in 1..=opts.max_iter {
        pr.eta(&beta, &mut eta);
        let _ = loglik(Family::Binomial, pr, &eta, &mut mu);
        let w: Vec<f64> = mu.iter().map(|m| (m * (1.0 - m)).max(1e-300)).collect();
        let info = pr.xtwx(&w);
        let ch = Cholesky::new(info).ok_or_else(|| {
            StatsError::Invalid("Firth: the Fisher information became singular".into())
        })?;
        let inv = ch.inverse();
        // hat values h_i = w_i x_i' I^{-1} x_i
        let mut score_r = vec![0.0; n];
        for i in 0..n {
            let mut h = 0.0;
            for a in 0..p {
                let xa = pr.x[a * n + i];
                if xa == 0.0 {
                    continue;
                }
                for b in 0..p {
                    h += xa * inv[(a, b)] * pr.x[b * n + i];
                }
            }
            h *= w[i];
            score_r[i] = pr.y[i] - mu[i] + h * (0.5 - mu[i]);
        }
        let u = pr.xt(&score_r);
        // Newton step on the free coefficients.
        let k = free.len();
        let mut ff = DMatrix::<f64>::zeros(k, k);
        let full = pr.xtwx(&w);
        for (a, &i) in free.iter().enumerate() {
            for (b, &j) in free.iter().enumerate() {
                ff[(a, b)] = full[(i, j)];
            }
        }
        let uf = DVector::from_iterator(k, free.iter().map(|&j| u[j]));
        let step_f = Cholesky::new(ff)
            .map(|c| c.solve(&uf))
            .ok_or_else(|| StatsError::Invalid("Firth: singular information".into()))?;
        let mut step = vec![0.0; p];
        for (a, &j) in free.iter().enumerate() {
            step[j] = step_f[a];
        }
        // Cap the step length (as logistf's maxstep = 5).
        let mx = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if mx > 5.0 {
            for s in &mut step {
                *s *= 5.0 / mx;
            }
        }
        let mut cand: Vec<f64>;
        let mut halvings = 0;
        loop {
            cand = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
            match penalised(&cand, &mut eta, &mut mu) {
                Some(v) if v >= pl - 1e-12 * pl.abs().max(1.0) || halvings >= 40 => {
                    pl = v;
                    break;
                }
                _ => {
                    halvings += 1;
                    for s in &mut step {
                        *s *= 0.5;
                    }
                    if halvings > 40 {
                        return Ok((beta, it, false, pl));
                    }
                }
            }
        }
        beta = cand;
        let mx = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let umax = free.iter().fold(0.0f64, |m, &j| m.max(u[j].abs()));
        if mx < opts.tol.max(1e-14) * 1e2 && umax < 1e-8 {
            return Ok((beta, it, true, pl));
        }
    }
    Ok((beta, opts.max_iter, false, pl))
}
