"""Side-by-side Lambda benchmark: floor, this function, node, python under aws-lambda-rie against
one moto server. Driven by bench/lambda/run.sh (which builds everything first); see
bench/lambda/README.md for what is measured and how.

    .venv/bin/python bench/lambda/harness/run_bench.py [--cold 12] [--warm 1000] [--warmup 10]
        [--md bench/results/lambda-<date>.md] [--raw bench/results/raw/lambda-<date>.json]

Writes the Markdown tables (committed) and the raw JSON of the run (every sample; gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambench as lb  # noqa: E402

ACCEPTED = {202}


def cold_start(peer: lb.Peer, factory: lb.EventFactory, logdir: Path, tag: str) -> dict:
    rie = lb.Rie(peer, logdir, tag)
    rie.start()
    try:
        payload, _ = factory.make(0)
        res = rie.invoke(payload)
        st = rie.runtime_status()
    finally:
        rie.stop()
    parsed = rie.parse_log(1, wait_s=3)
    rt = parsed["rtdone"][0] if parsed["rtdone"] else (None, None)
    return {
        "init_ms": parsed["init_ms"][0] if parsed["init_ms"] else None,
        "first_report_ms": parsed["report_ms"][0] if parsed["report_ms"] else None,
        "first_report_init_field_ms": parsed["report_init_field_ms"][0] if parsed["report_init_field_ms"] else None,
        "first_invoke_phase_ms": rt[1],
        "first_wall_ms": res.wall_ms,
        "status_code": res.status_code,
        "rss_after_first_kB": st.get("VmHWM_kB"),
        "log": str(rie.log_path.relative_to(lb.REPO)),
    }


def sanity(rie: lb.Rie, factory: lb.EventFactory, replay_payload: bytes) -> dict:
    """Behaviour checks on a warm process (after the measurement): a replayed delivery is a
    duplicate, a forged signature is refused, a base64 body is accepted once."""
    out = {}
    out["duplicate"] = rie.invoke(replay_payload).status_code
    bad, _ = factory.make(1, bad_signature=True)
    out["bad_signature"] = rie.invoke(bad).status_code
    template, body = factory.body(2)
    b64, _ = factory.make(2, b64=True, body=body, template=template)
    out["base64_new"] = rie.invoke(b64).status_code
    out["base64_replay"] = rie.invoke(b64).status_code
    out["ok"] = dict(out) == {"duplicate": 200, "bad_signature": 401, "base64_new": 202, "base64_replay": 200}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=12, help="cold starts per peer (>= 10)")
    ap.add_argument("--warm", type=int, default=1000, help="measured warm invocations per peer (>= 300)")
    ap.add_argument("--warmup", type=int, default=10, help="warm invocations after the first, not measured")
    ap.add_argument("--peers", default=",".join(lb.PEER_ORDER))
    ap.add_argument("--md", default="", help="Markdown tables (default: bench/results/lambda-<date>.md)")
    ap.add_argument("--raw", default="", help="raw JSON (default: bench/results/raw/lambda-<date>.json, gitignored)")
    args = ap.parse_args()
    names = [p for p in args.peers.split(",") if p]

    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y-%m-%d")
    logdir = lb.WORK / f"logs-{started.strftime('%Y%m%dT%H%M%S')}"
    logdir.mkdir(parents=True, exist_ok=True)
    md_path = Path(args.md) if args.md else lb.RESULTS / f"lambda-{stamp}.md"
    raw_path = Path(args.raw) if args.raw else lb.RAW_RESULTS / f"lambda-{stamp}.json"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "started_utc": started.isoformat(timespec="seconds"),
        "host": {"nproc": __import__("os").cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                 "loadavg_start": lb.loadavg()},
        "settings": {"cold": args.cold, "warm": args.warm, "warmup": args.warmup,
                     "memory_mb": lb.MEMORY_MB, "timeout_s": lb.TIMEOUT_S},
        "rie": str(lb.rie_path().relative_to(lb.REPO)),
        "git": {"head": lb.cmd_out(["git", "rev-parse", "HEAD"], lb.REPO),
                "dirty_paths": lb.cmd_out(["git", "status", "--porcelain", "--", "src", "crates", "Cargo.toml", "Cargo.lock"], lb.REPO).splitlines()},
        "versions": {"rustc": lb.cmd_out(["rustc", "--version"]), "node": lb.cmd_out(["node", "--version"])},
        "logs": str(logdir.relative_to(lb.REPO)),
    }
    build_info = lb.WORK / "build-info.json"
    if build_info.exists():
        meta["build"] = json.loads(build_info.read_text())
    for name in ("this", "floor"):
        exe = lb.BUILD / ("webhook" if name == "this" else "floor") / "bootstrap"
        if exe.exists():
            meta.setdefault("bootstrap_sha256", {})[name] = lb.sha256_file(exe)

    factory = lb.EventFactory()
    results: dict[str, dict] = {n: {"cold": []} for n in names}
    with lb.Moto(logdir) as moto:
        stack = lb.create_stack(moto, names)
        peers = {n: lb.define_peer(n, stack) for n in names}
        for n in names:
            results[n]["how"] = peers[n].note
            results[n]["cmd"] = peers[n].cmd

        # 1. Cold starts, interleaved (round r: every peer once) so load from elsewhere on the
        #    machine falls on all peers alike.
        t0 = time.monotonic()
        for r in range(args.cold):
            for n in names:
                c = cold_start(peers[n], factory, logdir, f"cold{r:02d}")
                results[n]["cold"].append(c)
                lb.log(f"cold {r + 1:2d}/{args.cold} {n:7s} init {c['init_ms']} ms, first REPORT {c['first_report_ms']} ms, "
                       f"wall {c['first_wall_ms']:.1f} ms, status {c['status_code']}")
        meta["cold_phase_s"] = round(time.monotonic() - t0, 1)

        # 2. Warm: one fresh process per peer, all alive at once; after its first invocation
        #    and `warmup` more, `warm` invocations round-robin across peers, each a new event.
        ries = {n: lb.Rie(peers[n], logdir, "warm") for n in names}
        walls: dict[str, list[float]] = {n: [] for n in names}
        statuses: dict[str, dict[str, int]] = {n: {} for n in names}
        replay: dict[str, bytes] = {}
        # Cold starts delivered one event each to the same queues.
        accepted: dict[str, int] = {n: sum(c["status_code"] in ACCEPTED for c in results[n]["cold"]) for n in names}
        t0 = time.monotonic()
        try:
            for n in names:
                ries[n].start()
                for i in range(1 + args.warmup):
                    payload, _ = factory.make(i)
                    res = ries[n].invoke(payload)
                    accepted[n] += res.status_code in ACCEPTED
                    replay.setdefault(n, payload)
            events = [[factory.make(i)[0] for n in names] for i in range(args.warm)]
            for i, row in enumerate(events):
                for n, payload in zip(names, row):
                    res = ries[n].invoke(payload)
                    walls[n].append(res.wall_ms)
                    key = str(res.status_code)
                    statuses[n][key] = statuses[n].get(key, 0) + 1
                    accepted[n] += res.status_code in ACCEPTED
                if (i + 1) % 250 == 0:
                    lb.log(f"warm {i + 1}/{args.warm}")
            for n in names:
                st = ries[n].runtime_status()
                results[n]["rss_end"] = st
                results[n]["checks"] = sanity(ries[n], factory, replay[n])
                accepted[n] += results[n]["checks"]["base64_new"] in ACCEPTED
        finally:
            for r in ries.values():
                r.stop()
        meta["warm_phase_s"] = round(time.monotonic() - t0, 1)

        ddb, sqs = moto.clients()
        meta["moto_call_ms"] = backend_baseline(moto, ddb, sqs)
        for n in names:
            parsed = ries[n].parse_log(ries[n].invocations)
            skip = 1 + args.warmup
            measured = slice(skip, skip + args.warm)
            rep = parsed["report_ms"][measured]
            rt = [d for _, d in parsed["rtdone"]][measured]
            results[n]["warm"] = {
                "report_ms": rep,
                "invoke_phase_ms": rt,
                "wall_ms": walls[n],
                "statuses": statuses[n],
                "report_lines": len(parsed["report_ms"]),
                "invocations": ries[n].invocations,
                "log": str(ries[n].log_path.relative_to(lb.REPO)),
            }
            depth = lb.queue_depth(sqs, stack.queues[n])
            results[n]["queue"] = {"messages": depth, "accepted_responses": accepted[n],
                                   "ok": depth == accepted[n]}
            results[n]["artefact"] = lb.artefact(n)
    meta["host"]["loadavg_end"] = lb.loadavg()

    summary = summarise(results, names)
    doc = {"meta": meta, "summary": summary, "peers": results}
    raw_path.write_text(json.dumps(doc, indent=1) + "\n")
    md = markdown(summary, names, meta)
    md_path.write_text(md)
    print(md)
    lb.log(f"wrote {md_path} and the raw data {raw_path}")


def backend_baseline(moto: lb.Moto, ddb, sqs, n: int = 200) -> dict:
    """What one moto call costs from here (boto3, keep-alive) on a table and queue of its own:
    context for the warm numbers, which are mostly round trips to moto."""
    lb.create_table(moto, "bench-baseline")
    queue = lb.create_queue(moto, "bench-baseline")
    put, send = [], []
    for i in range(n):
        t0 = time.perf_counter()
        ddb.put_item(TableName="bench-baseline", Item={"pk": {"S": f"baseline-{i}"}},
                     ConditionExpression="attribute_not_exists(pk)")
        t1 = time.perf_counter()
        sqs.send_message(QueueUrl=queue, MessageBody='{"baseline":true}')
        t2 = time.perf_counter()
        put.append((t1 - t0) * 1000)
        send.append((t2 - t1) * 1000)
    return {"n": n, "put_item": lb.summary(put), "send_message": lb.summary(send)}


def med(xs):
    s = lb.summary([x for x in xs if x is not None])
    return s.get("p50")


def summarise(results: dict, names: list[str]) -> dict:
    out = {}
    for n in names:
        r = results[n]
        cold = r["cold"]
        w = r["warm"]
        out[n] = {
            "init_ms_p50": med([c["init_ms"] for c in cold]),
            "init_ms": lb.summary([c["init_ms"] for c in cold if c["init_ms"] is not None]),
            "first_report_ms_p50": med([c["first_report_ms"] for c in cold]),
            "first_invoke_phase_ms_p50": med([c["first_invoke_phase_ms"] for c in cold]),
            "first_wall_ms_p50": med([c["first_wall_ms"] for c in cold]),
            "cold_rss_MB_p50": (med([c["rss_after_first_kB"] for c in cold]) or 0) / 1024,
            "cold_status_codes": sorted({c["status_code"] for c in cold}, key=str),
            "warm_report_ms": lb.summary(w["report_ms"]),
            "warm_invoke_phase_ms": lb.summary(w["invoke_phase_ms"]),
            "warm_wall_ms": lb.summary(w["wall_ms"]),
            "peak_rss_MB": (r["rss_end"].get("VmHWM_kB") or 0) / 1024,
            "zip_MB": r["artefact"]["zipped_bytes"] / 1e6,
            "zip_bytes": r["artefact"]["zipped_bytes"],
            "zip_alternative": r["artefact"].get("alternative"),
            "unzipped_bytes": r["artefact"]["unzipped_bytes"],
            "checks_ok": r["checks"]["ok"],
            "queue_ok": r["queue"]["ok"],
            "warm_statuses": w["statuses"],
        }
    return out


def fmt(x, nd=1):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def markdown(s: dict, names: list[str], meta: dict) -> str:
    lines = []
    cfg = meta["settings"]
    lines.append(f"### Lambda side by side ({meta['started_utc']}, {cfg['cold']} cold starts and {cfg['warm']} warm "
                 f"invocations per implementation, aws-lambda-rie + moto on 127.0.0.1, load avg "
                 f"{meta['host']['loadavg_start'][0]:.1f} -> {meta['host']['loadavg_end'][0]:.1f} on {meta['host']['nproc']} cores)")
    lines.append("")
    lines.append("| | INIT ms | first invoke ms | warm p50 ms | warm p99 ms | peak RSS MB | zip MB |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for n in names:
        r = s[n]
        lines.append(
            f"| {lb.PEER_LABEL[n]} | {fmt(r['init_ms_p50'])} | {fmt(r['first_invoke_phase_ms_p50'])} | "
            f"{fmt(r['warm_report_ms']['p50'], 2)} | {fmt(r['warm_report_ms']['p99'], 2)} | {fmt(r['peak_rss_MB'])} | "
            f"{r['zip_MB']:.2f} |")
    lines.append("")
    lines.append("INIT: median of RIE's `INIT REPORT(durationMs)`. First invoke: median RTDONE duration of the first "
                 "invocation (the invoke phase alone). Warm: REPORT `Duration`. Peak RSS: VmHWM of the runtime process "
                 "after all warm invocations. Zip: deflate of the deployable artefact (see README for what is counted).")
    mc = meta.get("moto_call_ms")
    if mc:
        lines.append("")
        lines.append(f"For scale: one moto call from the harness (boto3, keep-alive) takes PutItem p50 "
                     f"{fmt(mc['put_item']['p50'], 2)} ms, SendMessage p50 {fmt(mc['send_message']['p50'], 2)} ms; "
                     "this function makes 3 calls per new delivery (PutItem, SendMessage, UpdateItem), python "
                     "(Powertools) 3 (PutItem, SendMessage, UpdateItem), node and floor 2 (PutItem, SendMessage).")
    lines.append("")
    lines.append("Client-side (wall clock, ms) and REPORT detail:")
    lines.append("")
    lines.append("| | first request wall p50 | first REPORT Duration p50 (incl. init) | warm wall p50 | warm wall p99 | warm REPORT max | cold RSS MB | zip bytes | unzipped bytes | checks | queue count |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for n in names:
        r = s[n]
        lines.append(
            f"| {lb.PEER_LABEL[n]} | {fmt(r['first_wall_ms_p50'])} | {fmt(r['first_report_ms_p50'])} | "
            f"{fmt(r['warm_wall_ms']['p50'], 2)} | {fmt(r['warm_wall_ms']['p99'], 2)} | {fmt(r['warm_report_ms']['max'])} | "
            f"{fmt(r['cold_rss_MB_p50'])} | {r['zip_bytes']:,} | {r['unzipped_bytes']:,} | "
            f"{'ok' if r['checks_ok'] else 'FAIL'} | {'ok' if r['queue_ok'] else 'MISMATCH'} |")
    alts = [(n, s[n]["zip_alternative"]) for n in names if s[n].get("zip_alternative")]
    if alts:
        lines.append("")
        lines.append("Zip, counted another way: " + "; ".join(
            f"{lb.PEER_LABEL[n]}: {a['zipped_bytes']:,} bytes ({a['what']})" for n, a in alts) + ".")
    if "this" in s:
        others = [n for n in ("node", "python", "floor") if n in s and n != "this"]
        lines.append("")
        lines.append("Ratios, this function / other (below 1: this function is lower, i.e. faster or smaller):")
        lines.append("")
        lines.append("| this function vs | INIT | first invoke | warm p50 | warm p99 | peak RSS | zip |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        t = s["this"]

        def ratio(a, b):
            return "n/a" if not a or not b else f"{a / b:.2f}x"

        for o in others:
            r = s[o]
            lines.append(
                f"| {lb.PEER_LABEL[o]} | {ratio(t['init_ms_p50'], r['init_ms_p50'])} | "
                f"{ratio(t['first_invoke_phase_ms_p50'], r['first_invoke_phase_ms_p50'])} | "
                f"{ratio(t['warm_report_ms']['p50'], r['warm_report_ms']['p50'])} | "
                f"{ratio(t['warm_report_ms']['p99'], r['warm_report_ms']['p99'])} | "
                f"{ratio(t['peak_rss_MB'], r['peak_rss_MB'])} | {ratio(t['zip_MB'], r['zip_MB'])} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
