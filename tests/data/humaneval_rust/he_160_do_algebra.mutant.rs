// mutant: evaluates strictly left to right, ignoring precedence
pub fn do_algebra(operator: Vec<String>, operand: Vec<i64>) -> i64 {
    let mut acc = operand[0];
    for (op, v) in operator.iter().zip(operand.iter().skip(1)) {
        acc = match op.as_str() {
            "+" => acc + v,
            "-" => acc - v,
            "*" => acc * v,
            "//" => acc.div_euclid(*v),
            "**" => acc.pow(*v as u32),
            _ => panic!("unknown operator"),
        };
    }
    acc
}
