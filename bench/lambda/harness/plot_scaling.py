"""Plots the raw JSON a scaling run wrote (scaling.py: bench/results/raw/scaling-<date>.json,
gitignored) as bench/results/scaling-<date>.png (committed): a PNG with matplotlib (the bench
venv has it), or, where matplotlib is missing, an SVG written by hand.

    bench/.venv/bin/python bench/lambda/harness/plot_scaling.py bench/results/raw/scaling-<date>.json
    ... plot_scaling.py RAW_JSON --out-dir DIR       # the plot in DIR instead of bench/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "results"


def series(doc: dict):
    size_pts = doc["payload_size"]["points"]
    sizes = [(p["body_bytes"] / 1024, p["report_ms"]["p50"], p["report_ms"]["p90"], p["wall_ms"]["p50"])
             for p in size_pts.values()]
    dest_pts = doc["destinations"]["points"]
    dests = [(int(k), p["report_ms"]["p50"], p["report_ms"]["p90"], p["wall_ms"]["p50"]) for k, p in dest_pts.items()]
    return sorted(sizes), sorted(dests)


def plot_png(doc: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes, dests = series(doc)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = [s[0] for s in sizes]
    a.plot(xs, [s[1] for s in sizes], "o-", label="REPORT Duration p50")
    a.plot(xs, [s[2] for s in sizes], "s--", label="REPORT Duration p90", alpha=0.7)
    a.plot(xs, [s[3] for s in sizes], "^:", label="client wall p50", alpha=0.7)
    a.set_xscale("log", base=2)
    a.set_xticks(xs, [f"{x:,.0f}" for x in xs])
    a.set_xlabel("body size (KiB, log scale; last = MAX_BODY_BYTES)")
    a.set_ylabel("ms")
    a.set_title("latency vs payload size (1 destination)")
    a.set_ylim(bottom=0)
    a.grid(alpha=0.3)
    a.legend()
    ks = [d[0] for d in dests]
    b.plot(ks, [d[1] for d in dests], "o-", label="REPORT Duration p50")
    b.plot(ks, [d[2] for d in dests], "s--", label="REPORT Duration p90", alpha=0.7)
    b.plot(ks, [d[3] for d in dests], "^:", label="client wall p50", alpha=0.7)
    b.set_xticks(ks)
    b.set_xlabel("SQS destinations (ROUTES entries matching every event)")
    b.set_ylabel("ms")
    b.set_title("latency vs destinations (~1 KB bodies)")
    b.set_ylim(bottom=0)
    b.grid(alpha=0.3)
    b.legend()
    fig.suptitle(f"salesloft-webhooks under aws-lambda-rie + moto (127.0.0.1), {doc['meta']['n']} warm invocations per point, "
                 f"{doc['meta']['started_utc']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_svg(doc: dict, out: Path) -> None:
    """Two line charts (REPORT p50) in plain SVG."""
    sizes, dests = series(doc)
    W, H, P = 420, 300, 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" font-family="sans-serif" font-size="11">']

    def chart(x0, pts, xlabel, title, xfmt):
        ymax = max(max(p[2] for p in pts), 1) * 1.1
        n = len(pts)
        def X(i): return x0 + P + i * (W - 2 * P) / max(n - 1, 1)
        def Y(v): return H - P - v * (H - 2 * P) / ymax
        parts.append(f'<text x="{x0 + W / 2}" y="18" text-anchor="middle">{title}</text>')
        parts.append(f'<line x1="{x0 + P}" y1="{H - P}" x2="{x0 + W - P}" y2="{H - P}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + P}" y1="{P}" x2="{x0 + P}" y2="{H - P}" stroke="black"/>')
        for frac in (0, 0.5, 1):
            v = ymax * frac
            parts.append(f'<text x="{x0 + P - 4}" y="{Y(v) + 4}" text-anchor="end">{v:.0f}</text>')
        for col, idx, name in (("#1f77b4", 1, "REPORT p50"), ("#ff7f0e", 2, "REPORT p90")):
            path = " ".join(f"{X(i):.1f},{Y(p[idx]):.1f}" for i, p in enumerate(pts))
            parts.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{path}"/>')
            parts.append(f'<text x="{x0 + W - P}" y="{P + 14 * idx}" text-anchor="end" fill="{col}">{name}</text>')
        for i, p in enumerate(pts):
            parts.append(f'<text x="{X(i)}" y="{H - P + 14}" text-anchor="middle">{xfmt(p[0])}</text>')
        parts.append(f'<text x="{x0 + W / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>')
        parts.append(f'<text x="{x0 + 12}" y="{H / 2}" transform="rotate(-90 {x0 + 12} {H / 2})">ms</text>')

    chart(0, sizes, "body size (KiB)", "latency vs payload size", lambda x: f"{x:,.0f}")
    chart(W, dests, "destinations", "latency vs destinations", lambda x: str(x))
    parts.append("</svg>")
    out.write_text("\n".join(parts) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", type=Path, help="the raw JSON of a scaling run (scaling.py --raw)")
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help="where the plot goes (default: %(default)s)")
    args = ap.parse_args()
    src: Path = args.raw
    if not src.is_file():
        sys.exit(f"plot_scaling: {src} not found: the raw JSON is not committed, run bench/lambda/scaling.sh "
                 "to produce one")
    doc = json.loads(src.read_text())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        out = args.out_dir / (src.stem + ".svg")
        plot_svg(doc, out)
    else:
        out = args.out_dir / (src.stem + ".png")
        plot_png(doc, out)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
