//! Dot-path filters of partial reloads: `only` keeps matching paths, `except` removes them.
//!
//! A path like `auth.user` keeps the whole top-level `auth` prop evaluated, then prunes it to
//! its `user` member; a shorter requested path keeps everything below it.

use serde_json::{Map, Value};

/// Whether top-level `key` is wanted by the `only` paths.
pub fn top_level_wanted(key: &str, only: &[String]) -> bool {
    only.iter().any(|p| first_segment(p) == key)
}

/// Whether top-level `key` is removed entirely by the `except` paths.
pub fn top_level_excluded(key: &str, except: &[String]) -> bool {
    except.iter().any(|p| p == key)
}

fn first_segment(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// Prunes `value` (the prop named `key`) to the nested parts named by `only` paths under
/// `key`, then removes nested parts named by `except` paths.
pub fn prune(key: &str, value: &mut Value, only: &[String], except: &[String]) {
    let prefix = format!("{key}.");
    let nested_only: Vec<&str> = only
        .iter()
        .filter_map(|p| p.strip_prefix(&prefix))
        .collect();
    // `only: ["auth"]` (the whole prop) wins over `only: ["auth.user"]`.
    let whole = only.iter().any(|p| p == key);
    if !only.is_empty() && !whole && !nested_only.is_empty() {
        keep_only(value, &nested_only);
    }
    for path in except.iter().filter_map(|p| p.strip_prefix(&prefix)) {
        remove(value, path);
    }
}

fn keep_only(value: &mut Value, paths: &[&str]) {
    let Value::Object(map) = value else {
        return;
    };
    if paths.iter().any(|p| p.is_empty()) {
        return;
    }
    let mut kept = Map::new();
    for (k, mut v) in std::mem::take(map) {
        let sub: Vec<&str> = paths
            .iter()
            .filter_map(|p| match p.split_once('.') {
                Some((head, rest)) if head == k => Some(rest),
                None if *p == k => Some(""),
                _ => None,
            })
            .collect();
        if sub.is_empty() {
            continue;
        }
        keep_only(&mut v, &sub);
        kept.insert(k, v);
    }
    *map = kept;
}

fn remove(value: &mut Value, path: &str) {
    let Value::Object(map) = value else {
        return;
    };
    match path.split_once('.') {
        Some((head, rest)) => {
            if let Some(child) = map.get_mut(head) {
                remove(child, rest);
            }
        }
        None => {
            map.remove(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dot_paths_keep_and_remove_nested_members() {
        let mut v = json!({"user": {"name": "a", "email": "b"}, "team": {"id": 1}});
        prune("auth", &mut v, &s(&["auth.user.name", "auth.team"]), &[]);
        assert_eq!(v, json!({"user": {"name": "a"}, "team": {"id": 1}}));

        let mut v = json!({"user": {"name": "a", "email": "b"}});
        prune("auth", &mut v, &s(&["auth"]), &s(&["auth.user.email"]));
        assert_eq!(v, json!({"user": {"name": "a"}}));
    }

    #[test]
    fn top_level_matching_uses_the_first_segment() {
        assert!(top_level_wanted("auth", &s(&["auth.user"])));
        assert!(!top_level_wanted("author", &s(&["auth.user"])));
        assert!(top_level_excluded("auth", &s(&["auth"])));
        assert!(!top_level_excluded("auth", &s(&["auth.user"])));
    }
}
