//! Gatehouse's canonical categories and the mapping from compiled-database categories.
//!
//! The [`Taxonomy`] lists Gatehouse categories (the UK Safer Internet Centre "appropriate
//! filtering" areas plus age/stage-management areas such as `games` or `social_networks`)
//! in priority order (most severe first). Each category names the database categories
//! (UT1 folders or school lists, by name or alias) that feed it; a database category whose
//! name equals the Gatehouse name feeds it too. The shipped mapping is
//! `data/ut1-mapping.toml` ([`Taxonomy::uk_default`]); a school file can replace the
//! sources of a category or add categories ([`Taxonomy::merge_toml`]). `locked` categories
//! (IWF, CTIRU) can never be unlocked by a school file.
//!
//! [`SetTable::resolve`] turns every category set of one [`Database`] into a
//! [`CategoryBits`] once, so a decision costs one lookup plus one array index.

use std::sync::Arc;

use serde::Deserialize;

use crate::db::{CategorySetId, Database};
use crate::error::{Error, Result};

/// The shipped mapping file (`data/ut1-mapping.toml`).
pub const DEFAULT_MAPPING: &str = include_str!("../data/ut1-mapping.toml");

/// Most Gatehouse categories a taxonomy may hold (the width of [`CategoryBits`]).
pub const MAX_CATEGORIES: usize = 128;

/// Index of a Gatehouse category in [`Taxonomy::categories`] (its priority: lower is more
/// severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GhCategoryId(pub u8);

/// A set of Gatehouse categories (bit `i` = [`GhCategoryId`] `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CategoryBits(pub u128);

impl CategoryBits {
    /// The empty set.
    pub const EMPTY: CategoryBits = CategoryBits(0);

    /// Whether `id` is in the set.
    pub fn contains(self, id: GhCategoryId) -> bool {
        id.0 < 128 && self.0 & (1u128 << id.0) != 0
    }

    /// Add `id`.
    pub fn insert(&mut self, id: GhCategoryId) {
        if id.0 < 128 {
            self.0 |= 1u128 << id.0;
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Intersection.
    pub fn and(self, other: CategoryBits) -> CategoryBits {
        CategoryBits(self.0 & other.0)
    }

    /// The members, in priority order.
    pub fn iter(self) -> impl Iterator<Item = GhCategoryId> {
        let mut rest = self;
        std::iter::from_fn(move || {
            let first = rest.first()?;
            rest.0 &= rest.0 - 1;
            Some(first)
        })
    }

    /// The first (most severe) member.
    pub fn first(self) -> Option<GhCategoryId> {
        if self.0 == 0 {
            None
        } else {
            u8::try_from(self.0.trailing_zeros()).ok().map(GhCategoryId)
        }
    }
}

/// One Gatehouse category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDef {
    /// Its name, e.g. `pornography`.
    pub name: Arc<str>,
    /// A one-line description for administrators.
    pub description: String,
    /// Always blocked; cannot be allowed by any school rule or person override.
    pub locked: bool,
    /// Database categories (names or aliases) that feed it.
    pub sources: Vec<String>,
}

/// The ordered list of Gatehouse categories (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    categories: Vec<CategoryDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    category: Vec<RawCategory>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    locked: Option<bool>,
    #[serde(default)]
    sources: Option<Vec<String>>,
}

impl Taxonomy {
    /// The shipped UK taxonomy and UT1 mapping ([`DEFAULT_MAPPING`]).
    pub fn uk_default() -> Result<Taxonomy> {
        Taxonomy::from_toml(DEFAULT_MAPPING)
    }

    /// Parse a mapping file (`[[category]]` tables with `name`, `description`, `locked`,
    /// `sources`).
    pub fn from_toml(text: &str) -> Result<Taxonomy> {
        let mut t = Taxonomy {
            categories: Vec::new(),
        };
        t.merge_toml(text)?;
        Ok(t)
    }

    /// Merge a school's mapping file: a category with a known name gets the given
    /// `description`/`sources` replaced (`locked` can be set but never cleared); a new name
    /// is appended (lowest priority).
    pub fn merge_toml(&mut self, text: &str) -> Result<()> {
        let raw: RawMapping =
            toml::from_str(text).map_err(|e| Error::Policy(format!("category mapping: {e}")))?;
        self.merge_raw(raw)
    }

