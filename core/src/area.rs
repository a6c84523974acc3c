//! The city's areas (DESIGN §1): one tree, 市 → 区/县 → 街道/乡镇, deeper if a city wants. Grids,
//! sites, units and users name an area; a case belongs to the area of its place; a supervisor
//! scoped to an area sees its subtree ([`crate::scope::Reach`]); escalation (督办) hands a case
//! to the area above.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::Lang;

/// One area of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Area {
    /// Stable id.
    pub id: String,
    /// Name, e.g. 东城区.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
    /// The area above; none for the city itself (the tree's one root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// The deepest tree a city may draw (市 at depth 0; 区, 街道, 社区 and two levels more).
pub const MAX_DEPTH: usize = 5;

/// What a level of the tree is called: 市, 区/县, 街道/乡镇, then 社区/村.
pub fn level_label(depth: usize, lang: Lang) -> &'static str {
    let (zh, en) = match depth {
        0 => ("市", "City"),
        1 => ("区/县", "District"),
        2 => ("街道/乡镇", "Street"),
        _ => ("社区/村", "Community"),
    };
    lang.pick(zh, en)
}

/// The tree, indexed: parents, names and depths.
#[derive(Debug, Clone, Default)]
pub struct AreaTree {
    areas: HashMap<String, Area>,
    children: HashMap<String, Vec<String>>,
    root: Option<String>,
}

impl AreaTree {
    /// Check a list of areas: ids given and unique, one root, every parent known, no cycle, at
    /// most [`MAX_DEPTH`] levels below the root. An empty list is a city without areas.
    pub fn validate(areas: &[Area]) -> Result<(), String> {
        let mut ids = HashSet::new();
        for a in areas {
            if a.id.trim().is_empty() || a.name.trim().is_empty() {
                return Err("an area needs an id and a name".into());
            }
            if !ids.insert(a.id.as_str()) {
                return Err(format!("area {} is listed twice", a.id));
            }
        }
        let roots = areas.iter().filter(|a| a.parent_id.is_none()).count();
        if !areas.is_empty() && roots != 1 {
            return Err(format!(
                "the areas must form one tree with one root (the city), found {roots} roots"
            ));
        }
        for a in areas {
            if let Some(p) = &a.parent_id
                && !ids.contains(p.as_str())
            {
                return Err(format!("area {} names an unknown parent {p}", a.id));
            }
        }
        let tree = AreaTree::new(areas);
        for a in areas {
            match tree.depth(&a.id) {
                Some(d) if d <= MAX_DEPTH => {}
                Some(_) => {
                    return Err(format!(
                        "area {} is more than {MAX_DEPTH} levels below the city",
                        a.id
                    ));
                }
                None => return Err(format!("area {} is in a cycle", a.id)),
            }
        }
        Ok(())
    }

    /// Index a list (validated or not: lookups stay bounded on a cycle).
    pub fn new(areas: &[Area]) -> AreaTree {
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for a in areas {
            if let Some(p) = &a.parent_id {
                children.entry(p.clone()).or_default().push(a.id.clone());
            }
        }
        for list in children.values_mut() {
            list.sort();
        }
        AreaTree {
            root: areas
                .iter()
                .find(|a| a.parent_id.is_none())
                .map(|a| a.id.clone()),
            areas: areas.iter().map(|a| (a.id.clone(), a.clone())).collect(),
            children,
        }
    }

    /// True for a city that drew no areas.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// An area by id.
    pub fn get(&self, id: &str) -> Option<&Area> {
        self.areas.get(id)
    }

    /// The root (the city), if any.
    pub fn root(&self) -> Option<&str> {
        self.root.as_deref()
    }

    /// The area above `id`.
    pub fn parent(&self, id: &str) -> Option<&str> {
        self.areas.get(id)?.parent_id.as_deref()
    }

