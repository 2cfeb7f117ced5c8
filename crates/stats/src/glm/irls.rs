//! Iteratively reweighted least squares with step halving, on flat buffers
//! allocated once per fit: each iteration forms X'WX (lower triangle) and
//! X'Wz in one pass over the columns, factors X'WX by Cholesky in place and
//! solves; no allocation inside the loop.

use super::{logistic_means, loglik, Family, GlmOptions, Prepared};

/// The buffers of one IRLS run.
pub(crate) struct Buffers {
    pub(crate) w: Vec<f64>,
    r: Vec<f64>,
    pub(crate) xw: Vec<f64>,
    /// X'WX, p x p row-major (lower triangle filled, then mirrored).
    pub(crate) info: Vec<f64>,
    /// Its Cholesky factor (lower triangle).
    pub(crate) chol: Vec<f64>,
    pub(crate) rhs: Vec<f64>,
    target: Vec<f64>,
    cand: Vec<f64>,
}

impl Buffers {
    pub(crate) fn new(n: usize, p: usize) -> Self {
        Buffers {
            w: vec![0.0; n],
            r: vec![0.0; n],
            xw: vec![0.0; n * p],
            info: vec![0.0; p * p],
            chol: vec![0.0; p * p],
            rhs: vec![0.0; p],
            target: vec![0.0; p],
            cand: vec![0.0; p],
        }
    }
}

/// The structure of the design's columns: indicator (0/1) columns with at
/// most half their entries 1 are kept as the list of those rows, so X'WX
/// and X'r sum over them instead of multiplying by zeros (treatment-coded
/// factors: arm, site); a column of ones (the intercept) is not weighted
/// (its weighted column is W itself, its sums over an indicator's rows
/// those of W).
pub(crate) struct Columns {
    /// Rows where column j is 1, for indicator columns; empty for dense ones.
    ones: Vec<Vec<u32>>,
    /// For two indicator columns a > b, the rows where both are 1 (at
    /// `a * p + b`; the same for every iteration): empty for the columns of
    /// one factor.
    both: Vec<Vec<u32>>,
    /// Dense columns of ones.
    unit: Vec<bool>,
}

impl Columns {
    pub(crate) fn new(x: &[f64], n: usize, p: usize) -> Self {
        let ones = (0..p)
            .map(|j| {
                let col = &x[j * n..(j + 1) * n];
                let k = col.iter().filter(|v| **v == 1.0).count();
                let indicator = col.iter().all(|v| *v == 0.0 || *v == 1.0);
                if indicator && k > 0 && 2 * k <= n && u32::try_from(n).is_ok() {
                    col.iter()
                        .enumerate()
                        .filter(|(_, v)| **v == 1.0)
                        .map(|(i, _)| i as u32)
                        .collect()
                } else {
                    Vec::new()
                }
            })
            .collect::<Vec<Vec<u32>>>();
        let mut both = vec![Vec::new(); p * p];
        for a in 0..p {
            if ones[a].is_empty() {
                continue;
            }
            let xa = &x[a * n..(a + 1) * n];
            for b in 0..a {
                if !ones[b].is_empty() {
                    both[a * p + b] = ones[b]
                        .iter()
                        .copied()
                        .filter(|&i| xa[i as usize] == 1.0)
                        .collect();
                }
            }
        }
        let unit = (0..p)
            .map(|j| ones[j].is_empty() && n > 0 && x[j * n..(j + 1) * n].iter().all(|v| *v == 1.0))
            .collect();
        Columns { ones, both, unit }
    }
}

