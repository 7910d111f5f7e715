// Rust translation of tests/programs/data/echo/echo_tool.py.
use std::env;
use std::io::Read;
use std::process::exit;

fn main() {
    let mut words: Vec<String> = Vec::new();
    let (mut upper, mut stdin, mut pwd) = (false, false, false);
    let (mut var, mut read): (Option<String>, Option<String>) = (None, None);
    let args: Vec<String> = env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--upper" => upper = true,
            "--stdin" => stdin = true,
            "--pwd" => pwd = true,
            "--env" => { i += 1; var = args.get(i).cloned(); }
            "--read" => { i += 1; read = args.get(i).cloned(); }
            "-h" | "--help" => { println!("usage: echo_tool.py [-h] [--upper] [--stdin] [words ...]"); return; }
            s if s.starts_with('-') => {
                eprintln!("usage: echo_tool.py [-h] [--upper] [--stdin] [words ...]");
                eprintln!("echo_tool.py: error: unrecognized arguments: {}", s);
                exit(2);
            }
            s => words.push(s.to_string()),
        }
        i += 1;
    }
    if pwd {
        let d = env::current_dir().unwrap();
        println!("{}", d.file_name().unwrap().to_string_lossy());
        return;
    }
    if let Some(v) = var {
        println!("{}", env::var(&v).unwrap_or_else(|_| "<unset>".to_string()));
        return;
    }
    if let Some(p) = read {
        println!("{}", std::fs::read_to_string(p).unwrap().trim());
        return;
    }
    let text = if stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).unwrap();
        s.trim().to_string()
    } else {
        words.join(" ")
    };
    println!("{}", if upper { text.to_uppercase() } else { text });
}
