// Precedence climbing over Python's operators: ** (right-assoc), then * //, then + -.
fn prec(op: &str) -> u8 {
    match op {
        "+" | "-" => 1,
        "*" | "//" => 2,
        "**" => 3,
        _ => panic!("unknown operator {op}"),
    }
}

fn apply(op: &str, a: i64, b: i64) -> i64 {
    match op {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "//" => {
            let q = a / b;
            if a % b != 0 && ((a < 0) != (b < 0)) { q - 1 } else { q }
        }
        "**" => a.pow(b as u32),
        _ => unreachable!(),
    }
}

fn parse(ops: &[String], vals: &[i64], pos: &mut usize, min_prec: u8) -> i64 {
    let mut lhs = vals[*pos];
    while *pos < ops.len() && prec(&ops[*pos]) >= min_prec {
        let op = ops[*pos].clone();
        let p = prec(&op);
        *pos += 1;
        let next = if op == "**" { p } else { p + 1 };
        let rhs = parse(ops, vals, pos, next);
        lhs = apply(&op, lhs, rhs);
    }
    lhs
}

pub fn do_algebra(operator: Vec<String>, operand: Vec<i64>) -> i64 {
    let mut pos = 0;
    parse(&operator, &operand, &mut pos, 1)
}
