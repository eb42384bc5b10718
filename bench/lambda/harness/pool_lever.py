"""Pools several run_settings.py / run_bench.py raw JSON files into one comparison of two rows
(a lever off and on): the cold starts of every run together (medians, quartiles, and a
bootstrap 95% interval of the on/off ratio of medians), warm p50 over all warm invocations
together, peak RSS as the median of the runs' VmHWM; a per-run table beside it.

    .venv/bin/python bench/lambda/harness/pool_lever.py --off this --on thispre \\
        --title "..." --md bench/results/lever-prewarm-tls-<stamp>.md RAW.json [RAW.json ...]

A row may also come from separate runs (one row per file): `--off this@FILE1,FILE3 --on
this@FILE2,FILE4` takes row `this` from the files named (paths as given on the command line).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics as st
from pathlib import Path


def q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def pick(spec: str, docs: dict[str, dict]) -> tuple[str, list[tuple[str, dict]]]:
    """`row` (from every file) or `row@f1,f2` -> (row, [(file, peer data)])."""
    if "@" in spec:
        row, files = spec.split("@", 1)
        return row, [(f, docs[f]["peers"][row]) for f in files.split(",")]
    return spec, [(f, d["peers"][spec]) for f, d in docs.items() if spec in d["peers"]]


def pooled(runs: list[tuple[str, dict]]) -> dict:
    cold = [c for _, r in runs for c in r["cold"]]
    out = {"n_cold": len(cold), "n_runs": len(runs)}
    for k in ("init_ms", "first_invoke_phase_ms", "first_report_ms", "first_wall_ms"):
        xs = [c[k] for c in cold if c.get(k) is not None]
        out[k] = xs
    out["cold_rss_MB"] = [c["rss_after_first_kB"] / 1024 for c in cold if c.get("rss_after_first_kB")]
    out["warm_report_ms"] = [x for _, r in runs for x in r["warm"]["report_ms"]]
    out["peak_rss_MB"] = [r["rss_end"]["VmHWM_kB"] / 1024 for _, r in runs]
    out["checks_ok"] = all(r["checks"]["ok"] for _, r in runs)
    out["queue_ok"] = all(r["queue"]["ok"] for _, r in runs)
    out["statuses"] = sorted({c["status_code"] for c in cold})
    return out


def boot_ratio(a: list[float], b: list[float], n: int = 2000, seed: int = 14) -> tuple[float, float]:
    """95% bootstrap interval of median(b) / median(a)."""
    rnd = random.Random(seed)
    rs = sorted(st.median(rnd.choices(b, k=len(b))) / st.median(rnd.choices(a, k=len(a))) for _ in range(n))
    return rs[int(0.025 * n)], rs[int(0.975 * n) - 1]


def f(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--off", required=True)
    ap.add_argument("--on", required=True)
    ap.add_argument("--off-label", default="PREWARM_CONNECTIONS=false (default)")
    ap.add_argument("--on-label", default="PREWARM_CONNECTIONS=true")
    ap.add_argument("--title", default="")
    ap.add_argument("--md", type=Path)
    ap.add_argument("raw", nargs="+")
    args = ap.parse_args()
    docs = {p: json.loads(Path(p).read_text()) for p in args.raw}
    rows = {}
    for which, spec in (("off", args.off), ("on", args.on)):
        rows[which] = pick(spec, docs)
    po = {w: pooled(runs) for w, (_, runs) in rows.items()}
    o, n = po["off"], po["on"]
    lines = []
    if args.title:
        lines += [f"### {args.title}", ""]
    lines += [f"Pooled over the runs below: {o['n_cold']} cold starts off, {n['n_cold']} on; "
              f"{len(o['warm_report_ms'])} / {len(n['warm_report_ms'])} measured warm invocations; peak RSS: median of "
              f"the {o['n_runs']} / {n['n_runs']} warm processes' VmHWM. Medians (p25–p75 in brackets).", ""]
    lines += ["| | INIT ms | first invoke ms (invoke phase) | first REPORT ms (INIT + first request) | first request wall ms (client) | warm p50 ms | peak RSS MB | cold RSS MB | checks / queue |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    keys = ["init_ms", "first_invoke_phase_ms", "first_report_ms", "first_wall_ms"]
    for w, label in (("off", args.off_label), ("on", args.on_label)):
        r = po[w]
        cells = [f"{f(st.median(r[k]))} ({f(q(r[k], .25))}–{f(q(r[k], .75))})" for k in keys]
        cells.append(f(st.median(r["warm_report_ms"])))
        cells.append(f(st.median(r["peak_rss_MB"])))
        cells.append(f(st.median(r["cold_rss_MB"])) if r["cold_rss_MB"] else "—")
        cells.append(f"{'ok' if r['checks_ok'] else 'FAIL'} / {'ok' if r['queue_ok'] else 'FAIL'}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ratio = []
    for k in keys + ["warm_report_ms"]:
        mo, mn = st.median(o[k]), st.median(n[k])
        lo, hi = boot_ratio(o[k], n[k])
        ratio.append(f"{mn / mo:.2f}x [{lo:.2f}–{hi:.2f}]")
    ratio.append(f"{st.median(n['peak_rss_MB']) / st.median(o['peak_rss_MB']):.2f}x")
    ratio.append(f"{st.median(n['cold_rss_MB']) / st.median(o['cold_rss_MB']):.2f}x" if o["cold_rss_MB"] else "—")
    lines.append("| **on / off** | " + " | ".join(ratio) + " | |")
    diffs = {k: st.median(n[k]) - st.median(o[k]) for k in keys}
    lines += ["", "Differences of medians, on − off: " + ", ".join(
        f"{k.replace('_ms', '')} {d:+.2f} ms" for k, d in diffs.items())
        + ". Brackets after a ratio: 95% bootstrap interval of the ratio of medians (2,000 resamples).", ""]
    lines += ["Per run (medians of that run's cold starts; warm p50 of its warm invocations):", "",
              "| file | row | load avg start → end | INIT ms | first invoke ms | first REPORT ms | warm p50 ms | peak RSS MB | checks / queue |",
              "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for w in ("off", "on"):
        row, runs = rows[w]
        for fn, r in runs:
            h = docs[fn]["meta"]["host"]
            c = r["cold"]
            cells = [f(st.median([x[k] for x in c])) for k in ("init_ms", "first_invoke_phase_ms", "first_report_ms")]
            lines.append(f"| `{Path(fn).name}` | {w}: `{row}` | {h['loadavg_start'][0]} → {h['loadavg_end'][0]} | "
                         + " | ".join(cells)
                         + f" | {f(st.median(r['warm']['report_ms']))} | {f(r['rss_end']['VmHWM_kB'] / 1024)} | "
                         f"{'ok' if r['checks']['ok'] else 'FAIL'} / {'ok' if r['queue']['ok'] else 'FAIL'} |")
    md = "\n".join(lines) + "\n"
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
