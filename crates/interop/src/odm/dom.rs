//! A small element tree read with quick-xml (ODM files are read whole).

use quick_xml::events::Event as X;
use quick_xml::Reader;

/// An element.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// Qualified name as written (`ItemDef`, `rct:Arm`).
    pub(crate) name: String,
    /// Attributes in order (qualified names, unescaped values).
    pub(crate) attrs: Vec<(String, String)>,
    /// Child elements.
    pub(crate) children: Vec<Node>,
    /// Concatenated text content (unescaped).
    pub(crate) text: String,
}

impl Node {
    pub(crate) fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// Children with local name `name` (prefix ignored for unprefixed names).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub(crate) fn first(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Text of the first TranslatedText under child `name`.
    pub(crate) fn translated(&self, name: &str) -> Option<String> {
        self.first(name)
            .and_then(|n| n.first("TranslatedText"))
            .map(|t| t.text.clone())
    }
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Deepest element nesting read (ODM needs about 10 levels). The tree is
/// dropped recursively, so nesting must be bounded.
pub const MAX_DEPTH: usize = 256;
/// Most elements read: each costs about 100 bytes of memory and more.
pub const MAX_ELEMENTS: usize = 2_000_000;

/// Parses a whole document into its root element. Errors carry the byte
/// position.
pub(crate) fn parse(src: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(src);
    reader.config_mut().trim_text(false);
    // `decode_and_unescape_value` works with and without quick-xml's
    // `encoding` feature (calamine turns it on in a workspace build).
    let decoder = reader.decoder();
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    let mut count = |pos: u64| -> Result<(), String> {
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(format!(
                "at byte {pos}: more than {MAX_ELEMENTS} elements; export the study in parts"
            ));
        }
        Ok(())
    };
    let start = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, String> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| format!("attribute of <{name}>: {err}"))?;
            let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let v = a
                .decode_and_unescape_value(decoder)
                .map_err(|err| format!("attribute {k} of <{name}>: {err}"))?
                .into_owned();
            attrs.push((k, v));
        }
        Ok(Node {
            name,
            attrs,
            ..Node::default()
        })
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| format!("at byte {pos}: {e}"))?;
        match ev {
            X::Start(e) => {
                count(pos)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "at byte {pos}: elements nested more than {MAX_DEPTH} deep"
                    ));
                }
                stack.push(start(&e).map_err(|m| format!("at byte {pos}: {m}"))?)
            }
            X::Empty(e) => {
                count(pos)?;
                let n = start(&e).map_err(|m| format!("at byte {pos}: {m}"))?;
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            X::End(_) => {
                let n = stack
                    .pop()
                    .ok_or_else(|| format!("at byte {pos}: closing tag without an opening one"))?;
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            X::Text(t) => {
                if let Some(p) = stack.last_mut() {
                    let s = t.xml_content().map_err(|e| format!("at byte {pos}: {e}"))?;
                    p.text.push_str(&s);
                }
            }
            X::CData(t) => {
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            X::GeneralRef(r) => {
                let c = match r
                    .resolve_char_ref()
                    .map_err(|e| format!("at byte {pos}: {e}"))?
                {
                    Some(c) => c,
                    None => {
                        let name = r.decode().map_err(|e| format!("at byte {pos}: {e}"))?;
                        entity(&name)
                            .ok_or_else(|| format!("at byte {pos}: unknown entity &{name};"))?
                    }
                };
                if let Some(p) = stack.last_mut() {
                    p.text.push(c);
                }
            }
            X::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "the document ends inside <{}>",
            stack.last().map_or("", |n| n.name.as_str())
        ));
    }
    root.ok_or_else(|| "no root element".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entities_and_unicode() {
        let n = parse(
            "<?xml version=\"1.0\"?><a x=\"1&amp;2&#10;\"><b>é &lt;&#233;&gt; 中</b><c/></a>",
        )
        .unwrap();
        assert_eq!(n.attr("x"), Some("1&2\n"));
        assert_eq!(n.children[0].text, "é <é> 中");
        assert_eq!(n.children[1].name, "c");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
    }
}
