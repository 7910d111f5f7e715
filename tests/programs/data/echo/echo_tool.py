#!/usr/bin/env python3
"""A tiny CLI whose suite calls it in every way the redirect must handle."""

import argparse
import os
import sys


def main() -> None:
    p = argparse.ArgumentParser(prog="echo_tool.py", description="Echo words")
    p.add_argument("words", nargs="*")
    p.add_argument("--upper", action="store_true")
    p.add_argument("--stdin", action="store_true")
    p.add_argument("--pwd", action="store_true")
    p.add_argument("--env", default=None)
    p.add_argument("--read", default=None)
    a = p.parse_args()
    if a.pwd:
        print(os.path.basename(os.getcwd()))
        return
    if a.env:
        print(os.environ.get(a.env, "<unset>"))
        return
    if a.read:
        with open(a.read, encoding="utf-8") as f:
            print(f.read().strip())
        return
    text = sys.stdin.read().strip() if a.stdin else " ".join(a.words)
    print(text.upper() if a.upper else text)


if __name__ == "__main__":
    main()
