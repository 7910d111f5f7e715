pub fn longest(strings: Vec<String>) -> Option<String> {
    let max = strings.iter().map(|s| s.chars().count()).max()?;
    strings.into_iter().find(|s| s.chars().count() == max)
}
