//! The protocol a command works with when it reads a trial record: the one
//! the record holds (registered with the trial, parsed when the
//! registration is folded). A `--protocol` file is optional; when given it
//! must be the registered text, and a difference is reported, naming the
//! first line that differs, never used instead.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use rct_core::protocol::Protocol;
use rct_record::TrialState;

/// A `--protocol` file: its text, name and parsed protocol.
pub(crate) struct Given {
    /// The text.
    pub text: String,
    /// The file name, for messages.
    pub name: String,
    /// Parsed.
    pub protocol: Protocol,
}

/// Reads a `--protocol` file, if one is given.
pub(crate) fn given(path: Option<&Path>) -> anyhow::Result<Option<Given>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let name = path.display().to_string();
    let text = super::input::read_protocol(path)?;
    let protocol = rct_core::protocol::parse(&text, &name)
        .map_err(|d| anyhow!("{d}"))
        .map_err(|e| {
            anyhow!("{e}\n{name} is not a valid protocol (run `rct protocol check {name}`)")
        })?;
    Ok(Some(Given {
        text,
        name,
        protocol,
    }))
}

/// The trial id: `--trial`, else the given protocol's id, else the one
/// trial `trials` holds.
pub(crate) fn trial_id(
    trial: Option<&str>,
    given: Option<&Given>,
    trials: impl FnOnce() -> anyhow::Result<Vec<String>>,
    place: &str,
) -> anyhow::Result<String> {
    if let Some(t) = trial {
        return Ok(t.to_string());
    }
    if let Some(g) = given {
        return Ok(g.protocol.trial.id.get_ref().clone());
    }
    let all = trials()?;
    match all.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("{place} holds no trial"),
        many => bail!(
            "{place} holds several trials ({}); pass --trial ID",
            many.join(", ")
        ),
    }
}

/// The first line where two texts differ: its number and both lines.
fn first_difference(registered: &str, file: &str) -> Option<(usize, String, String)> {
    let mut a = registered.lines();
    let mut b = file.lines();
    let mut n = 0;
    loop {
        n += 1;
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                let show = |l: Option<&str>| {
                    l.map_or("(end of text)".to_string(), |l| {
                        format!("`{}`", l.trim_end())
                    })
                };
                return Some((n, show(x), show(y)));
            }
        }
    }
}

/// The trial's protocol: the registered one, checked against `given` when
/// a file was given; the file alone only for a trial registered without
/// its protocol text.
pub(crate) fn protocol(state: &TrialState, given: Option<Given>) -> anyhow::Result<Arc<Protocol>> {
    let trial = &state.trial;
    let registered = state.config.as_ref().and_then(|c| {
        let text = c.trial_design().ok()?.protocol?;
        Some((text, c.protocol.as_ref()?.0.clone()))
    });
    match (registered, given) {
        (Some((_, p)), None) => Ok(p),
        (Some((text, p)), Some(g)) => match first_difference(&text, &g.text) {
            None => Ok(p),
            Some((line, reg, file)) => bail!(
                "{} differs from the protocol registered with trial `{trial}` at line {line}: registered {reg}, file {file}; the record's protocol is the one in force (leave out --protocol to use it)",
                g.name
            ),
        },
        (None, Some(g)) => Ok(Arc::new(g.protocol)),
        (None, None) => bail!(
            "trial `{trial}` was registered without its protocol text; give --protocol FILE"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn the_first_differing_line_is_named() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            first_difference("a\nb\nc", "a\nx\nc"),
            Some((2, "`b`".into(), "`x`".into()))
        );
        assert_eq!(
            first_difference("a\n", "a\nb\n"),
            Some((2, "(end of text)".into(), "`b`".into()))
        );
    }
}
