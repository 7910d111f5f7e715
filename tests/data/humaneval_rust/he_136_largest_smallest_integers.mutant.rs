pub fn largest_smallest_integers(lst: Vec<i64>) -> (Option<i64>, Option<i64>) {
    // mutant: counts 0 as positive
    let neg = lst.iter().copied().filter(|&x| x < 0).max();
    let pos = lst.iter().copied().filter(|&x| x >= 0).min();
    (neg, pos)
}