    fn merge_raw(&mut self, raw: RawMapping) -> Result<()> {
        for c in raw.category {
            let name = c.name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(Error::Policy(format!(
                    "category mapping: invalid category name {:?} (use letters, digits, _ and -)",
                    c.name
                )));
            }
            if let Some(existing) = self.categories.iter_mut().find(|d| &*d.name == name) {
                if let Some(d) = c.description {
                    existing.description = d;
                }
                if let Some(s) = c.sources {
                    existing.sources = s;
                }
                existing.locked |= c.locked.unwrap_or(false);
            } else {
                if self.categories.len() >= MAX_CATEGORIES {
                    return Err(Error::Policy(format!(
                        "category mapping: more than {MAX_CATEGORIES} categories (at {name:?})"
                    )));
                }
                self.categories.push(CategoryDef {
                    name: Arc::from(name),
                    description: c.description.unwrap_or_default(),
                    locked: c.locked.unwrap_or(false),
                    sources: c.sources.unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    /// Add a school-defined category (lowest priority) or, for a known name, replace its
    /// description and sources (`locked` can be set, never cleared). Same rules as
    /// [`Taxonomy::merge_toml`].
    pub fn add_category(&mut self, def: CategoryDef) -> Result<GhCategoryId> {
        let name = def.name.to_string();
        let raw = RawMapping {
            category: vec![RawCategory {
                name: name.clone(),
                description: Some(def.description),
                locked: Some(def.locked),
                sources: Some(def.sources),
            }],
        };
        self.merge_raw(raw)?;
        self.id(&name)
            .ok_or_else(|| Error::Policy(format!("category {name:?} was not added")))
    }

    /// All categories, indexed by [`GhCategoryId`].
    pub fn categories(&self) -> &[CategoryDef] {
        &self.categories
    }

    /// A category by id.
    pub fn get(&self, id: GhCategoryId) -> Option<&CategoryDef> {
        self.categories.get(usize::from(id.0))
    }

    /// The id of a category name.
    pub fn id(&self, name: &str) -> Option<GhCategoryId> {
        self.categories
            .iter()
            .position(|c| &*c.name == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(GhCategoryId)
    }

    /// The set of locked categories.
    pub fn locked(&self) -> CategoryBits {
        let mut b = CategoryBits::EMPTY;
        for (i, c) in self.categories.iter().enumerate() {
            if c.locked
                && let Ok(i) = u8::try_from(i)
            {
                b.insert(GhCategoryId(i));
            }
        }
        b
    }
}

/// Gatehouse categories of every category set of one database, indexed by
/// [`CategorySetId`]. Built once per database + taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTable {
    sets: Vec<CategoryBits>,
}

impl SetTable {
    /// Resolve every set of `db` through `taxonomy`.
    pub fn resolve(db: &Database, taxonomy: &Taxonomy) -> SetTable {
        let per_db_category: Vec<CategoryBits> = db
            .categories()
            .iter()
            .map(|info| {
                let mut bits = CategoryBits::EMPTY;
                for (i, def) in taxonomy.categories().iter().enumerate() {
                    let names = std::iter::once(&info.name).chain(info.aliases.iter());
                    let feeds = names.clone().any(|n| n.as_str() == &*def.name)
                        || names
                            .clone()
                            .any(|n| def.sources.iter().any(|s| s == n.as_str()));
                    if feeds && let Ok(i) = u8::try_from(i) {
                        bits.insert(GhCategoryId(i));
                    }
                }
                bits
            })
            .collect();
        let sets = (0..db.set_count())
            .map(|id| {
                let mut bits = CategoryBits::EMPTY;
                if let Some(set) = db.set(CategorySetId(id)) {
                    for c in set.iter() {
                        if let Some(b) = per_db_category.get(usize::from(c.0)) {
                            bits.0 |= b.0;
                        }
                    }
                }
                bits
            })
            .collect();
        SetTable { sets }
    }

    /// The Gatehouse categories of a set (empty for an unknown id).
    pub fn get(&self, id: CategorySetId) -> CategoryBits {
        self.sets
            .get(id.0 as usize)
            .copied()
            .unwrap_or(CategoryBits::EMPTY)
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}
