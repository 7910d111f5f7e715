pub fn filter_by_prefix(strings: Vec<String>, prefix: &str) -> Vec<String> {
    // mutant: a string equal to the prefix is dropped
    strings.into_iter().filter(|s| s.len() > prefix.len() && s.starts_with(prefix)).collect()
}
