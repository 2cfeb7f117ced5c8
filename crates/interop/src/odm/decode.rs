//! An XML file's bytes as text, by the encoding its declaration names
//! (`<?xml version="1.0" encoding="ISO-8859-1"?>`): UTF-8 (the default),
//! ISO-8859-1 / Latin-1 and US-ASCII. Any other encoding is refused by name.

use super::OdmError;

/// The encoding named in the XML declaration, lower-cased, if any.
fn declared(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest[1..].split(quote).next()?;
    Some(value.trim().to_ascii_lowercase())
}

/// Decodes an XML document for the ODM importer.
pub fn decode(bytes: &[u8], file: &str) -> Result<String, OdmError> {
    let enc = declared(bytes).unwrap_or_else(|| "utf-8".into());
    match enc.as_str() {
        "utf-8" | "utf8" => {
            let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            String::from_utf8(b.to_vec()).map_err(|e| OdmError::Xml {
                file: file.into(),
                message: format!(
                    "byte {}: not UTF-8, the encoding the XML declaration names (or implies by naming none); save the file as UTF-8 or declare its real encoding",
                    e.utf8_error().valid_up_to()
                ),
            })
        }
        // Every byte is the code point of the same number.
        "iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1" | "l1" => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        "us-ascii" | "ascii" => match bytes.iter().position(|b| !b.is_ascii()) {
            Some(p) => Err(OdmError::Xml {
                file: file.into(),
                message: format!("byte {p}: not ASCII, though the XML declaration says US-ASCII"),
            }),
            None => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        },
        other => Err(OdmError::Xml {
            file: file.into(),
            message: format!(
                "the XML declaration names the encoding `{other}`, which rct does not read (it reads UTF-8, ISO-8859-1 and US-ASCII); save the file as UTF-8"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn latin1_follows_the_declaration() {
        let mut x = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ODM a=\"".to_vec();
        x.push(0xe9); // é
        x.extend_from_slice(b"\"/>");
        assert!(decode(&x, "l.xml").unwrap().contains("a=\"\u{e9}\""));
        // Without the declaration the same bytes are not UTF-8.
        let e = decode(&x[38..], "u.xml").unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        let e = decode(b"<?xml version='1.0' encoding='EBCDIC'?><a/>", "e.xml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ebcdic`") && e.contains("e.xml"), "{e}");
        assert_eq!(
            decode("\u{feff}<a>ü</a>".as_bytes(), "b.xml").unwrap(),
            "<a>ü</a>"
        );
    }
}
