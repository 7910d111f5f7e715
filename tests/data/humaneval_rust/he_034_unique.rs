pub fn unique(l: Vec<i64>) -> Vec<i64> {
    let mut v = l;
    v.sort();
    v.dedup();
    v
}