    /// The areas right below `id`, by id.
    pub fn children(&self, id: &str) -> &[String] {
        self.children.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Levels below the root (the city is 0); `None` for an unknown area or one in a cycle.
    pub fn depth(&self, id: &str) -> Option<usize> {
        let mut at = self.areas.get(id)?;
        for depth in 0..=self.areas.len() {
            match &at.parent_id {
                None => return Some(depth),
                Some(p) => at = self.areas.get(p)?,
            }
        }
        None
    }

    /// `id` and the areas above it, nearest first (empty for an unknown area).
    pub fn ancestors(&self, id: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = self.areas.get(id);
        while let Some(a) = at {
            if out.len() > self.areas.len() {
                break;
            }
            out.push(a.id.as_str());
            at = a.parent_id.as_deref().and_then(|p| self.areas.get(p));
        }
        out
    }

    /// True if `id` is `ancestor` or lies below it.
    pub fn within(&self, id: &str, ancestor: &str) -> bool {
        self.ancestors(id).contains(&ancestor)
    }

    /// The area `levels` above `id` (itself for 0), stopping at the root.
    pub fn above(&self, id: &str, levels: usize) -> Option<&str> {
        let line = self.ancestors(id);
        line.get(levels.min(line.len().saturating_sub(1))).copied()
    }

    /// `id` and every area below it.
    pub fn subtree(&self, id: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        if !self.areas.contains_key(id) {
            return out;
        }
        let mut stack = vec![id.to_string()];
        while let Some(a) = stack.pop() {
            if out.insert(a.clone()) {
                stack.extend(self.children(&a).iter().cloned());
            }
        }
        out
    }

    /// The area's name in `lang` (the Chinese name where no English one is given), or its id.
    pub fn name(&self, id: &str, lang: Lang) -> String {
        match self.areas.get(id) {
            Some(a) if lang == Lang::En && !a.name_en.is_empty() => a.name_en.clone(),
            Some(a) => a.name.clone(),
            None => id.to_string(),
        }
    }

    /// Every area, the tree walked depth first from the root (children by id), with depths.
    pub fn walk(&self) -> Vec<(&Area, usize)> {
        let mut out = Vec::new();
        let Some(root) = &self.root else {
            return out;
        };
        let mut stack = vec![(root.as_str(), 0)];
        let mut seen = HashSet::new();
        while let Some((id, depth)) = stack.pop() {
            let Some(a) = self.areas.get(id) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            out.push((a, depth));
            for c in self.children(id).iter().rev() {
                stack.push((c.as_str(), depth + 1));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(id: &str, parent: Option<&str>) -> Area {
        Area {
            id: id.into(),
            name: id.into(),
            name_en: String::new(),
            parent_id: parent.map(Into::into),
        }
    }

    fn city() -> Vec<Area> {
        vec![
            area("city", None),
            area("east", Some("city")),
            area("west", Some("city")),
            area("east-1", Some("east")),
            area("east-2", Some("east")),
            area("west-1", Some("west")),
        ]
    }

    #[test]
    fn a_district_holds_its_streets_and_nothing_else() {
        let t = AreaTree::new(&city());
        let east = t.subtree("east");
        assert_eq!(east.len(), 3);
        assert!(east.contains("east-1") && east.contains("east-2"));
        assert!(!east.contains("west-1") && !east.contains("city"));
        assert!(t.within("east-2", "city"));
        assert!(!t.within("west-1", "east"));
        assert_eq!(t.depth("east-1"), Some(2));
        assert_eq!(t.parent("east-1"), Some("east"));
        assert_eq!(t.ancestors("east-1"), ["east-1", "east", "city"]);
        let order: Vec<&str> = t.walk().iter().map(|(a, _)| a.id.as_str()).collect();
        assert_eq!(
            order,
            ["city", "east", "east-1", "east-2", "west", "west-1"]
        );
        assert!(t.subtree("nowhere").is_empty());
    }

    #[test]
    fn only_one_tree_is_accepted() {
        assert!(AreaTree::validate(&city()).is_ok());
        assert!(AreaTree::validate(&[]).is_ok());
        let mut two_roots = city();
        two_roots.push(area("other-city", None));
        assert!(AreaTree::validate(&two_roots).is_err());
        let mut orphan = city();
        orphan.push(area("x", Some("missing")));
        assert!(AreaTree::validate(&orphan).is_err());
        let mut twice = city();
        twice.push(area("east", Some("city")));
        assert!(AreaTree::validate(&twice).is_err());
        let cycle = vec![
            area("city", None),
            area("a", Some("b")),
            area("b", Some("a")),
        ];
        assert!(AreaTree::validate(&cycle).is_err());
        let t = AreaTree::new(&cycle);
        assert_eq!(t.depth("a"), None);
        assert!(!t.within("a", "city"));
        let mut deep = vec![area("l0", None)];
        for i in 1..=MAX_DEPTH + 1 {
            deep.push(area(&format!("l{i}"), Some(&format!("l{}", i - 1))));
        }
        assert!(AreaTree::validate(&deep).is_err());
        deep.pop();
        assert!(AreaTree::validate(&deep).is_ok());
    }
}
