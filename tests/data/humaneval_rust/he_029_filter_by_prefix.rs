pub fn filter_by_prefix(strings: Vec<String>, prefix: &str) -> Vec<String> {
    strings.into_iter().filter(|s| s.starts_with(prefix)).collect()
}
