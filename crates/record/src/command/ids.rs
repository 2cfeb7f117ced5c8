//! Participant identifiers: one rule, checked by the record whatever the
//! edge (web form, JSON API, `rct trial screen`, imports).
//!
//! An identifier is 1 to [`MAX_PARTICIPANT_ID`] ASCII letters, digits, `-`,
//! `_` or `.`, and not dots alone (`.` and `..` name folders in paths). It
//! appears in URLs, file names, CSV cells and HTML, so nothing in it may need
//! escaping anywhere: no markup (`<script>`), no path separators
//! (`A/../../x`), no query or fragment (`A?x=1#y`), no line breaks.

use super::CommandError;

/// The longest participant identifier, in characters.
pub const MAX_PARTICIPANT_ID: usize = 32;

/// Characters of a refused identifier echoed in the message (the rest is
/// cut, so a huge identifier gives a short message).
const ECHO: usize = 40;

/// Checks a participant identifier against the rule; the error names it
/// (quoted and escaped, so line breaks and markup are shown, not obeyed)
/// and says what is allowed.
pub fn check_participant_id(id: &str) -> Result<(), CommandError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let ok = !id.is_empty()
        && id.len() <= MAX_PARTICIPANT_ID
        && id.chars().all(allowed)
        && !id.chars().all(|c| c == '.');
    if ok {
        return Ok(());
    }
    let mut shown: String = id.chars().take(ECHO).collect();
    if id.chars().nth(ECHO).is_some() {
        shown.push_str("...");
    }
    Err(CommandError::BadParticipantId {
        id: format!("{shown:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_pass() {
        for id in [
            "P01",
            "L001",
            "pkuph-003",
            "S_1",
            "a.b",
            "A",
            &"9".repeat(32),
        ] {
            assert_eq!(check_participant_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn hostile_ids_are_refused_with_one_message() {
        for id in [
            "",
            "<script>",
            "<script>alert(1)</script>",
            "A/../../x",
            "A\\x",
            "A?x=1#y",
            "A\r\nB",
            "A\nB",
            "A B",
            "A%2F",
            "é1",
            ".",
            "..",
            "...",
            &"9".repeat(33),
        ] {
            let e = check_participant_id(id).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.ends_with(
                    "use 1 to 32 letters, digits, `-`, `_` or `.` (not dots alone), e.g. P001"
                ),
                "{id:?}: {msg}"
            );
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg}");
        }
        assert_eq!(
            check_participant_id("A\r\nB").unwrap_err().to_string(),
            "participant identifier \"A\\r\\nB\" is not allowed: use 1 to 32 letters, digits, `-`, `_` or `.` (not dots alone), e.g. P001"
        );
    }

    #[test]
    fn a_huge_id_gives_a_short_message() {
        let msg = check_participant_id(&"x".repeat(250_000))
            .unwrap_err()
            .to_string();
        assert!(msg.len() < 200, "{}", msg.len());
        assert!(msg.contains("xxx...\""), "{msg}");
    }
}
