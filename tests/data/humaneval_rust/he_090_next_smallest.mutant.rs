pub fn next_smallest(lst: Vec<i64>) -> Option<i64> {
    // mutant: keeps duplicates
    let mut v = lst;
    v.sort();
    v.get(1).copied()
}
