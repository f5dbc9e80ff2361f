//! The HTML of a first visit: the page object as JSON in a `<script>` element, then the
//! mount point (`docs/protocols.md` §3.1).

use super::{InertiaConfig, Page, Result};

/// Serialises `page` so that no prop can end the `<script>` element or break out of it.
pub(super) fn script_json(page: &Page) -> Result<String> {
    let json = serde_json::to_string(page)?;
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The whole document for `page`.
pub(super) fn render(config: &InertiaConfig, page: &Page) -> Result<String> {
    let json = script_json(page)?;
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{head}\n</head>\n\
         <body>\n<script data-page=\"app\" type=\"application/json\">{json}</script>\n\
         <div id=\"app\"></div>\n</body>\n</html>\n",
        head = config.head(),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    #[test]
    fn no_prop_can_close_the_script_element() {
        let mut props = Map::new();
        props.insert(
            "evil".into(),
            json!("</script><script>alert(1)</script>&\u{2028}\u{2029}"),
        );
        let page = Page {
            component: "X".into(),
            props,
            url: "/".into(),
            version: "v".into(),
            deferred_props: Default::default(),
            merge_props: vec![],
            shared_props: vec![],
            flash: Map::new(),
            encrypt_history: false,
            clear_history: false,
        };
        let text = script_json(&page).expect("json");
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        let back: Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(
            back["props"]["evil"],
            "</script><script>alert(1)</script>&\u{2028}\u{2029}"
        );
    }
}
