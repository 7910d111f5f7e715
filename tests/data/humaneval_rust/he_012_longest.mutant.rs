pub fn longest(strings: Vec<String>) -> Option<String> {
    // mutant: the last of the longest, not the first
    strings.into_iter().max_by_key(|s| s.chars().count())
}
