"""How answers end, before and after answer-shaped stopping: the share of a native model's answers
that run to max_tokens on the default task's corpus, with the task's chat prompts and stop
policy `none` (as before issue 17) vs `code_block`, and with completion prompts.

    .venv/bin/python benchmarks/bench_stopping.py [--apr F.apr] [--examples 144] [--slots 16]

Prints, per configuration, the finish reasons (stop_on_block / eos / max_tokens), tokens
generated and wall seconds. Greedy decoding: tokens are those of decoding each prompt alone.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apr", help="default: the registry's smollm2-135m (fetched and converted on demand)")
    ap.add_argument("--examples", type=int, default=144)
    ap.add_argument("--slots", type=int)
    ap.add_argument("--configs", default="chat:none,chat:code_block,completion:code_block")
    ap.add_argument("--verify", action="store_true", help="also compile and test every answer: pass@1 per config")
    ap.add_argument("--json")
    a = ap.parse_args()
    from sse.artifacts.stages import ensure_apr
    from sse.run.generate import render_prompt
    from sse.runtime.generate import GenRequest, generate
    from sse.runtime.kvcache import PrefixCache
    from sse.runtime.loader import load_native
    from sse.task.config import load_registry, load_task
    from sse.task.corpus import load_corpus
    from sse.task.prompting import render_completion, stop_matcher
    from sse.task.translate import rust_signature

    apr = a.apr or str(ensure_apr(load_registry(ROOT / "tasks" / "models.yaml")["smollm2-135m"]))
    nm = load_native(apr, verify_tensors=False)
    task = load_task(ROOT / "tasks" / "python-to-rust.yaml")
    examples = [e for e in load_corpus(task.corpus).examples if e.kind == "function"][: a.examples]
    rows = []
    for cfg in a.configs.split(","):
        style, policy = cfg.split(":")
        reqs, prefixes = [], []
        for ex in examples:
            if style == "chat":
                p = render_prompt(task, ex, 0, rust_signature(ex))
                text = nm.chat.render([{"role": "system", "content": p.system}, {"role": "user", "content": p.user}])
            else:
                cp = render_completion(ex.python, rust_signature(ex))
                text = cp.text
            prefixes.append(cp.answer_prefix if style == "completion" else "")
            reqs.append(GenRequest(tuple(nm.tokenizer.encode(text)), max_tokens=task.decoding.max_tokens,
                                   matcher=functools.partial(stop_matcher, policy, style)))
        t0 = time.perf_counter()
        res = generate(nm.model, nm.tokenizer, reqs, nm.eos_ids, slots=a.slots, prefixes=PrefixCache())
        wall = time.perf_counter() - t0
        reasons: dict[str, int] = {}
        for r in res:
            reasons[r.finish_reason] = reasons.get(r.finish_reason, 0) + 1
        tokens = sum(r.tokens_out for r in res)
        answers = [(prefix + r.text) for prefix, r in zip(prefixes, res, strict=True)]
        row: dict[str, object] = {"style": style, "stop_policy": policy, "answers": len(res), "finish_reasons": reasons,
               "max_tokens_share": reasons.get("max_tokens", 0) / len(res), "tokens_out": tokens, "wall_s": wall,
               "tokens_per_s": tokens / wall}
        if a.verify:
            from sse.scorers import VerifyRequest, extract_rust, verify_batch

            verdicts = verify_batch([VerifyRequest(example=ex, rust=extract_rust(t, ex), ground_truth=task.ground_truth)
                                     for ex, t in zip(examples, answers, strict=True)])
            row["pass_at_1"] = sum(v.status == "pass" for v in verdicts) / len(verdicts)
            row["statuses"] = {s: sum(v.status == s for v in verdicts) for s in {v.status for v in verdicts}}
            print(f"{style:10} {policy:10} pass@1={row['pass_at_1']:.3f} {row['statuses']}", flush=True)
        row["answers_text"] = answers
        rows.append(row)
        print(f"{style:10} {policy:10} answers={len(res)} max_tokens={reasons.get('max_tokens', 0)} "
              f"({100 * reasons.get('max_tokens', 0) / len(res):.0f}%) finish={reasons} tokens={tokens} wall={wall:.0f}s "
              f"({tokens / wall:.0f} tok/s)", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "max_tokens": task.decoding.max_tokens}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
