pub fn next_smallest(lst: Vec<i64>) -> Option<i64> {
    let mut v = lst;
    v.sort();
    v.dedup();
    v.get(1).copied()
}