/// X'WX into `info` (full symmetric, row-major) and X'r into `rhs`, with
/// `xw` as scratch for the weighted dense columns. The intercept's sums
/// are those of W (`1 * w` is `w`), so they are not taken twice.
#[allow(clippy::too_many_arguments)]
pub(crate) fn normal_equations(
    x: &[f64],
    n: usize,
    p: usize,
    cols: &Columns,
    w: &[f64],
    r: Option<&[f64]>,
    xw: &mut [f64],
    info: &mut [f64],
    rhs: &mut [f64],
) {
    for j in 0..p {
        if cols.ones[j].is_empty() && !cols.unit[j] {
            let col = &x[j * n..(j + 1) * n];
            for ((o, a), b) in xw[j * n..(j + 1) * n].iter_mut().zip(col).zip(w) {
                *o = a * b;
            }
        }
    }
    let xw: &[f64] = xw;
    let wcol = |j: usize| -> &[f64] {
        if cols.unit[j] {
            w
        } else {
            &xw[j * n..(j + 1) * n]
        }
    };
    for a in 0..p {
        let sa = &cols.ones[a];
        if !sa.is_empty() {
            // An indicator: the sums of w (and r) over its rows in one pass.
            let sw = match r {
                Some(r) => {
                    let (sw, sr) = gather2(sa, w, r);
                    rhs[a] = sr;
                    sw
                }
                None => gather(sa, w),
            };
            info[a * p + a] = sw;
            continue;
        }
        let xa = &x[a * n..(a + 1) * n];
        for b in 0..=a {
            if cols.ones[b].is_empty() {
                let s = dot(xa, wcol(b));
                info[a * p + b] = s;
                info[b * p + a] = s;
            }
        }
        if let Some(r) = r {
            rhs[a] = dot(xa, r);
        }
    }
    // Indicator against dense (the intercept's: the indicator's sum of w)
    // and indicator against indicator (w over the rows where both are 1).
    for a in 0..p {
        let sa = &cols.ones[a];
        if sa.is_empty() {
            continue;
        }
        for b in 0..p {
            if b == a {
                continue;
            }
            let sb = &cols.ones[b];
            let s = if sb.is_empty() {
                if cols.unit[b] {
                    info[a * p + a]
                } else {
                    gather(sa, wcol(b))
                }
            } else if b < a {
                gather(&cols.both[a * p + b], w)
            } else {
                continue;
            };
            info[a * p + b] = s;
            info[b * p + a] = s;
        }
    }
}

