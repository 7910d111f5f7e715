pub fn unique(l: Vec<i64>) -> Vec<i64> {
    // mutant: sorts but keeps duplicates
    let mut v = l;
    v.sort();
    v
}
