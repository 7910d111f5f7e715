"""Inference throughput of the numpy engine vs llama.cpp, on the same prompts in one run.

Each configuration runs in its own child process so that its peak memory (ru_maxrss
from wait4) is its own: numpy single-stream and batched (batch 1, 4, 8, 16) from the
.apr, and llama.cpp (llama-cpp-python, n_threads=2) single-stream from the source GGUF.
Every configuration decodes the same chat prompts (identical token ids) for exactly
--max-tokens tokens each (EOS ignored), so tokens/s compare like for like.

    .venv/bin/python benchmarks/bench_inference.py --gguf PATH.gguf [--apr PATH.apr] [--json out.json]

Without --apr the GGUF is converted to q8_0 first (KL-gated, into a temp folder).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = [
    "Translate this Python function to Rust:\n\ndef add(a: int, b: int) -> int:\n    return a + b",
    "Translate to Rust:\ndef is_even(n: int) -> bool:\n    return n % 2 == 0",
    "Write a Rust function that reverses a string.",
    "Translate to Rust:\ndef total(xs: list[int]) -> int:\n    s = 0\n    for x in xs:\n        s += x\n    return s",
    "What is the capital of France?",
    "Translate to Rust:\ndef fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "Explain ownership in Rust in two sentences.",
    "Translate to Rust:\ndef count_words(s: str) -> dict[str, int]:\n    d = {}\n    for w in s.split():\n"
    "        d[w] = d.get(w, 0) + 1\n    return d",
]


def prompt_ids(apr: str, n: int) -> list[list[int]]:
    """Tokenise the chat prompts from the .apr's tokenizer and template (weights not loaded)."""
    from sse.artifacts.apr import AprFile
    from sse.runtime.chat import ChatTemplate
    from sse.runtime.loader import tokenizer_from_apr

    f = AprFile(apr)
    tok = tokenizer_from_apr(f)
    chat = ChatTemplate(f.metadata.get("chat_template"))
    texts = [TASKS[i % len(TASKS)] + ("" if i < len(TASKS) else f"\n(variant {i})") for i in range(n)]
    return [tok.encode(chat.render([{"role": "user", "content": t}])) for t in texts]


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM; ru_maxrss of a child would include the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------ workers
def worker_numpy(apr: str, prompts: list[list[int]], batch: int, max_tokens: int, threads: int) -> dict[str, Any]:
    from sse.runtime.generate import GenRequest, generate
    from sse.runtime.loader import load_native

    t_load = time.perf_counter()
    nm = load_native(apr, verify_tensors=False)
    load_s = time.perf_counter() - t_load
    reqs = [GenRequest(tuple(p), max_tokens=max_tokens) for p in prompts]
    generate(nm.model, nm.tokenizer, reqs[:1], eos_ids=[-1], threads=threads)  # warm-up (page in weights)
    t0 = time.perf_counter()
    out_tokens, ttfts = 0, []
    for i in range(0, len(reqs), batch):
        res = generate(nm.model, nm.tokenizer, reqs[i: i + batch], eos_ids=[-1], threads=threads)
        out_tokens += sum(r.tokens_out for r in res)
        ttfts += [r.ttft_s for r in res]
    wall = time.perf_counter() - t0
    return {"engine": "numpy", "batch": batch, "threads": threads, "tokens_out": out_tokens, "wall_s": wall,
            "tokens_per_s": out_tokens / wall, "ttft_mean_s": sum(ttfts) / len(ttfts), "load_s": load_s,
            "quantization": nm.metadata.get("quantization")}


def worker_llama(gguf: str, prompts: list[list[int]], max_tokens: int, threads: int) -> dict[str, Any]:
    import numpy as np
    from llama_cpp import Llama

    n_ctx = max(len(p) for p in prompts) + max_tokens + 8
    t_load = time.perf_counter()
    llm = Llama(model_path=gguf, n_threads=threads, n_ctx=n_ctx, verbose=False)
    load_s = time.perf_counter() - t_load

    def run(p: list[int]) -> tuple[int, float]:
        t = time.perf_counter()
        llm.reset()
        llm.eval(p)
        first = time.perf_counter() - t
        n = 0
        while n < max_tokens:
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))  # greedy, EOS ignored like numpy's run
            n += 1
            if n < max_tokens:
                llm.eval([tok])
        return n, first

    run(prompts[0][:8])  # warm-up
    t0 = time.perf_counter()
    out_tokens, ttfts = 0, []
    for p in prompts:
        n, first = run(p)
        out_tokens += n
        ttfts.append(first)
    wall = time.perf_counter() - t0
    return {"engine": "llama.cpp", "batch": 1, "threads": threads, "tokens_out": out_tokens, "wall_s": wall,
            "tokens_per_s": out_tokens / wall, "ttft_mean_s": sum(ttfts) / len(ttfts), "load_s": load_s,
            "quantization": "gguf source"}