/// The sum of `v` over the rows `idx`, with four accumulators (independent
/// chains of additions the CPU overlaps, as `dot`).
fn gather(idx: &[u32], v: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let mut c = idx.chunks_exact(4);
    for q in &mut c {
        for k in 0..4 {
            s[k] += v[q[k] as usize];
        }
    }
    for &i in c.remainder() {
        s[0] += v[i as usize];
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// The sums of `w` and of `r` over the rows `idx` in one pass, each as
/// `gather`.
fn gather2(idx: &[u32], w: &[f64], r: &[f64]) -> (f64, f64) {
    let (mut sw, mut sr) = ([0.0; 4], [0.0; 4]);
    let mut c = idx.chunks_exact(4);
    for q in &mut c {
        for k in 0..4 {
            sw[k] += w[q[k] as usize];
            sr[k] += r[q[k] as usize];
        }
    }
    for &i in c.remainder() {
        sw[0] += w[i as usize];
        sr[0] += r[i as usize];
    }
    (
        (sw[0] + sw[1]) + (sw[2] + sw[3]),
        (sr[0] + sr[1]) + (sr[2] + sr[3]),
    )
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: independent chains the CPU can overlap.
    let (mut s0, mut s1, mut s2, mut s3) = (0.0, 0.0, 0.0, 0.0);
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        s0 += x[0] * y[0];
        s1 += x[1] * y[1];
        s2 += x[2] * y[2];
        s3 += x[3] * y[3];
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s0 += x * y;
    }
    (s0 + s1) + (s2 + s3)
}

/// Cholesky factor of the symmetric p x p `a` into `l` (lower triangle,
/// row-major). False when `a` is not numerically positive definite.
pub(crate) fn cholesky(a: &[f64], p: usize, l: &mut [f64]) -> bool {
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 || s.is_infinite() {
                    return false;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    true
}

/// Solves L L' x = b in place.
pub(crate) fn chol_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// The inverse of L L' (p x p row-major) into `out`, using `col` (length p)
/// as scratch.
pub(crate) fn chol_inverse(l: &[f64], p: usize, out: &mut [f64], col: &mut [f64]) {
    for j in 0..p {
        col.iter_mut().for_each(|v| *v = 0.0);
        col[j] = 1.0;
        chol_solve(l, p, col);
        for i in 0..p {
            out[i * p + j] = col[i];
        }
    }
}

/// The linear predictor `off + X beta` into `out`, adding the coefficient of
/// an indicator column at its rows only (the same sums, term by term in the
/// same order, as the dense product: `b * 0` adds nothing and `b * 1` is `b`).
pub(super) fn eta_sparse(pr: &Prepared, cols: &Columns, beta: &[f64], out: &mut [f64]) {
    let n = pr.n;
    out.copy_from_slice(pr.off);
    for (j, &b) in beta.iter().enumerate() {
        if b == 0.0 {
            continue;
        }
        let ones = &cols.ones[j];
        if ones.is_empty() || !b.is_finite() {
            for (o, v) in out.iter_mut().zip(&pr.x[j * n..(j + 1) * n]) {
                *o += b * v;
            }
        } else {
            for &i in ones {
                out[i as usize] += b;
            }
        }
    }
}

/// The means of the linear predictors `eta` into `mu`.
fn means(family: Family, eta: &[f64], mu: &mut [f64]) {
    match family {
        Family::Binomial => logistic_means(eta, mu),
        Family::Poisson => {
            for (m, e) in mu.iter_mut().zip(eta) {
                *m = family.inv_link(*e);
            }
        }
    }
}

/// How an IRLS run ended.
pub(crate) struct IrlsEnd {
    pub(crate) iterations: usize,
    pub(crate) converged: bool,
    /// The log-likelihood at the estimates when `eta` and `mu` already hold
    /// them (convergence of the deviance), so the caller need not recompute.
    pub(crate) llf: Option<f64>,
}

/// IRLS with step halving; writes the estimates into `beta` (left empty
/// when X'WX became singular at the first iteration) and returns the
/// iterations and convergence. No allocation once `beta` has capacity p.
#[allow(clippy::too_many_arguments)]
pub(super) fn irls(
    family: Family,
    pr: &Prepared,
    opts: GlmOptions,
    start: Option<&[f64]>,
    cols: &Columns,
    b: &mut Buffers,
    eta: &mut [f64],
    mu: &mut [f64],
    beta: &mut Vec<f64>,
) -> IrlsEnd {
    let (n, p) = (pr.n, pr.p);
    beta.clear();
    let mut warm = false;
    if let Some(b0) = start {
        // Means only (no deviance): the first step is taken as from a cold
        // start; the later ones are guarded by step halving.
        eta_sparse(pr, cols, b0, eta);
        means(family, eta, mu);
        let finite = mu.iter().all(|m| m.is_finite());
        if finite {
            beta.extend_from_slice(b0);
            warm = true;
        }
    }
    if !warm {
        // Starting means as statsmodels: (y + 1/2) / 2 (binomial),
        // (y + mean y) / 2 (Poisson).
        let ybar = pr.y.iter().sum::<f64>() / n as f64;
        for i in 0..n {
            let y = pr.y[i];
            mu[i] = match family {
                Family::Binomial => (y + 0.5) / 2.0,
                Family::Poisson => ((y + ybar) / 2.0).max(1e-8),
            };
            // The link of the mean, without the offset (as statsmodels'
            // start: z = eta - offset below).
            eta[i] = match family {
                Family::Binomial => (mu[i] / (1.0 - mu[i])).ln(),
                Family::Poisson => mu[i].ln(),
            };
        }
    }
    let mut dev_old = f64::INFINITY;
    for it in 1..=opts.max_iter {
        for i in 0..n {
            let w = family.variance(mu[i]).max(1e-300);
            b.w[i] = w;
            // W z = W (eta - offset) + (y - mu)
            b.r[i] = w * (eta[i] - pr.off[i]) + (pr.y[i] - mu[i]);
        }
        normal_equations(
            pr.x,
            n,
            p,
            cols,
            &b.w,
            Some(&b.r),
            &mut b.xw,
            &mut b.info,
            &mut b.rhs,
        );
        if !cholesky(&b.info, p, &mut b.chol) {
            // Weights underflowed: the data are separated.
            return IrlsEnd {
                iterations: it,
                converged: false,
                llf: None,
            };
        }
        b.target.copy_from_slice(&b.rhs);
        chol_solve(&b.chol, p, &mut b.target);
        // Newton decrement of the step: (b_new - b)' X'WX (b_new - b) is
        // twice the log-likelihood still to gain; when it is below the
        // tolerance, take the step and stop (no deviance needed).
        if !beta.is_empty() && dev_old.is_finite() {
            let mut dec = 0.0;
            for a in 0..p {
                let da = b.target[a] - beta[a];
                let mut s = 0.0;
                for c in 0..p {
                    s += b.info[a * p + c] * (b.target[c] - beta[c]);
                }
                dec += da * s;
            }
            if dec.is_finite() && dec <= opts.tol * (dev_old.abs() + 0.1) {
                beta.copy_from_slice(&b.target);
                return IrlsEnd {
                    iterations: it,
                    converged: true,
                    llf: None,
                };
            }
            // Close to the optimum (the step gains at most ~dec/2 of
            // log-likelihood, in a region where the quadratic model holds):
            // take the full step without the deviance (no logarithms); the
            // next decrement decides convergence.
            if dec.is_finite() && dec < 1e-2 {
                eta_sparse(pr, cols, &b.target, eta);
                means(family, eta, mu);
                beta.copy_from_slice(&b.target);
                continue;
            }
        }
        b.cand.copy_from_slice(&b.target);
        let mut ll;
        let mut dev;
        let mut halvings = 0;
        loop {
            eta_sparse(pr, cols, &b.cand, eta);
            ll = loglik(family, pr, eta, mu);
            dev = -2.0 * ll;
            let worse = !dev.is_finite() || (dev_old.is_finite() && dev > dev_old * (1.0 + 1e-14));
            if !worse
                || beta.is_empty()
                || !dev_old.is_finite() && dev.is_finite()
                || halvings >= 40
            {
                break;
            }
            halvings += 1;
            for (c, bb) in b.cand.iter_mut().zip(beta.iter()) {
                *c = 0.5 * (*c + bb);
            }
        }
        beta.clear();
        beta.extend_from_slice(&b.cand);
        if dev_old.is_finite() && (dev_old - dev).abs() <= opts.tol * (dev.abs() + 0.1) {
            return IrlsEnd {
                iterations: it,
                converged: true,
                llf: Some(ll),
            };
        }
        dev_old = dev;
    }
    IrlsEnd {
        iterations: opts.max_iter,
        converged: false,
        llf: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_inverts_a_known_system() {
        // A = [[4, 2], [2, 3]]: inverse [[3, -2], [-2, 4]] / 8.
        let a = [4.0, 2.0, 2.0, 3.0];
        let mut l = [0.0; 4];
        assert!(cholesky(&a, 2, &mut l));
        let mut b = [2.0, 1.0];
        chol_solve(&l, 2, &mut b);
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15);
        let (mut inv, mut col) = ([0.0; 4], [0.0; 2]);
        chol_inverse(&l, 2, &mut inv, &mut col);
        for (g, w) in inv.iter().zip([3.0 / 8.0, -0.25, -0.25, 0.5]) {
            assert!((g - w).abs() < 1e-15);
        }
        assert!(!cholesky(&[1.0, 1.0, 1.0, 1.0], 2, &mut l));
    }
}
