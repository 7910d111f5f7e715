pub fn get_row(lst: Vec<Vec<i64>>, x: i64) -> Vec<(i64, i64)> {
    // mutant: columns ascending instead of descending
    let mut out = Vec::new();
    for (i, row) in lst.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if *v == x {
                out.push((i as i64, j as i64));
            }
        }
    }
    out
}
