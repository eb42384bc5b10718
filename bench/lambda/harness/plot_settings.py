"""Plots the four-settings side by side (run_null.sh / run_settings.py: moto-plain, moto-tls,
null-plain, null-tls) from the raw JSON under bench/results/raw/ as one hand-written SVG (no
matplotlib needed): a panel per setting, and in it, per measure (INIT, first invoke = the
invoke phase alone, first REPORT = INIT + first request, warm p50), one bar per peer (floor,
this function, node, python) and per run (the first stamp solid, the next ones lighter), on a
log scale. Medians as the tables give them.

    .venv/bin/python bench/lambda/harness/plot_settings.py                        # 2026-11-30T0143 and T0147
    .venv/bin/python bench/lambda/harness/plot_settings.py --stamps 2026-11-30T0143 --out x.svg
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "results"
SETTINGS = ["moto-plain", "moto-tls", "null-plain", "null-tls"]
PEERS = [("floor", "floor", "#7f7f7f"), ("this", "this function", "#d62728"),
         ("node", "node", "#2ca02c"), ("python", "python", "#1f77b4")]
MEASURES = [("init_ms_p50", "INIT"), ("first_invoke_phase_ms_p50", "first invoke (phase)"),
            ("first_report_ms_p50", "INIT + first request"), ("warm_p50", "warm p50")]


def value(summary: dict, key: str) -> float | None:
    if key == "warm_p50":
        return summary.get("warm_report_ms", {}).get("p50")
    return summary.get(key)


def load(stamps: list[str]) -> dict:
    data: dict = {}
    for st in stamps:
        for s in SETTINGS:
            f = RESULTS / "raw" / f"lambda-{s}-{st}.json"
            if not f.is_file():
                sys.exit(f"plot_settings: {f} not found (raw JSON is gitignored: run bench/lambda/run_null.sh)")
            doc = json.loads(f.read_text())
            data.setdefault(s, {})[st] = doc["summary"]
    return data


def esc(t: str) -> str:
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plot(data: dict, stamps: list[str], out: Path, title: str) -> None:
    PW, PH = 620, 330            # one panel
    L, R, T, B = 52, 12, 34, 58  # panel margins
    LO, HI = 1.0, 1000.0         # log axis, ms
    W, H = 2 * PW, 2 * PH + 70
    p: list[str] = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
                    f'font-family="sans-serif" font-size="11">',
                    f'<rect width="{W}" height="{H}" fill="white"/>',
                    f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13">{esc(title)}</text>']
    # legend
    lx = 60
    for _, label, col in PEERS:
        p.append(f'<rect x="{lx}" y="30" width="12" height="12" fill="{col}"/>')
        p.append(f'<text x="{lx + 16}" y="40">{esc(label)}</text>')
        lx += 30 + 7 * len(label)
    for i, st in enumerate(stamps):
        op = 1.0 if i == 0 else 0.45
        p.append(f'<rect x="{lx}" y="30" width="12" height="12" fill="#444" fill-opacity="{op}"/>')
        p.append(f'<text x="{lx + 16}" y="40">run {st}</text>')
        lx += 150
    p.append(f'<text x="{lx}" y="40" fill="#555">medians; log scale</text>')

    def Y(v: float, y0: float) -> float:
        v = min(max(v, LO), HI)
        return y0 + T + (PH - T - B) * (1 - (math.log10(v) - math.log10(LO)) / (math.log10(HI) - math.log10(LO)))

    for k, s in enumerate(SETTINGS):
        x0, y0 = (k % 2) * PW, 50 + (k // 2) * PH
        base = Y(LO, y0)
        p.append(f'<text x="{x0 + PW / 2}" y="{y0 + 22}" text-anchor="middle" font-size="12" font-weight="bold">{s}</text>')
        for dec in (1, 10, 100, 1000):
            y = Y(dec, y0)
            p.append(f'<line x1="{x0 + L}" y1="{y:.1f}" x2="{x0 + PW - R}" y2="{y:.1f}" stroke="#ddd"/>')
            p.append(f'<text x="{x0 + L - 4}" y="{y + 4:.1f}" text-anchor="end">{dec}</text>')
            for m in (2, 5):
                if dec * m <= HI:
                    ym = Y(dec * m, y0)
                    p.append(f'<line x1="{x0 + L}" y1="{ym:.1f}" x2="{x0 + PW - R}" y2="{ym:.1f}" stroke="#f2f2f2"/>')
        p.append(f'<line x1="{x0 + L}" y1="{base:.1f}" x2="{x0 + PW - R}" y2="{base:.1f}" stroke="black"/>')
        p.append(f'<line x1="{x0 + L}" y1="{Y(HI, y0):.1f}" x2="{x0 + L}" y2="{base:.1f}" stroke="black"/>')
        p.append(f'<text x="{x0 + 14}" y="{y0 + PH / 2}" transform="rotate(-90 {x0 + 14} {y0 + PH / 2})" '
                 f'text-anchor="middle">ms</text>')
        gw = (PW - L - R) / len(MEASURES)
        nb = len(PEERS) * len(stamps)
        bw = (gw - 16) / nb
        for g, (key, mlabel) in enumerate(MEASURES):
            gx = x0 + L + g * gw + 8
            p.append(f'<text x="{gx + (gw - 16) / 2:.1f}" y="{base + 16:.1f}" text-anchor="middle">{esc(mlabel)}</text>')
            for j, (peer, plabel, col) in enumerate(PEERS):
                for i, st in enumerate(stamps):
                    v = value(data[s][st].get(peer, {}), key)
                    if v is None:
                        continue
                    bx = gx + (j * len(stamps) + i) * bw
                    y = Y(v, y0)
                    op = 1.0 if i == 0 else 0.45
                    p.append(f'<rect x="{bx:.1f}" y="{y:.1f}" width="{bw - 1:.1f}" height="{base - y:.1f}" fill="{col}" '
                             f'fill-opacity="{op}"><title>{esc(s)} {esc(plabel)} {esc(mlabel)} run {st}: {v:.3g} ms</title></rect>')
                    lbl = f"{v:.0f}" if v >= 10 else f"{v:.1f}"
                    tx, ty = bx + (bw - 1) / 2, y - 3
                    p.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="8" text-anchor="start" '
                             f'transform="rotate(-90 {tx:.1f} {ty:.1f})">{lbl}</text>')
        runs = ", ".join(f"{st}: {data[s][st]['this']['init_ms']['n']} cold starts, "
                         f"{data[s][st]['this']['warm_report_ms']['n']} warm" for st in stamps)
        p.append(f'<text x="{x0 + PW / 2}" y="{base + 32:.1f}" text-anchor="middle" fill="#555" font-size="10">'
                 f'{esc(runs)} per peer</text>')
    p.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" fill="#555" font-size="10">first invoke (phase): RTDONE '
             f'of the first invocation; INIT + first request: its REPORT Duration; warm p50: REPORT Duration. '
             f'aws-lambda-rie on 127.0.0.1, 2 loaded cores (BENCHMARKS.md section 6).</text>')
    p.append("</svg>")
    out.write_text("\n".join(p) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stamps", default="2026-11-30T0143,2026-11-30T0147", help="run stamps, comma-separated")
    ap.add_argument("--out", type=Path, default=RESULTS / "settings-2026-11-30.svg")
    args = ap.parse_args()
    stamps = [s for s in args.stamps.split(",") if s]
    data = load(stamps)
    plot(data, stamps, args.out, "salesloft-webhooks side by side in four backend settings (BENCHMARKS.md section 6)")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
