pub fn decode_cyclic(s: &str) -> String {
    // mutant: encodes (rotates left) instead of decoding
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for group in chars.chunks(3) {
        if group.len() == 3 {
            out.push(group[1]);
            out.push(group[2]);
            out.push(group[0]);
        } else {
            out.extend(group.iter());
        }
    }
    out
}
