pub fn reverse_delete(s: &str, c: &str) -> (String, bool) {
    let kept: String = s.chars().filter(|ch| !c.contains(*ch)).collect();
    let rev: String = kept.chars().rev().collect();
    let pal = rev == kept;
    (kept, pal)
}
