use std::collections::HashMap;

pub fn histogram(test: &str) -> HashMap<String, i64> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for w in test.split(' ').filter(|w| !w.is_empty()) {
        *counts.entry(w.to_string()).or_insert(0) += 1;
    }
    let max = counts.values().copied().max().unwrap_or(0);
    counts.into_iter().filter(|(_, c)| *c == max).collect()
}
