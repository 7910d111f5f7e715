use std::collections::HashMap;

pub fn histogram(test: &str) -> HashMap<String, i64> {
    // mutant: returns every letter, not only the most frequent
    let mut counts: HashMap<String, i64> = HashMap::new();
    for w in test.split(' ').filter(|w| !w.is_empty()) {
        *counts.entry(w.to_string()).or_insert(0) += 1;
    }
    counts
}
