"""The crate a batch of function candidates compiles into, and the record protocol of its binary.

Layout (every name below that carries `<r>` is random per batch, so no candidate can name,
`include!` or call another's file, module or function):

    r<r>.rs          crate root: #![forbid(unsafe_code)], the runtime, one wrapper per
                     candidate, and `main`, which runs the candidate whose secret token it is
                     given (it holds only SHA-256 hashes of the tokens, so a candidate that
                     re-executes the binary cannot run a neighbour)
    rt<r>.rs         the runtime (RUNTIME_RS): runs cases, prints what candidates returned
    w<r>/cand.rs     the candidate's text, with `mod sse_drv;` placed after its inner attributes
    w<r>/harness.rs  its harness (translate.generate_driver): inputs and calls, no expected value

A wrapper `mod w<r> { mod cand; }` ends the textual scope of anything the candidate exports
with `#[macro_use]`, so its macros reach no neighbour; the candidate's text is a file of its
own, so a trailing attribute attaches to nothing of ours (it is a syntax error).

Protocol: the binary prints records `\\n\\x1eSSE <case> <kind> <payload>\\n` on stdout: `ready`
before any candidate code runs, `start` before a case, then one of `ok <json>`, `err <json
string>`, `panic <json string>`, `timeout`, `crash`; `end` when it finished normally. Records
are only believed about the candidate the process ran: a forged one can only fail its own case.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from sse.task.rust_text import skip_literal

DRIVER_FILE = "harness.rs"
CANDIDATE_FILE = "cand.rs"
RECORD = "\x1eSSE "
STACK_BYTES = 16 << 20  # each case's thread (libtest gave 2 MiB; Python recursion is deeper)

RUNTIME_RS = r"""
#![allow(dead_code, unused_imports, clippy::all)]
use ::std::io::Write as _;
use ::std::string::String;

pub enum Out { Returned(String), Failed(String) }

impl Out {
    pub fn value<T: Enc>(v: &T) -> Out { let mut s = String::new(); v.enc(&mut s); Out::Returned(s) }
    pub fn from_result<T: Enc>(r: ::core::result::Result<T, String>) -> Out {
        match r { ::core::result::Result::Ok(v) => Out::value(&v), ::core::result::Result::Err(e) => Out::Failed(e) }
    }
}

pub trait Enc { fn enc(&self, o: &mut String); }
impl Enc for i64 { fn enc(&self, o: &mut String) { o.push_str(&::std::format!("{}", self)); } }
impl Enc for f64 {
    fn enc(&self, o: &mut String) {
        if self.is_nan() { o.push_str("NaN") }
        else if self.is_infinite() { o.push_str(if *self > 0.0 { "Infinity" } else { "-Infinity" }) }
        else { o.push_str(&::std::format!("{:?}", self)) }
    }
}
impl Enc for bool { fn enc(&self, o: &mut String) { o.push_str(if *self { "true" } else { "false" }) } }
impl Enc for () { fn enc(&self, o: &mut String) { o.push_str("null") } }
impl Enc for String { fn enc(&self, o: &mut String) { json_str(self, o) } }
impl<T: Enc> Enc for ::std::vec::Vec<T> {
    fn enc(&self, o: &mut String) { seq(self.iter(), o) }
}
impl<T: Enc> Enc for ::core::option::Option<T> {
    fn enc(&self, o: &mut String) {
        match self { ::core::option::Option::None => o.push_str("null"),
                     ::core::option::Option::Some(v) => { o.push('['); v.enc(o); o.push(']') } }
    }
}
impl<T: Enc, S> Enc for ::std::collections::HashSet<T, S> { fn enc(&self, o: &mut String) { seq(self.iter(), o) } }
impl<K: Enc, V: Enc, S> Enc for ::std::collections::HashMap<K, V, S> {
    fn enc(&self, o: &mut String) {
        o.push('[');
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 { o.push(',') }
            o.push('['); k.enc(o); o.push(','); v.enc(o); o.push(']');
        }
        o.push(']');
    }
}
impl<'a, T: Enc> Enc for &'a T { fn enc(&self, o: &mut String) { (**self).enc(o) } }
macro_rules! tuple_enc {
    ($($n:tt $t:ident),+) => {
        impl<$($t: Enc),+> Enc for ($($t,)+) {
            fn enc(&self, o: &mut String) { o.push('['); $( if $n > 0 { o.push(',') } self.$n.enc(o); )+ o.push(']'); }
        }
    };
}
tuple_enc!(0 A);
tuple_enc!(0 A, 1 B);
tuple_enc!(0 A, 1 B, 2 C);
tuple_enc!(0 A, 1 B, 2 C, 3 D);
tuple_enc!(0 A, 1 B, 2 C, 3 D, 4 E);
tuple_enc!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple_enc!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple_enc!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

