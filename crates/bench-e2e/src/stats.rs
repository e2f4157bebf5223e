//! The statistics every report here uses: medians over rounds with their spread, and
//! ratios taken within one round (same run, same conditions) before their median.

/// The median of `values` (sorted in place), `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values.get(n / 2 - 1)? + values.get(n / 2)?) / 2.0),
    }
}

/// `median [min–max]` of the values present, each shown with `show`; `—` when none.
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
/// missing, or where `b` is zero, as a figure that rounds to nothing can be, are left out).
pub fn ratio(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some((*x)? / (*y).filter(|y| *y > 0.0)?))
        .collect();
    median(&mut r)
}

/// A ratio as `1.23×`, or `—` when there is none.
pub fn times(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_and_of_none() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn ratio_is_taken_per_round_and_skips_missing_rounds() {
        // Per round: 2.0, (missing), 4.0, 3.0 → median of [2, 3, 4] = 3.
        let a = [Some(2.0), None, Some(8.0), Some(6.0)];
        let b = [Some(1.0), Some(1.0), Some(2.0), Some(2.0)];
        assert_eq!(ratio(&a, &b), Some(3.0));
        assert_eq!(ratio(&[None], &[Some(1.0)]), None);
        // A zero divisor gives no ratio (not `inf×`).
        assert_eq!(
            ratio(&[Some(0.5), Some(0.5)], &[Some(0.0), Some(0.25)]),
            Some(2.0)
        );
        assert_eq!(ratio(&[Some(0.3)], &[Some(0.0)]), None);
    }

    #[test]
    fn spread_shows_median_and_range() {
        let show = |v: f64| format!("{v:.1}");
        assert_eq!(spread([3.0, 1.0, 2.0].into_iter(), show), "2.0 [1.0–3.0]");
        assert_eq!(spread([5.0].into_iter(), show), "5.0");
        assert_eq!(spread(std::iter::empty(), show), "—");
    }
}
