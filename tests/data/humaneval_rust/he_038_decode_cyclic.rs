pub fn decode_cyclic(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for group in chars.chunks(3) {
        if group.len() == 3 {
            out.push(group[2]);
            out.push(group[0]);
            out.push(group[1]);
        } else {
            out.extend(group.iter());
        }
    }
    out
}
