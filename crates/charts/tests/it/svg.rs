//! A small reader of the charts' SVG: checks that it is well-formed XML and
//! lists its elements with their attributes and text.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;

/// One element: its tag, attributes and (for `<text>`) its text.
#[derive(Debug, Clone)]
pub struct Element {
    pub tag: String,
    pub attrs: BTreeMap<String, String>,
    pub text: String,
}

impl Element {
    /// A numeric attribute (panics when absent: the test is wrong).
    pub fn num(&self, name: &str) -> f64 {
        self.attrs
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
            .parse()
            .unwrap()
    }

    pub fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map(String::as_str).unwrap_or("")
    }

    /// A `<rect>`'s top and bottom edges in pixels (y grows downwards).
    pub fn top(&self) -> f64 {
        self.num("y")
    }

    pub fn bottom(&self) -> f64 {
        self.num("y") + self.num("height")
    }

    /// A `<polyline>`'s points.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.attr("points")
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }
}

/// The parsed document.
pub struct Svg {
    pub elements: Vec<Element>,
}

impl Svg {
    /// Parses `text`, panicking unless it is one well-formed `<svg>`
    /// element: every tag closed by its own name, nothing after the root.
    pub fn parse(text: &str) -> Svg {
        let mut reader = Reader::from_str(text);
        let mut elements = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut roots = 0;
        loop {
            let event = reader
                .read_event()
                .unwrap_or_else(|e| panic!("not XML at {}: {e}", reader.buffer_position()));
            // Only a start tag waits for its end tag (not `<rect …/>`).
            let waits = matches!(event, Event::Start(_));
            match event {
                Event::Start(e) | Event::Empty(e) => {
                    if open.is_empty() {
                        roots += 1;
                    }
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("well-formed attribute");
                            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                            (
                                key,
                                a.decode_and_unescape_value(reader.decoder())
                                    .unwrap()
                                    .into_owned(),
                            )
                        })
                        .collect();
                    let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    elements.push(Element {
                        tag,
                        attrs,
                        text: String::new(),
                    });
                    if waits {
                        open.push(elements.len() - 1);
                    }
                }
                Event::End(_) => {
                    open.pop().expect("an end tag closes an open element");
                }
                Event::Text(t) => {
                    if let Some(i) = open.last() {
                        elements[*i].text.push_str(&t.decode().unwrap());
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    let text = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity &{name};"));
                    if let Some(i) = open.last() {
                        elements[*i].text.push_str(text);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(open.is_empty(), "unclosed elements at the end");
        assert_eq!(roots, 1, "one root element");
        assert_eq!(elements[0].tag, "svg");
        Svg { elements }
    }

    /// Elements with this tag.
    pub fn all<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements.iter().filter(move |e| e.tag == tag)
    }

    /// `<rect>`s filled with `color` (`#RRGGBB`), left to right.
    pub fn rects(&self, color: &str) -> Vec<&Element> {
        let mut r: Vec<&Element> = self
            .all("rect")
            .filter(|e| e.attr("fill") == color)
            .collect();
        r.sort_by(|a, b| a.num("x").total_cmp(&b.num("x")));
        r
    }

    /// `<polyline>`s stroked with `color`.
    pub fn lines(&self, color: &str) -> Vec<&Element> {
        self.all("polyline")
            .filter(|e| e.attr("stroke") == color)
            .collect()
    }

    /// `<circle>`s filled with `color`.
    pub fn dots(&self, color: &str) -> Vec<&Element> {
        self.all("circle")
            .filter(|e| e.attr("fill") == color)
            .collect()
    }

    /// The text of every `<text>`, trimmed.
    pub fn texts(&self) -> Vec<String> {
        self.all("text")
            .map(|e| e.text.trim().to_string())
            .collect()
    }

    /// The `<text>` elements whose text is `s`.
    pub fn text_elements<'a>(&'a self, s: &'a str) -> Vec<&'a Element> {
        self.all("text").filter(|e| e.text.trim() == s).collect()
    }
}
