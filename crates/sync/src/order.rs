//! Sorting a list by one key with one sort routine per kind of key, whatever the items are.
//!
//! `slice::sort_by` builds a whole sort for every comparator, and the app sorts a dozen kinds
//! of records: each sort was about 3 KB of wasm (the size budget, docs/benchmarks.md). Here
//! the `(key, position)` pairs are sorted, one routine for text keys and one for numbers, and
//! the items are moved into that order. Equal keys keep their order in both directions.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// Sorts `items` by a text key (ISO times, names).
pub fn by_text<T>(items: &mut Vec<T>, direction: Direction, key: impl Fn(&T) -> &str) {
    let order = positions(items.iter().map(key), direction);
    permute(items, &order);
}

/// Sorts `items` by a number key (sequence numbers).
pub fn by_number<T>(items: &mut Vec<T>, direction: Direction, key: impl Fn(&T) -> u64) {
    let order = positions(items.iter().map(key), direction);
    permute(items, &order);
}

/// Where each item goes: the position it holds now, listed in the new order.
fn positions<K: Ord>(keys: impl Iterator<Item = K>, direction: Direction) -> Vec<usize> {
    let mut pairs: Vec<(K, usize)> = keys.zip(0..).collect();
    let last = pairs.len().saturating_sub(1);
    // Positions break ties, so the smaller unstable sort gives the stable order. Descending
    // sorts positions flipped and reverses the result: keys descend, ties keep their order.
    let flip = |pairs: &mut Vec<(K, usize)>| pairs.iter_mut().for_each(|p| p.1 = last - p.1);
    if direction == Direction::Descending {
        flip(&mut pairs);
    }
    pairs.sort_unstable();
    if direction == Direction::Descending {
        pairs.reverse();
        flip(&mut pairs);
    }
    pairs.into_iter().map(|(_, at)| at).collect()
}

fn permute<T>(items: &mut Vec<T>, order: &[usize]) {
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .iter()
            .filter_map(|&at| slots.get_mut(at).and_then(Option::take)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(&'static str, u64, char)> {
        vec![
            ("b", 2, 'x'),
            ("a", 1, 'y'),
            ("b", 2, 'z'),
            ("c", 3, 'w'),
            ("a", 1, 'v'),
        ]
    }

    #[test]
    fn text_ascending_matches_a_stable_sort() {
        let (mut ours, mut std) = (sample(), sample());
        by_text(&mut ours, Direction::Ascending, |t| t.0);
        std.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(ours, std);
    }

    #[test]
    fn text_descending_keeps_ties_in_order() {
        let (mut ours, mut std) = (sample(), sample());
        by_text(&mut ours, Direction::Descending, |t| t.0);
        std.sort_by(|a, b| b.0.cmp(a.0));
        assert_eq!(ours, std);
        assert_eq!(ours.iter().map(|t| t.2).collect::<String>(), "wxzyv");
    }

    #[test]
    fn numbers_both_ways_and_the_empty_list() {
        let (mut up, mut down) = (sample(), sample());
        by_number(&mut up, Direction::Ascending, |t| t.1);
        by_number(&mut down, Direction::Descending, |t| t.1);
        assert_eq!(up.iter().map(|t| t.2).collect::<String>(), "yvxzw");
        assert_eq!(down.iter().map(|t| t.2).collect::<String>(), "wxzyv");
        let mut empty: Vec<u64> = Vec::new();
        by_number(&mut empty, Direction::Descending, |n| *n);
        assert!(empty.is_empty());
    }
}