fn seq<T: Enc, I: ::core::iter::Iterator<Item = T>>(it: I, o: &mut String) {
    o.push('[');
    for (i, x) in it.enumerate() { if i > 0 { o.push(',') } x.enc(o); }
    o.push(']');
}

pub fn json_str(s: &str, o: &mut String) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            ' '..='~' => o.push(c),
            _ => { let mut b = [0u16; 2]; for u in c.encode_utf16(&mut b) { o.push_str(&::std::format!("\\u{:04x}", u)) } }
        }
    }
    o.push('"');
}

pub fn emit(case: &str, kind: &str, payload: &str) {
    let out = ::std::io::stdout();
    let mut out = out.lock();
    let _ = ::std::write!(out, "\n\x1eSSE {} {} {}\n", case, kind, payload);
    let _ = out.flush();
}

type Res = ::core::result::Result<Out, String>;

fn panic_text(p: &(dyn ::core::any::Any + Send)) -> String {
    if let ::core::option::Option::Some(s) = p.downcast_ref::<&str>() { return String::from(*s) }
    if let ::core::option::Option::Some(s) = p.downcast_ref::<String>() { return s.clone() }
    String::from("(a panic without a message)")
}

fn report(k: usize, r: Res) {
    let mut s = String::new();
    match r {
        ::core::result::Result::Ok(Out::Returned(v)) => emit(&k.to_string(), "ok", &v),
        ::core::result::Result::Ok(Out::Failed(e)) => { json_str(&e, &mut s); emit(&k.to_string(), "err", &s) }
        ::core::result::Result::Err(m) => { json_str(&m, &mut s); emit(&k.to_string(), "panic", &s) }
    }
}

pub struct Runner {
    want: ::std::vec::Vec<bool>,
    par: bool,
    timeout: ::std::time::Duration,
    pending: ::std::vec::Vec<(usize, ::std::sync::mpsc::Receiver<Res>)>,
}

impl Runner {
    /// argv: token, "seq" | "par", per-case time limit in ms, comma-separated case numbers.
    pub fn from_args(args: &[String]) -> Runner {
        let par = args.get(2).map(|s| s == "par").unwrap_or(false);
        let ms: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
        let mut want = ::std::vec::Vec::new();
        for c in args.get(4).map(|s| s.as_str()).unwrap_or("").split(',') {
            if let ::core::result::Result::Ok(k) = c.parse::<usize>() {
                if k < 100_000 { if want.len() <= k { want.resize(k + 1, false) } want[k] = true; }
            }
        }
        Runner { want, par, timeout: ::std::time::Duration::from_millis(ms), pending: ::std::vec::Vec::new() }
    }

    pub fn case<F: FnOnce() -> Out + Send + 'static>(&mut self, k: usize, f: F) {
        if k >= self.want.len() || !self.want[k] { return }
        let (tx, rx) = ::std::sync::mpsc::channel::<Res>();
        emit(&k.to_string(), "start", "");
        let spawned = ::std::thread::Builder::new().stack_size(__STACK__).spawn(move || {
            let r = match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(f)) {
                ::core::result::Result::Ok(o) => ::core::result::Result::Ok(o),
                ::core::result::Result::Err(p) => ::core::result::Result::Err(panic_text(&*p)),
            };
            let _ = tx.send(r);
        });
        if spawned.is_err() { emit(&k.to_string(), "crash", ""); return }
        if self.par { self.pending.push((k, rx)); return }
        match rx.recv_timeout(self.timeout) {
            ::core::result::Result::Ok(r) => report(k, r),
            ::core::result::Result::Err(::std::sync::mpsc::RecvTimeoutError::Timeout) => {
                emit(&k.to_string(), "timeout", "");
                ::std::process::exit(0)
            }
            ::core::result::Result::Err(_) => emit(&k.to_string(), "crash", ""),
        }
    }

    pub fn finish(&mut self) {
        let deadline = ::std::time::Instant::now() + self.timeout;
        for (k, rx) in self.pending.drain(..) {
            let left = deadline.saturating_duration_since(::std::time::Instant::now());
            match rx.recv_timeout(left) {
                ::core::result::Result::Ok(r) => report(k, r),
                ::core::result::Result::Err(::std::sync::mpsc::RecvTimeoutError::Timeout) => emit(&k.to_string(), "timeout", ""),
                ::core::result::Result::Err(_) => emit(&k.to_string(), "crash", ""),
            }
        }
        emit("-", "end", "");
        ::std::process::exit(0)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2];
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut m = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    m.push(0x80);
    while m.len() % 64 != 56 { m.push(0) }
    m.extend_from_slice(&bits.to_be_bytes());
    for chunk in m.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 { w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]) }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 { h[i] = h[i].wrapping_add(v[i]) }
    }
    let mut s = String::new();
    for x in h.iter() { s.push_str(&::std::format!("{:08x}", x)) }
    s
}
""".replace("__STACK__", str(STACK_BYTES))


def split_inner_attributes(rust: str) -> tuple[str, str]:
    """(leading inner attributes and comments, the rest): the harness module is declared
    between them, after the only text allowed to precede items and before anything that
    could carry an outer attribute onto it."""
    i = 0
    if rust.startswith("#!") and not rust.startswith("#!["):  # a shebang line
        nl = rust.find("\n")
        i = len(rust) if nl < 0 else nl
    while i < len(rust):
        if rust[i].isspace():
            i += 1
            continue
        j = skip_literal(rust, i)
        if j != i and rust.startswith(("//", "/*"), i):
            i = j
            continue
        if rust.startswith("#![", i) or (rust.startswith("#!", i) and rust[i + 2:].lstrip().startswith("[")):
            end = _attribute_end(rust, rust.index("[", i))
            if end < 0:
                break
            i = end
            continue
        break
    return rust[:i], rust[i:]


def _attribute_end(code: str, open_at: int) -> int:
    """Index after the `]` matching code[open_at] == '[', skipping literals; -1 if none."""
    depth, i = 0, open_at
    while i < len(code):
        j = skip_literal(code, i)
        if j != i:
            i = j
            continue
        if code[i] in "[({":
            depth += 1
        elif code[i] in "])}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def candidate_text(rust: str) -> str:
    head, rest = split_inner_attributes(rust)
    return f'{head}\n#[path = "{DRIVER_FILE}"]\npub(crate) mod sse_drv;\n{rest}\n'


@dataclass
class Slot:
    """One candidate's place in a crate: its random module (and folder) name and secret token."""

    module: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def token_hash(self) -> str:
        return hashlib.sha256(self.token.encode()).hexdigest()


