pub fn reverse_delete(s: &str, c: &str) -> (String, bool) {
    // mutant: deletes only the first character of c
    let first = c.chars().next();
    let kept: String = s.chars().filter(|ch| Some(*ch) != first).collect();
    let rev: String = kept.chars().rev().collect();
    let pal = rev == kept;
    (kept, pal)
}
