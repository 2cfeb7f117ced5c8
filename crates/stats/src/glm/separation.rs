//! Separation: the maximum-likelihood estimates do not exist (logistic:
//! fitted probabilities of 0 or 1; Poisson: a group without events).

use crate::formula::Design;

/// Logistic separation, from the fitted means and the standard errors of
/// the columns of `d`.
pub(super) fn separation_report(
    d: &Design,
    mu: &[f64],
    std_errors: &[f64],
    converged: bool,
) -> Option<String> {
    let extreme = mu
        .iter()
        .filter(|&&m| !(1e-9..=1.0 - 1e-9).contains(&m))
        .count();
    if extreme == 0 && converged {
        return None;
    }
    let n = d.nobs as f64;
    let mut cols = Vec::new();
    for (j, se) in std_errors.iter().enumerate() {
        let c = d.col(j);
        let mean = c.iter().sum::<f64>() / n;
        let sd = (c.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        let scale = if sd > 0.0 { sd } else { 1.0 };
        let v = se * scale;
        if v.is_nan() || v > 20.0 {
            cols.push(format!("`{}`", d.column_names[j]));
        }
    }
    if extreme == 0 && cols.is_empty() && converged {
        return None;
    }
    Some(format!(
        "separation: {extreme} of {} participants have a fitted probability of numerically 0 \
         or 1{}{}; the maximum-likelihood estimates do not exist (statsmodels raises \
         PerfectSeparationError, R warns of fitted probabilities 0 or 1); fit with --firth \
         (Firth's penalised likelihood) or merge the sparse categories",
        d.nobs,
        if cols.is_empty() {
            String::new()
        } else {
            format!(
                " and the estimates of {} drift to infinity (standard error of a 1-SD change \
                 above 20 on the logit scale)",
                cols.join(", ")
            )
        },
        if converged {
            ""
        } else {
            ", and IRLS did not converge"
        }
    ))
}

/// Poisson's separation: rows with no events whose fitted mean is
/// numerically 0 (a category, or a side of a covariate, without any event),
/// where the maximum-likelihood estimate is minus infinity.
/// `y` is the response fitted (that of `d` or a refit's).
pub(super) fn zero_rate_report(
    d: &Design,
    y: &[f64],
    mu: &[f64],
    estimates: &[f64],
    std_errors: &[f64],
) -> Option<String> {
    let mean = y.iter().sum::<f64>() / d.nobs.max(1) as f64;
    let zero = mu
        .iter()
        .zip(y)
        .filter(|(m, y)| **y == 0.0 && **m <= 1e-8 * mean.max(1e-300))
        .count();
    if zero == 0 {
        return None;
    }
    let cols: Vec<String> = (0..estimates.len())
        .filter(|&j| estimates[j] < -15.0 || std_errors[j].is_nan() || std_errors[j] > 1e3)
        .map(|j| format!("`{}`", d.column_names[j]))
        .collect();
    Some(format!(
        "separation: {zero} of {} rows have no events and a fitted mean of numerically 0{}; the \
         maximum-likelihood estimates do not exist (the rate of that group is estimated as 0, \
         its log rate as minus infinity); merge the category without events or report its \
         count descriptively",
        d.nobs,
        if cols.is_empty() {
            String::new()
        } else {
            format!(
                " (estimates drifting to minus infinity: {})",
                cols.join(", ")
            )
        }
    ))
}