# ------------------------------------------------------------------------------------------------ driver
def run_child(args: list[str]) -> dict[str, Any]:
    """Run one configuration in a child process (it reports its own peak RSS)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=subprocess.DEVNULL)
        _, status, _ru = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"error": f"exit {os.waitstatus_to_exitcode(status)}", "args": args}
    return json.loads(text.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--apr", help="the .apr to run (default: convert the GGUF to q8_0 first)")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--batches", default="1,4,8,16")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for numpy (llama.cpp uses 2)")
    ap.add_argument("--json", help="write all figures here")
    ap.add_argument("--worker", choices=["numpy", "llama"], help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--prompt-file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        prompts = json.loads(Path(a.prompt_file).read_text())
        res = (worker_numpy(a.apr, prompts, a.batch, a.max_tokens, a.threads) if a.worker == "numpy"
               else worker_llama(a.gguf, prompts, a.max_tokens, 2))
        res["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(res))
        return 0
    tmpdir = Path(tempfile.mkdtemp(prefix="bench_inference."))
    apr = a.apr
    if apr is None:
        from sse.artifacts.convert import convert

        apr = str(tmpdir / "model.q8_0.apr")
        rep = convert([a.gguf], apr, "q8_0")
        print(f"converted to q8_0: gate {json.dumps(rep['measured'])}")
    prompts = prompt_ids(apr, a.prompts)
    pf = tmpdir / "prompts.json"
    pf.write_text(json.dumps(prompts))
    common = ["--gguf", a.gguf, "--apr", apr, "--prompt-file", str(pf), "--max-tokens", str(a.max_tokens),
              "--threads", str(a.threads)]
    load0 = os.getloadavg()
    rows = [run_child(["--worker", "llama", *common])]
    for b in [int(x) for x in a.batches.split(",")]:
        rows.append(run_child(["--worker", "numpy", "--batch", str(b), *common]))
    rows.append(run_child(["--worker", "llama", *common]))  # again: the machine is shared, bracket it
    load1 = os.getloadavg()
    peers = [r for r in rows if r.get("engine") == "llama.cpp"]
    peer = max((r["tokens_per_s"] for r in peers), default=None)
    print(f"prompts={len(prompts)} (mean {sum(map(len, prompts)) / len(prompts):.0f} tokens) "
          f"max_tokens={a.max_tokens} numpy_threads={a.threads} load_avg {load0[0]:.1f} -> {load1[0]:.1f}")
    print(f"{'engine':10} {'batch':>5} {'tok/s':>8} {'ratio':>6} {'ttft_s':>7} {'peak_MB':>8} {'wall_s':>7}")
    for r in rows:
        if "error" in r:
            print(f"failed: {r}")
            continue
        ratio = r["tokens_per_s"] / peer if peer else float("nan")
        r["ratio_to_llama_cpp"] = ratio
        print(f"{r['engine']:10} {r['batch']:>5} {r['tokens_per_s']:8.1f} {ratio:6.2f} {r['ttft_mean_s']:7.2f} "
              f"{r['peak_rss_mb']:8.0f} {r['wall_s']:7.1f}")
    np_rows = [r for r in rows if r.get("engine") == "numpy"]
    if peer and np_rows:
        single = next((r for r in np_rows if r["batch"] == 1), None)
        best = max(np_rows, key=lambda r: r["tokens_per_s"])
        print(f"targets: batched best (batch {best['batch']}) {best['tokens_per_s'] / peer:.2f}x llama.cpp "
              f"(want >= 1.0); single {single['tokens_per_s'] / peer if single else float('nan'):.2f}x (want >= 0.3); "
              f"numpy peak {max(r['peak_rss_mb'] for r in np_rows):.0f} MB (want < 1536)")
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "load_avg": [load0, load1], "prompts": len(prompts),
                                            "max_tokens": a.max_tokens}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
