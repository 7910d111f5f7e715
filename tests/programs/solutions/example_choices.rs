// Hand-written translation of choice_validator.py (std only), argparse-style messages included.
use std::env;
use std::process::exit;

const USAGE: &str = "usage: choice_validator [-h] --level {debug,info,warning,error} [--priority {1,2,3,4,5}]\n                        [--format {json,yaml,xml,text}] [--version]";

fn fail(msg: &str) -> ! {
    eprintln!("{}\nchoice_validator: error: {}", USAGE, msg);
    exit(2);
}

fn pick(opt: &str, value: Option<&String>, choices: &[&str]) -> String {
    let v = value.unwrap_or_else(|| fail(&format!("argument {}: expected one argument", opt)));
    if !choices.contains(&v.as_str()) {
        let quoted: Vec<String> = choices.iter().map(|c| format!("'{}'", c)).collect();
        fail(&format!("argument {}: invalid choice: '{}' (choose from {})", opt, v, quoted.join(", ")));
    }
    v.clone()
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let (mut level, mut priority, mut format) = (None, "3".to_string(), "json".to_string());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-h" | "--help" => {
                println!("{}\n\nDemonstrate argument choices validation\n\noptions:\n  -h, --help            show this help message and exit\n  --level {{debug,info,warning,error}}, -l {{debug,info,warning,error}}\n                        Log level (debug, info, warning, error)\n  --priority {{1,2,3,4,5}}, -p {{1,2,3,4,5}}\n                        Priority level 1-5 (default: 3)\n  --format {{json,yaml,xml,text}}, -f {{json,yaml,xml,text}}\n                        Output format (default: json)\n  --version             show program's version number and exit", USAGE);
                exit(0);
            }
            "--version" => { println!("1.0.0"); exit(0); }
            "--level" | "-l" => { i += 1; level = Some(pick("--level/-l", args.get(i), &["debug", "info", "warning", "error"])); }
            "--priority" | "-p" => { i += 1; priority = pick("--priority/-p", args.get(i), &["1", "2", "3", "4", "5"]); }
            "--format" | "-f" => { i += 1; format = pick("--format/-f", args.get(i), &["json", "yaml", "xml", "text"]); }
            other => fail(&format!("unrecognized arguments: {}", other)),
        }
        i += 1;
    }
    let level = level.unwrap_or_else(|| fail("the following arguments are required: --level/-l"));
    println!("Level: {}", level);
    println!("Priority: {}", priority);
    println!("Format: {}", format);
}
