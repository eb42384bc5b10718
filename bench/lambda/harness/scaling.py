"""This function only: warm latency against payload size and against the number of SQS
destinations, under aws-lambda-rie against moto. Driven by bench/lambda/scaling.sh.

    .venv/bin/python bench/lambda/harness/scaling.py [--n 60] [--warmup 5]
        [--md bench/results/scaling-<date>.md] [--raw bench/results/raw/scaling-<date>.json]

Writes the Markdown tables (committed) and the raw JSON of the run (gitignored), which
plot_scaling.py turns into the plot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambench as lb  # noqa: E402

# The function's default MAX_BODY_BYTES: SQS's 1 MiB message limit less 4,096 bytes kept for
# the envelope (src/config.rs DEFAULT_MAX_BODY_BYTES).
MAX_BODY_BYTES = 1_048_576 - 4_096
SIZES = [("1 KB", 1_024), ("16 KB", 16_384), ("128 KB", 131_072), ("512 KB", 524_288),
         ("1 MiB - 4 KiB (MAX_BODY_BYTES)", MAX_BODY_BYTES)]
DESTINATIONS = [1, 2, 5, 10]
RIE_PAYLOAD_LIMIT = 6 * 1024 * 1024


def measure(ries: dict, payloads: dict, n: int, warmup: int) -> dict:
    """Round-robin over the configurations (so outside load falls on all alike); per
    configuration the REPORT Duration and client wall clock of the `n` measured calls."""
    walls = {k: [] for k in ries}
    codes = {k: {} for k in ries}
    for k, rie in ries.items():
        rie.start()
        for i in range(1 + warmup):
            res = rie.invoke(payloads[k][i])
            assert res.status_code == 202, (k, res.body[:300])
    for i in range(1 + warmup, 1 + warmup + n):
        for k, rie in ries.items():
            res = rie.invoke(payloads[k][i])
            walls[k].append(res.wall_ms)
            codes[k][str(res.status_code)] = codes[k].get(str(res.status_code), 0) + 1
    out = {}
    for k, rie in ries.items():
        st = rie.runtime_status()
        rie.stop()
        parsed = rie.parse_log(rie.invocations)
        rep = parsed["report_ms"][1 + warmup:1 + warmup + n]
        out[k] = {"report_ms": lb.summary(rep), "wall_ms": lb.summary(walls[k]), "statuses": codes[k],
                  "report_raw": rep, "wall_raw": walls[k], "rss_end_kB": st.get("VmHWM_kB"),
                  "log": str(rie.log_path.relative_to(lb.REPO))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60, help="measured invocations per point (>= 50)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--md", default="", help="Markdown tables (default: bench/results/scaling-<date>.md)")
    ap.add_argument("--raw", default="", help="raw JSON (default: bench/results/raw/scaling-<date>.json, gitignored)")
    args = ap.parse_args()

    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y-%m-%d")
    logdir = lb.WORK / f"scaling-logs-{started.strftime('%Y%m%dT%H%M%S')}"
    logdir.mkdir(parents=True, exist_ok=True)
    md_path = Path(args.md) if args.md else lb.RESULTS / f"scaling-{stamp}.md"
    raw_path = Path(args.raw) if args.raw else lb.RAW_RESULTS / f"scaling-{stamp}.json"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    factory = lb.EventFactory(start_id=5_000_000_000)
    total = 1 + args.warmup + args.n
    doc: dict = {"meta": {"started_utc": started.isoformat(timespec="seconds"), "n": args.n, "warmup": args.warmup,
                          "loadavg_start": lb.loadavg(), "max_body_bytes": MAX_BODY_BYTES,
                          "bootstrap_sha256": lb.sha256_file(lb.BUILD / "webhook/bootstrap"),
                          "logs": str(logdir.relative_to(lb.REPO))}}

    with lb.Moto(logdir) as moto:
        ddb, sqs = moto.clients()
        stack = lb.create_stack(moto, ["this"])
        base = lb.define_peer("this", stack)

        # 1. Payload size, one destination (QUEUE_URL).
        ries, payloads, sizes_info = {}, {}, {}
        for label, size in SIZES:
            ries[label] = lb.Rie(base, logdir, f"size{size}")
            payloads[label] = [factory.make(i, size=size)[0] for i in range(total)]
            biggest = max(len(p) for p in payloads[label])
            assert biggest < RIE_PAYLOAD_LIMIT, (label, biggest)
            sizes_info[label] = {"body_bytes": size, "invocation_payload_bytes": biggest}
        lb.log(f"payload sizes: {sizes_info}")
        by_size = measure(ries, payloads, args.n, args.warmup)
        for label, _ in SIZES:
            by_size[label].update(sizes_info[label])
        depth = lb.queue_depth(sqs, stack.queues["this"])
        doc["payload_size"] = {"points": by_size, "queue_messages": depth,
                               "expected_messages": len(SIZES) * total, "ok": depth == len(SIZES) * total}

        # One byte over the limit is refused before any AWS call (413), same process type.
        over = lb.Rie(base, logdir, "over-limit")
        over.start()
        try:
            res = over.invoke(factory.make(0, size=MAX_BODY_BYTES + 1)[0])
        finally:
            over.stop()
        doc["payload_size"]["over_limit_status"] = res.status_code

        # 2. Number of destinations: ROUTES with k routes matching every event (plus QUEUE_URL,
        #    which only gets events no route matches: none here).
        ries, payloads, queues = {}, {}, {}
        for k in DESTINATIONS:
            urls = [lb.create_queue(moto, f"bench-fanout{k}-q{j}") for j in range(1, k + 1)]
            queues[k] = urls
            routes = [{"name": f"q{j}", "queue_url": u, "events": ["*"]} for j, u in enumerate(urls, 1)]
            ries[k] = lb.Rie(base, logdir, f"dest{k}", extra_env={"ROUTES": json.dumps(routes)})
            payloads[k] = [factory.make(i)[0] for i in range(total)]
        by_dest = measure(ries, payloads, args.n, args.warmup)
        checks = {}
        for k in DESTINATIONS:
            depths = [lb.queue_depth(sqs, u) for u in queues[k]]
            checks[k] = {"queue_messages": depths, "ok": all(d == total for d in depths)}
            by_dest[k]["queues"] = checks[k]
        doc["destinations"] = {"points": {str(k): v for k, v in by_dest.items()},
                               "ok": all(c["ok"] for c in checks.values())}
    doc["meta"]["loadavg_end"] = lb.loadavg()
    raw_path.write_text(json.dumps(doc, indent=1) + "\n")

    lines = [f"### This function: warm latency vs payload size and destinations ({doc['meta']['started_utc']}, "
             f"{args.n} invocations per point, aws-lambda-rie + moto)", "",
             "| body | invocation payload bytes | REPORT p50 ms | REPORT p90 ms | wall p50 ms | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, size in SIZES:
        p = by_size[label]
        lines.append(f"| {label} ({size:,} B) | {p['invocation_payload_bytes']:,} | {p['report_ms']['p50']:.2f} | "
                     f"{p['report_ms']['p90']:.2f} | {p['wall_ms']['p50']:.2f} | {(p['rss_end_kB'] or 0) / 1024:.1f} |")
    lines.append(f"\nOne byte over MAX_BODY_BYTES: status {doc['payload_size']['over_limit_status']}. "
                 f"Queue count check: {'ok' if doc['payload_size']['ok'] else 'MISMATCH'}.\n")
    lines += ["| destinations | REPORT p50 ms | REPORT p90 ms | wall p50 ms | per extra destination (p50) |",
              "|---:|---:|---:|---:|---:|"]
    first = by_dest[DESTINATIONS[0]]["report_ms"]["p50"]
    for k in DESTINATIONS:
        p = by_dest[k]
        extra = "" if k == 1 else f"{(p['report_ms']['p50'] - first) / (k - 1):.2f} ms"
        lines.append(f"| {k} | {p['report_ms']['p50']:.2f} | {p['report_ms']['p90']:.2f} | {p['wall_ms']['p50']:.2f} | {extra} |")
    lines.append(f"\nEvery queue got every message: {'ok' if doc['destinations']['ok'] else 'MISMATCH'}.\n")
    md = "\n".join(lines)
    md_path.write_text(md + "\n")
    print(md)
    lb.log(f"wrote {md_path} and the raw data {raw_path}")


if __name__ == "__main__":
    main()
