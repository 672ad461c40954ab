//! Repeated strings kept once: a role ARN, subject, provider or region that thousands of
//! sessions share is stored one time and referred to by a 4-byte [`Sym`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

/// A string kept by an [`Interner`] (`Option<Sym>` is 4 bytes too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(NonZeroU32);

impl Sym {
    /// The symbol as a number, `None` as 0 (for writing to disk).
    pub fn to_u32(sym: Option<Sym>) -> u32 {
        sym.map_or(0, |s| s.0.get())
    }

    /// Back from [`Sym::to_u32`].
    pub fn from_u32(n: u32) -> Option<Sym> {
        NonZeroU32::new(n).map(Sym)
    }
}

/// Each distinct string once, in the order first met.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Arc<str>, Sym>,
    strs: Vec<Arc<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let shared: Arc<str> = Arc::from(s);
        self.strs.push(shared.clone());
        // the count after a push is at least 1 (and 2^32 distinct strings do not fit in memory)
        let n = u32::try_from(self.strs.len()).unwrap_or(u32::MAX);
        let sym = Sym(NonZeroU32::new(n).unwrap_or(NonZeroU32::MAX));
        self.ids.insert(shared, sym);
        sym
    }

    /// The one shared copy of `s` (for values that hold the text itself, not a symbol).
    pub fn shared(&mut self, s: &str) -> Arc<str> {
        let sym = self.intern(s);
        self.strs[sym.0.get() as usize - 1].clone()
    }

    pub fn intern_opt(&mut self, s: Option<&str>) -> Option<Sym> {
        s.map(|s| self.intern(s))
    }

    pub fn get(&self, sym: Sym) -> &str {
        &self.strs[sym.0.get() as usize - 1]
    }

    pub fn get_opt(&self, sym: Option<Sym>) -> Option<&str> {
        sym.map(|s| self.get(s))
    }

    /// Distinct strings kept.
    pub fn len(&self) -> usize {
        self.strs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_symbol_and_read_back_unchanged() {
        let mut i = Interner::default();
        let a = i.intern("arn:aws:iam::111122223333:role/deploy");
        let b = i.intern("repo:acme/web:ref:refs/heads/main");
        let c = i.intern("arn:aws:iam::111122223333:role/deploy");
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(i.len(), 2);
        assert_eq!(i.get(a), "arn:aws:iam::111122223333:role/deploy");
        assert_eq!(i.get(b), "repo:acme/web:ref:refs/heads/main");
        assert_eq!(i.get_opt(None), None);
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }
}