def new_name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


@dataclass
class Crate:
    root: str            # file name of the crate root
    runtime: str         # file name of the runtime
    text: str            # the root's text
    lines: dict[int, str] = field(default_factory=dict)  # root line -> module it concerns


def root_text(slots: Sequence[Slot], runtime_file: str, forbid_unsafe: bool = True) -> Crate:
    out: list[str] = []
    lines: dict[int, str] = {}

    def add(text: str, mod: str | None = None) -> None:
        out.append(text)
        if mod is not None:
            lines[len(out)] = mod

    if forbid_unsafe:
        add("#![forbid(unsafe_code)]")
    add("#![allow(warnings)]")
    add(f'#[path = "{runtime_file}"]')
    add("mod sse_rt;")
    for s in slots:
        add(f"mod {s.module} {{", s.module)
        add(f'    #[path = "{CANDIDATE_FILE}"]', s.module)
        add("    pub(crate) mod cand;", s.module)
        add("}", s.module)
    add("fn main() {")
    add("    let args: ::std::vec::Vec<::std::string::String> = ::std::env::args().collect();")
    add('    sse_rt::emit("-", "ready", "");')
    add("    let mut r = sse_rt::Runner::from_args(&args);")
    add('    let token = args.get(1).map(|s| s.as_bytes()).unwrap_or(b"");')
    add("    match sse_rt::sha256_hex(token).as_str() {")
    for s in slots:
        add(f'        "{s.token_hash}" => {s.module}::cand::sse_drv::run(&mut r),', s.module)
    add('        _ => { sse_rt::emit("-", "unknown", ""); ::std::process::exit(2) }')
    add("    }")
    add("    r.finish();")
    add("}")
    return Crate("", runtime_file, "\n".join(out) + "\n", lines)


# ------------------------------------------------------------------ reading the records
@dataclass
class Records:
    ready: bool = False
    end: bool = False
    started: list[int] = field(default_factory=list)
    results: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


RECORD_RE = re.compile(r"^\x1eSSE (\S+) (\S+) ?(.*)$")


def parse_records(stdout: bytes) -> Records:
    """Records from the binary's stdout; anything else (the candidate's own output) is ignored."""
    rec = Records()
    for raw in stdout.split(b"\n"):
        if not raw.startswith(RECORD.encode()):
            continue
        m = RECORD_RE.match(raw.decode("utf-8", "replace"))
        if not m:
            continue
        case, kind, payload = m.groups()
        if case == "-":
            rec.ready |= kind == "ready"
            rec.end |= kind == "end"
            continue
        if not case.isdigit():
            continue
        k = int(case)
        if kind == "start":
            rec.started.append(k)
        elif kind in ("ok", "err", "panic", "timeout", "crash"):
            rec.results.setdefault(k, []).append((kind, payload))
    return rec


def decode_payload(payload: str) -> object:
    """json with NaN/Infinity (what the runtime writes for non-finite floats)."""
    return json.loads(payload)
