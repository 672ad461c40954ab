//! Exact decimal numbers for the `Numeric*` condition operators: an optional sign, digits and an
//! optional fraction (`42`, `-3.5`, `0.25`), compared exactly on their digits, so large integers
//! such as account ids never lose precision the way `f64` would.
//!
//! This is not a general number parser: exponents, `inf`, `NaN`, hex and surrounding whitespace
//! are rejected, and the caller reports such values as not numbers.

use std::cmp::Ordering;

/// A parsed decimal, borrowing its digits from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    /// Integer digits without leading zeros.
    int: &'a str,
    /// Fraction digits without trailing zeros.
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Decimal<'a>> {
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, f),
            None => (unsigned, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Decimal {
            negative,
            int,
            frac,
        })
    }

    fn cmp_magnitude(&self, other: &Decimal<'_>) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Option<Ordering> {
        Some(Decimal::parse(a)?.cmp(&Decimal::parse(b)?))
    }

    #[test]
    fn compares_exactly() {
        assert_eq!(cmp("10", "9"), Some(Ordering::Greater));
        assert_eq!(cmp("3600", "3600.0"), Some(Ordering::Equal));
        assert_eq!(cmp("-0", "0.000"), Some(Ordering::Equal));
        assert_eq!(cmp("-2", "-10"), Some(Ordering::Greater));
        assert_eq!(cmp("0.5", "0.51"), Some(Ordering::Less));
        assert_eq!(cmp("007", "7"), Some(Ordering::Equal));
        assert_eq!(cmp(".5", "0.5"), Some(Ordering::Equal));
        assert_eq!(
            cmp("123456789012345678901", "123456789012345678900"),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in ["", "-", ".", "1e3", "abc", " 1", "1.2.3", "NaN", "0x10"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }
}
