"""Benchmark: splitting huge message bodies into 4,000-byte CaseComments, against encoding the same text.

Bodies of 1, 4 and 16 MiB (mixed ASCII and multibyte text). Each round times ``text.encode("utf-8")`` (the
baseline: any splitter must at least read the text once) and ``split_comment`` over the same body; the figures
are medians over rounds. Linear splitting keeps the split/encode ratio flat as the body grows, and the time per
MiB constant (the old splitter re-encoded the remaining text for every part: 16 MiB took ~13 s).
Run: .venv/bin/python bench/comment_split.py [--rounds 5] [--sizes 1,4,16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from hdm.destinations.salesforce.comment_body import body_text_of, comment_header, split_comment

LINE = "The quick brown fox jumps over the lazy dog, ünïcødé ✓ and so on.\n"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1,4,16", help="body sizes in MiB")
    args = parser.parse_args()
    header = comment_header("Ann Agent", None, "2024-01-31T12:00:00Z", "agent", False, "message:1")
    results = []
    per_mib: dict[int, float] = {}
    for mib in (int(s) for s in args.sizes.split(",")):
        text = LINE * (mib * 1024 * 1024 // len(LINE.encode()))
        parts = split_comment(header, text)
        assert "".join(body_text_of(p.body) for p in parts) == text, "parts do not give the text back"
        base_t = statistics.median(timed(lambda t=text: t.encode("utf-8")) for _ in range(args.rounds))
        split_t = statistics.median(timed(lambda t=text: split_comment(header, t)) for _ in range(args.rounds))
        per_mib[mib] = split_t / mib
        print(f"{mib:>3} MiB: {len(parts):>5} comments, split {split_t * 1000:8.1f} ms "
              f"({split_t / mib * 1000:6.1f} ms/MiB); encode (baseline) {base_t * 1000:6.2f} ms "
              f"-> {split_t / base_t:5.1f}x baseline")
        results.append({"name": f"comment_split_{mib}mib_ms", "value": round(split_t * 1000, 3),
                        "baseline": round(base_t * 1000, 3), "ratio": round(split_t / base_t, 2)})
    sizes = sorted(per_mib)
    growth = per_mib[sizes[-1]] / per_mib[sizes[0]]
    print(f"time per MiB at {sizes[-1]} MiB / at {sizes[0]} MiB: {growth:.2f} (1.0 = linear)")
    results.append({"name": "comment_split_per_mib_growth", "value": round(growth, 3), "baseline": 1.0,
                    "ratio": round(growth, 3)})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
