//! Areas on console pages: a case's area as a path (西湖区 / 城关街道), and the area picker a
//! person's reach allows (the city office: the whole tree; an area's supervisors: their
//! subtree), indented by level.

use xuncha_core::Lang;
use xuncha_core::area::AreaTree;
use xuncha_core::reference::{ReferenceIndex, Unit};
use xuncha_core::scope::Reach;

/// `id` and the areas above it below the city, top first, joined with " / "; empty for none.
pub fn area_path(tree: &AreaTree, id: Option<&str>, lang: Lang) -> String {
    let Some(id) = id else {
        return String::new();
    };
    let mut names: Vec<String> = tree
        .ancestors(id)
        .into_iter()
        .filter(|a| Some(*a) != tree.root() || *a == id)
        .map(|a| tree.name(a, lang))
        .collect();
    names.reverse();
    if names.is_empty() {
        id.to_string()
    } else {
        names.join(" / ")
    }
}

/// The areas `reach` may cut by, depth first, each with its label indented by its level.
pub fn area_options(tree: &AreaTree, reach: &Reach, lang: Lang) -> Vec<(String, String)> {
    tree.walk()
        .into_iter()
        .filter(|(a, _)| match reach {
            Reach::Within { areas, .. } => areas.contains(&a.id),
            _ => true,
        })
        .map(|(a, depth)| {
            (
                a.id.clone(),
                format!("{}{}", "\u{3000}".repeat(depth), tree.name(&a.id, lang)),
            )
        })
        .collect()
}

/// The units `reach` may dispatch to (core's `Reach::may_dispatch_to`), as `(id, name)`.
pub fn dispatchable(
    units: &[Unit],
    reach: &Reach,
    index: &ReferenceIndex,
) -> Vec<(String, String)> {
    units
        .iter()
        .filter(|u| reach.may_dispatch_to(&u.id, index))
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xuncha_core::area::Area;

    #[test]
    fn a_street_is_named_with_its_district() {
        let area = |id: &str, name: &str, parent: Option<&str>| Area {
            id: id.into(),
            name: name.into(),
            name_en: String::new(),
            parent_id: parent.map(Into::into),
        };
        let tree = AreaTree::new(&[
            area("c", "示范市", None),
            area("d", "西湖区", Some("c")),
            area("s", "城关街道", Some("d")),
        ]);
        assert_eq!(area_path(&tree, Some("s"), Lang::ZhCn), "西湖区 / 城关街道");
        assert_eq!(area_path(&tree, Some("c"), Lang::ZhCn), "示范市");
        assert_eq!(area_path(&tree, None, Lang::ZhCn), "");
        let all = area_options(&tree, &Reach::Everything, Lang::ZhCn);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].1, "\u{3000}\u{3000}城关街道");
    }
}
