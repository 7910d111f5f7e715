// example_abs with the clap crate (offline Debian registry): judged with ground_truth.crates = [clap].
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "abs_tool.py", about = "Absolute value tool")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Int { #[arg(allow_negative_numbers = true)] x: i64 },
    Float { #[arg(allow_negative_numbers = true)] x: f64 },
}

fn main() {
    match Cli::parse().cmd {
        Cmd::Int { x } => println!("{}", x.abs()),
        Cmd::Float { x } => {
            let y = x.abs();
            if y.fract() == 0.0 { println!("{:.1}", y) } else { println!("{}", y) }
        }
    }
}
