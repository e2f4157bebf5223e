//! Figures over rounds: medians, their spread, and ratios taken round by round (both sides
//! of a ratio measured in the same round, under the same conditions).

/// The median of `values` (sorted in place), or `None` when there are none.
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values.get(n / 2 - 1)? + values.get(n / 2)?) / 2.0),
    }
}

/// `median [min–max]` of the values present (the median alone for one value, `—` for none).
pub fn spread(values: impl Iterator<Item = f64>, show: fn(f64) -> String) -> String {
    let mut v: Vec<f64> = values.collect();
    let Some(m) = median(&mut v) else {
        return "—".to_owned();
    };
    match (v.first(), v.last()) {
        (Some(&lo), Some(&hi)) if v.len() > 1 => format!("{} [{}–{}]", show(m), show(lo), show(hi)),
        _ => show(m),
    }
}

/// The median over rounds of `a / b`, each taken within one round (rounds where either is
/// missing are left out).
pub fn ratio(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some((*x)? / (*y)?))
        .collect();
    median(&mut r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_and_none() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn ratio_pairs_rounds_and_skips_missing_ones() {
        let a = [Some(2.0), None, Some(9.0)];
        let b = [Some(1.0), Some(5.0), Some(3.0)];
        assert_eq!(ratio(&a, &b), Some(2.5));
        assert_eq!(ratio(&[None], &[Some(1.0)]), None);
    }

    #[test]
    fn spread_shows_range_only_for_several_values() {
        let show = |v: f64| format!("{v:.0}");
        assert_eq!(spread([5.0, 1.0, 3.0].into_iter(), show), "3 [1–5]");
        assert_eq!(spread([4.0].into_iter(), show), "4");
        assert_eq!(spread(std::iter::empty(), show), "—");
    }
}
