"""Before/after benchmark of two builds of this function (e.g. the commit before a dependency
migration and the one after), side by side in one run: cold starts (INIT, first invoke, peak
RSS), a short warm run for context, the binary and its zip. Driven by bench/lambda/before_after.sh
(which builds both binaries from their commits); see BENCHMARKS.md ("lambda_http 1.x migration").

    .venv/bin/python bench/lambda/harness/before_after.py \
        --before bench/.build/before-after/before/bootstrap --before-label 88d239a \
        --after  bench/.build/before-after/after/bootstrap  --after-label 77d6fef \
        [--cold 12] [--split N (default: --cold)] [--prime 1] [--warm 200] [--warmup 10] [--md FILE] [--raw FILE]

Method, the same as run_bench.py's (lambench.py does the work):
* one moto server (tools/moto_serial.py), one table and one queue per binary (tools/local_stack.py);
* each cold start: a fresh aws-lambda-rie process (a fresh execution environment; RIE execs the
  bootstrap on the first invocation), one invocation with a new signed event (a new body id, so
  a new delivery: claim, publish, complete), then the runtime process's VmHWM, then RIE is
  stopped. INIT = RIE's `INIT REPORT(durationMs)`, first invoke = the invoke phase of that first
  invocation (`INVOKE RTDONE ... duration`);
* the two binaries alternate cold start by cold start, and the order within a round flips every
  round (before/after, after/before, ...), so machine load and any drift fall on both alike;
* a CPU-time check that moves less with machine load (this harness's own addition): the same
  cold start without RIE, the bootstrap run directly against FakeRuntimeApi (a minimal Runtime
  API on 127.0.0.1), reading the process's CPU time (/proc/<pid>/task/*/schedstat) at its
  first GET /next (the end of INIT) and when its response arrives; plus the same CPU reading
  after the first invoke of each RIE cold start;
* warm, for context only: one process per binary, both alive, `warmup` unmeasured then `warm`
  measured invocations alternating between them; REPORT Duration (dominated by moto's
  per-call latency: 3 moto calls per new delivery).
Everything talks to 127.0.0.1 with fake credentials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambench as lb  # noqa: E402
from run_bench import backend_baseline  # noqa: E402

NAMES = ["before", "after"]
ACCEPTED = {202}


def peer(name: str, exe: Path, stack: lb.Stack) -> lb.Peer:
    """The function's environment (template.yaml's settings that matter here) with the secret
    in SALESLOFT_SECRETS instead of Secrets Manager. The log settings are those of the
    template's LoggingConfig (JSON, application level INFO) and the harness's RUST_LOG=info:
    both builds log at INFO (the old one reads RUST_LOG, the new one AWS_LAMBDA_LOG_LEVEL)."""
    aws = lb.fake_aws_env(stack.endpoint)
    env = {**aws, "TABLE_NAME": stack.tables[name], "QUEUE_URL": stack.queues[name],
           "SALESLOFT_SECRETS": lb.TOKEN, "RUST_LOG": "info",
           "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    return lb.Peer(name, [str(exe)], exe.parent, env, stack.queues[name], str(exe))


def cpu_ms(pid: int | None) -> float | None:
    """CPU time the process's live threads have run, in ms (the first field of each thread's
    /proc/<pid>/task/<tid>/schedstat, nanoseconds). Unlike wall-clock durations it leaves out
    time spent waiting for a core, so it moves less with machine load."""
    if pid is None:
        return None
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total / 1e6


def cold_start(p: lb.Peer, factory: lb.EventFactory, logdir: Path, tag: str) -> dict:
    rie = lb.Rie(p, logdir, tag)
    rie.start()
    try:
        payload, body = factory.make(0)
        res = rie.invoke(payload)
        st = rie.runtime_status()
        cpu = cpu_ms(st.get("pid"))
    finally:
        rie.stop()
    parsed = rie.parse_log(1, wait_s=3)
    rt = parsed["rtdone"][0] if parsed["rtdone"] else (None, None)
    return {
        "cpu_ms_through_first_invoke": cpu,
        "init_ms": parsed["init_ms"][0] if parsed["init_ms"] else None,
        "first_invoke_phase_ms": rt[1],
        "first_rtdone_status": rt[0],
        "first_report_ms": parsed["report_ms"][0] if parsed["report_ms"] else None,
        "first_wall_ms": res.wall_ms,
        "status_code": res.status_code,
        "rss_after_first_kB": st.get("VmHWM_kB"),
        "loadavg": lb.loadavg()[0],
        "body_id": json.loads(body)["id"],
        "log": str(rie.log_path.relative_to(lb.REPO)),
    }


class FakeRuntimeApi:
    """A minimal Lambda Runtime API on 127.0.0.1 for one bootstrap process and one event, to
    split the CPU time of a cold start between INIT and the first invoke: the runtime's first
    GET /next marks the end of INIT (as RIE's INIT REPORT does), so the process's CPU time is
    read there, before the event is handed out, and again when the response arrives."""

    NEXT = "/2018-06-01/runtime/invocation/next"

    def __init__(self, payload: bytes):
        self.payload = payload
        self.request_id = str(uuid.uuid4())
        self.pid: int | None = None
        self.t_spawn = 0.0
        self.init_wall_ms: float | None = None
        self.init_cpu_ms: float | None = None
        self.total_cpu_ms: float | None = None
        self.invoke_wall_ms: float | None = None
        self.response: bytes | None = None
        self.unexpected: list[str] = []
        self.done = threading.Event()
        self.stopping = threading.Event()
        self._t_event = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, code: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != api.NEXT:
                    api.unexpected.append("GET " + self.path)
                    return self._send(404)
                if api.init_cpu_ms is None:
                    api.init_cpu_ms = cpu_ms(api.pid)
                    api.init_wall_ms = (time.perf_counter() - api.t_spawn) * 1000
                    api._t_event = time.perf_counter()
                    return self._send(200, api.payload, {
                        "Lambda-Runtime-Aws-Request-Id": api.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + int(lb.TIMEOUT_S) * 1000),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    })
                # The second /next: the runtime is idle again. Hold it until the process is stopped.
                api.stopping.wait(10)
                self.close_connection = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/response") or self.path.endswith("/error"):
                    api.invoke_wall_ms = (time.perf_counter() - api._t_event) * 1000
                    api.total_cpu_ms = cpu_ms(api.pid)
                    api.response = body
                    self._send(202, b"{}")
                    if self.path.endswith("/error"):
                        api.unexpected.append("POST " + self.path)
                    api.done.set()
                    return
                api.unexpected.append("POST " + self.path)
                self._send(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]


def cpu_split(p: lb.Peer, factory: lb.EventFactory, logdir: Path, tag: str) -> dict:
    payload, _ = factory.make(0)
    api = FakeRuntimeApi(payload)
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
           "AWS_LAMBDA_FUNCTION_NAME": f"bench-{p.name}", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": lb.MEMORY_MB, "AWS_LAMBDA_FUNCTION_TIMEOUT": lb.TIMEOUT_S,
           "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{p.name}", "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
           "LAMBDA_TASK_ROOT": str(p.cwd), **p.env}
    log_path = logdir / f"split-{p.name}-{tag}.log"
    with open(log_path, "wb") as out:
        api.t_spawn = time.perf_counter()
        proc = subprocess.Popen(p.cmd, cwd=p.cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        api.pid = proc.pid
    try:
        if not api.done.wait(30):
            raise RuntimeError(f"{p.name}: no response from the bootstrap; see {log_path}")
        time.sleep(0.01)
    finally:
        lb.stop_group(proc)
        api.stopping.set()
        api.server.shutdown()
        api.server.server_close()
    status = None
    try:
        status = json.loads(api.response or b"{}").get("statusCode")
    except ValueError:
        pass
    return {"init_cpu_ms": api.init_cpu_ms, "init_wall_ms": api.init_wall_ms,
            "invoke_cpu_ms": (api.total_cpu_ms - api.init_cpu_ms) if api.total_cpu_ms is not None else None,
            "invoke_wall_ms": api.invoke_wall_ms, "status_code": status, "unexpected": api.unexpected,
            "log": str(log_path.relative_to(lb.REPO))}


def zip_sizes(exe: Path, outdir: Path) -> dict:
    """The bootstrap alone, as Lambda's provided.al2023 zip holds it: `zip -9 -j` when Info-ZIP
    is installed, and Python's zipfile (deflate level 9) always (they differ by a few bytes);
    plus level 6 (zip's default, what bench/lambda/run.sh's zip column uses)."""
    outdir.mkdir(parents=True, exist_ok=True)
    out: dict = {"binary_bytes": exe.stat().st_size, "sha256": lb.sha256_file(exe)}
    for level in (9, 6):
        z = outdir / f"bootstrap-py{level}.zip"
        z.unlink(missing_ok=True)
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
            zf.write(exe, "bootstrap")
        out[f"zipfile_level{level}_bytes"] = z.stat().st_size
    if shutil.which("zip"):
        z = outdir / "bootstrap-zip9.zip"
        z.unlink(missing_ok=True)
        subprocess.run(["zip", "-q", "-9", "-j", str(z), str(exe)], check=True)
        out["zip9_bytes"] = z.stat().st_size
    out["zip_bytes"] = out.get("zip9_bytes", out["zipfile_level9_bytes"])
    out["zip_tool"] = "zip -9 -j" if "zip9_bytes" in out else "python zipfile ZIP_DEFLATED level 9"
    return out


def table_states(ddb, table: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    kw: dict = {"TableName": table}
    while True:
        page = ddb.scan(**kw)
        for item in page["Items"]:
            s = item.get("status", {}).get("S", "?")
            counts[s] = counts.get(s, 0) + 1
        if "LastEvaluatedKey" not in page:
            return counts
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def spread(xs: list[float]) -> dict:
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "min": min(xs), "p25": lb.pct(xs, 25), "p50": lb.pct(xs, 50),
            "p75": lb.pct(xs, 75), "max": max(xs)}


def ratio_ci(pairs: list[tuple[float, float]], resamples: int = 2000, seed: int = 1) -> tuple[float, float]:
    """95% percentile-bootstrap interval of median(after) / median(before), resampling whole
    rounds (each a (before, after) pair run back to back), with a fixed seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        b = lb.pct([x for x, _ in sample], 50)
        a = lb.pct([y for _, y in sample], 50)
        out.append(a / b)
    return lb.pct(out, 2.5), lb.pct(out, 97.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, type=Path)
    ap.add_argument("--after", required=True, type=Path)
    ap.add_argument("--before-label", default="before")
    ap.add_argument("--after-label", default="after")
    ap.add_argument("--cold", type=int, default=12, help="cold starts per binary (>= 12)")
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--split", type=int, default=-1,
                    help="cold starts per binary under the fake Runtime API, for the CPU split (default: --cold)")
    ap.add_argument("--prime", type=int, default=1,
                    help="unmeasured cold starts per binary before the measured rounds (first exec, moto's first calls)")
    ap.add_argument("--build-info", type=Path, help="JSON written by before_after.sh (commits, build dirs)")
    ap.add_argument("--md", type=Path)
    ap.add_argument("--raw", type=Path)
    args = ap.parse_args()
    if args.cold < 12:
        sys.exit("--cold must be at least 12")
    if args.split < 0:
        args.split = args.cold

    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%S")
    logdir = lb.WORK / f"logs-before-after-{stamp}"
    logdir.mkdir(parents=True, exist_ok=True)
    run_id = started.strftime("%Y-%m-%dT%H%M")
    md_path = args.md or lb.RESULTS / f"before-after-{run_id}.md"
    raw_path = args.raw or lb.RAW_RESULTS / f"before-after-{run_id}.json"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.parent.mkdir(parents=True, exist_ok=True)

    exes = {"before": args.before.resolve(), "after": args.after.resolve()}
    labels = {"before": args.before_label, "after": args.after_label}
    for n, e in exes.items():
        if not os.access(e, os.X_OK):
            sys.exit(f"{n}: {e} is not an executable")

    meta = {
        "started_utc": started.isoformat(timespec="seconds"),
        "host": {"nproc": os.cpu_count(), "kernel": platform.release(), "loadavg_start": lb.loadavg(),
                 "mem_total_kB": int(Path("/proc/meminfo").read_text().split()[1])},
        "settings": {"cold": args.cold, "warm": args.warm, "warmup": args.warmup, "prime": args.prime, "split": args.split,
                     "memory_mb": lb.MEMORY_MB, "timeout_s": lb.TIMEOUT_S},
        "rie": str(lb.rie_path().relative_to(lb.REPO)),
        "labels": labels,
        "logs": str(logdir.relative_to(lb.REPO)),
    }
    if args.build_info and args.build_info.exists():
        meta["build"] = json.loads(args.build_info.read_text())
    sizes = {n: zip_sizes(exes[n], lb.WORK / "zips" / f"before-after-{n}") for n in NAMES}

    factory = lb.EventFactory(start_id=4_000_000_000 + int(time.time()) % 1_000_000 * 1000)
    results: dict[str, dict] = {n: {"cold": [], "sizes": sizes[n], "label": labels[n]} for n in NAMES}
    with lb.Moto(logdir) as moto:
        stack = lb.create_stack(moto, NAMES)
        peers = {n: peer(n, exes[n], stack) for n in NAMES}

        # 0. Priming, not measured: the first exec of each copied binary and moto's first calls
        #    on each table and queue would otherwise land in round 1 only.
        for r in range(args.prime):
            for n in NAMES:
                c = cold_start(peers[n], factory, logdir, f"prime{r:02d}")
                results[n].setdefault("prime", []).append(c)
                lb.log(f"prime {n:6s} INIT {c['init_ms']} ms, first invoke {c['first_invoke_phase_ms']} ms (not measured)")

        # 1. Cold starts: one fresh RIE per cold start; the order flips every round.
        t0 = time.monotonic()
        for r in range(args.cold):
            order = NAMES if r % 2 == 0 else NAMES[::-1]
            for n in order:
                c = cold_start(peers[n], factory, logdir, f"cold{r:02d}")
                c["round"], c["position"] = r, order.index(n)
                results[n]["cold"].append(c)
                lb.log(f"cold {r + 1:2d}/{args.cold} {n:6s} INIT {c['init_ms']} ms, first invoke "
                       f"{c['first_invoke_phase_ms']} ms, VmHWM {c['rss_after_first_kB']} kB, status {c['status_code']}")
        meta["cold_phase_s"] = round(time.monotonic() - t0, 1)
        meta["host"]["loadavg_after_cold"] = lb.loadavg()

        # 2. CPU split (a check on INIT and first invoke that moves less with load): the same
        #    cold start without RIE, under FakeRuntimeApi, alternating the same way.
        t0 = time.monotonic()
        for r in range(args.split):
            order = NAMES if r % 2 == 0 else NAMES[::-1]
            for n in order:
                c = cpu_split(peers[n], factory, logdir, f"split{r:02d}")
                results[n].setdefault("split", []).append(c)
                lb.log(f"split {r + 1:2d}/{args.split} {n:6s} INIT cpu {c['init_cpu_ms']:.2f} ms wall {c['init_wall_ms']:.2f} ms, "
                       f"invoke cpu {c['invoke_cpu_ms']:.2f} ms wall {c['invoke_wall_ms']:.2f} ms, status {c['status_code']}"
                       + (f", unexpected {c['unexpected']}" if c["unexpected"] else ""))
        meta["split_phase_s"] = round(time.monotonic() - t0, 1)

        # 3. Warm (context): both processes alive, alternating invocations.
        ries = {n: lb.Rie(peers[n], logdir, "warm") for n in NAMES}
        walls: dict[str, list[float]] = {n: [] for n in NAMES}
        statuses: dict[str, dict[str, int]] = {n: {} for n in NAMES}
        accepted = {n: sum(c["status_code"] in ACCEPTED
                           for c in results[n]["cold"] + results[n].get("prime", []) + results[n].get("split", []))
                    for n in NAMES}
        t0 = time.monotonic()
        try:
            for n in NAMES:
                ries[n].start()
                for i in range(1 + args.warmup):
                    res = ries[n].invoke(factory.make(i)[0])
                    accepted[n] += res.status_code in ACCEPTED
            events = [[factory.make(i)[0] for _ in NAMES] for i in range(args.warm)]
            for i, row in enumerate(events):
                order = NAMES if i % 2 == 0 else NAMES[::-1]
                for n in order:
                    res = ries[n].invoke(row[NAMES.index(n)])
                    walls[n].append(res.wall_ms)
                    statuses[n][str(res.status_code)] = statuses[n].get(str(res.status_code), 0) + 1
                    accepted[n] += res.status_code in ACCEPTED
            for n in NAMES:
                results[n]["warm_rss_end"] = ries[n].runtime_status()
        finally:
            for rie in ries.values():
                rie.stop()
        meta["warm_phase_s"] = round(time.monotonic() - t0, 1)

        ddb, sqs = moto.clients()
        for n in NAMES:
            parsed = ries[n].parse_log(ries[n].invocations)
            skip = 1 + args.warmup
            results[n]["warm"] = {
                "report_ms": parsed["report_ms"][skip:skip + args.warm],
                "invoke_phase_ms": [d for _, d in parsed["rtdone"]][skip:skip + args.warm],
                "wall_ms": walls[n],
                "statuses": statuses[n],
                "log": str(ries[n].log_path.relative_to(lb.REPO)),
            }
            depth = lb.queue_depth(sqs, stack.queues[n])
            states = table_states(ddb, stack.tables[n])
            results[n]["delivery_check"] = {
                "accepted_202": accepted[n], "queue_messages": depth, "dedup_records": states,
                "ok": depth == accepted[n] and states == {"COMPLETED": accepted[n]},
            }
        meta["moto_call_ms"] = backend_baseline(moto, ddb, sqs)
    meta["host"]["loadavg_end"] = lb.loadavg()

    summary = summarise(results)
    doc = {"meta": meta, "summary": summary, "results": results}
    raw_path.write_text(json.dumps(doc, indent=1) + "\n")
    md = markdown(summary, meta)
    md_path.write_text(md)
    print(md)
    lb.log(f"wrote {md_path} and the raw data {raw_path}")


def summarise(results: dict) -> dict:
    s: dict = {}
    for n in NAMES:
        r = results[n]
        cold = r["cold"]
        w = r["warm"]
        s[n] = {
            "init_ms": spread([c["init_ms"] for c in cold]),
            "first_invoke_ms": spread([c["first_invoke_phase_ms"] for c in cold]),
            "first_report_ms": spread([c["first_report_ms"] for c in cold]),
            "first_wall_ms": spread([c["first_wall_ms"] for c in cold]),
            "cold_rss_MiB": spread([c["rss_after_first_kB"] / 1024 for c in cold if c["rss_after_first_kB"]]),
            "cold_cpu_ms": spread([c.get("cpu_ms_through_first_invoke") for c in cold]),
            "cold_statuses": sorted({str(c["status_code"]) for c in cold}),
            "split_init_cpu_ms": spread([c["init_cpu_ms"] for c in r.get("split", [])]),
            "split_invoke_cpu_ms": spread([c["invoke_cpu_ms"] for c in r.get("split", [])]),
            "split_init_wall_ms": spread([c["init_wall_ms"] for c in r.get("split", [])]),
            "split_invoke_wall_ms": spread([c["invoke_wall_ms"] for c in r.get("split", [])]),
            "split_statuses": sorted({str(c["status_code"]) for c in r.get("split", [])}),
            "warm_report_ms": lb.summary(w["report_ms"]),
            "warm_wall_ms": lb.summary(w["wall_ms"]),
            "warm_statuses": w["statuses"],
            "warm_rss_end_MiB": (r["warm_rss_end"].get("VmHWM_kB") or 0) / 1024,
            "sizes": r["sizes"],
            "delivery_check": r["delivery_check"],
        }
    # Paired differences (after - before) within each round: the two cold starts of a round
    # ran back to back, so load that changes slowly cancels out.
    for key, field in (("init_ms", "init_ms"), ("first_invoke_ms", "first_invoke_phase_ms"),
                       ("cold_rss_MiB", "rss_after_first_kB"), ("cold_cpu_ms", "cpu_ms_through_first_invoke")):
        diffs = []
        for b, a in zip(results["before"]["cold"], results["after"]["cold"]):
            if b.get(field) is None or a.get(field) is None:
                continue
            d = a[field] - b[field]
            diffs.append(d / 1024 if field == "rss_after_first_kB" else d)
        pairs = [(b[field], a[field]) for b, a in zip(results["before"]["cold"], results["after"]["cold"])
                 if b.get(field) is not None and a.get(field) is not None]
        if not pairs:
            continue
        s.setdefault("paired_diff", {})[key] = {**spread(diffs), "after_higher": sum(d > 0 for d in diffs),
                                                "after_lower": sum(d < 0 for d in diffs),
                                                "median_ratio_ci95": ratio_ci(pairs)}
    for key, field in (("split_init_cpu_ms", "init_cpu_ms"), ("split_invoke_cpu_ms", "invoke_cpu_ms"),
                       ("split_init_wall_ms", "init_wall_ms"), ("split_invoke_wall_ms", "invoke_wall_ms")):
        pairs = [(b[field], a[field]) for b, a in zip(results["before"].get("split", []), results["after"].get("split", []))
                 if b[field] is not None and a[field] is not None]
        if not pairs:
            continue
        diffs = [a - b for b, a in pairs]
        s["paired_diff"][key] = {**spread(diffs), "after_higher": sum(d > 0 for d in diffs),
                                 "after_lower": sum(d < 0 for d in diffs), "median_ratio_ci95": ratio_ci(pairs)}
    return s


def f(x, nd=1):
    return "n/a" if x is None else f"{x:,.{nd}f}"


def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.2f}x"


def markdown(s: dict, meta: dict) -> str:
    b, a = s["before"], s["after"]
    lb_, la = meta["labels"]["before"], meta["labels"]["after"]
    h = meta["host"]
    cfg = meta["settings"]
    L = []
    L.append(f"### Before/after ({meta['started_utc']}; {cfg['cold']} cold starts per binary, alternating; "
             f"{cfg['prime']} unmeasured first; {cfg['warmup']} + {cfg['warm']} warm; {h['nproc']} cores, load average "
             f"{h['loadavg_start'][0]:.2f} at start, {h['loadavg_after_cold'][0]:.2f} after the cold starts, "
             f"{h['loadavg_end'][0]:.2f} at the end)")
    L.append("")

    def row(label, key, nd=1):
        x, y = b[key]["p50"], a[key]["p50"]
        L.append(f"| {label} | {f(x, nd)} | {f(y, nd)} | {ratio(y, x)} (95% CI {ci(key)}) |")

    def ci(key):
        lo, hi = s["paired_diff"][key]["median_ratio_ci95"]
        return f"{lo:.2f}-{hi:.2f}"

    L.append(f"| | before ({lb_}) | after ({la}) | after / before |")
    L.append("|---|---:|---:|---:|")
    row("INIT ms (median)", "init_ms")
    row("first invoke ms (median)", "first_invoke_ms")
    row("peak RSS MiB after the first invoke (median VmHWM)", "cold_rss_MiB")
    if "cold_cpu_ms" in s["paired_diff"]:
        row("CPU ms used by the process through its first invoke (median)", "cold_cpu_ms")
    if "split_init_cpu_ms" in s["paired_diff"]:
        row("INIT CPU ms (fake Runtime API, median)", "split_init_cpu_ms", 2)
        row("first invoke CPU ms (fake Runtime API, median)", "split_invoke_cpu_ms", 2)
    bs, as_ = b["sizes"], a["sizes"]
    L.append(f"| binary bytes (`bootstrap`) | {bs['binary_bytes']:,} | {as_['binary_bytes']:,} | "
             f"{ratio(as_['binary_bytes'], bs['binary_bytes'])} |")
    L.append(f"| zip bytes ({bs['zip_tool']}) | {bs['zip_bytes']:,} | {as_['zip_bytes']:,} | "
             f"{ratio(as_['zip_bytes'], bs['zip_bytes'])} |")
    L.append("")
    L.append("CI: 95% bootstrap interval of the ratio of medians (2,000 resamples of the rounds, seed 1).")
    L.append("")
    L.append("Spread over the cold starts (min / p25 / median / p75 / max):")
    L.append("")
    L.append("| | before | after | paired after - before, per round: median [min, max]; rounds after higher / lower |")
    L.append("|---|---|---|---|")
    for label, key, nd in (("INIT ms", "init_ms", 2), ("first invoke ms", "first_invoke_ms", 2),
                           ("peak RSS MiB", "cold_rss_MiB", 2), ("CPU ms through first invoke", "cold_cpu_ms", 2),
                           ("fake Runtime API: INIT CPU ms", "split_init_cpu_ms", 2),
                           ("fake Runtime API: first invoke CPU ms", "split_invoke_cpu_ms", 2),
                           ("fake Runtime API: INIT wall ms (spawn to first /next)", "split_init_wall_ms", 2),
                           ("fake Runtime API: first invoke wall ms", "split_invoke_wall_ms", 2)):
        if key not in s["paired_diff"]:
            continue
        def five(d):
            return " / ".join(f(d[k], nd) for k in ("min", "p25", "p50", "p75", "max"))
        pd = s["paired_diff"][key]
        L.append(f"| {label} | {five(b[key])} | {five(a[key])} | {f(pd['p50'], nd)} [{f(pd['min'], nd)}, "
                 f"{f(pd['max'], nd)}]; {pd['after_higher']} / {pd['after_lower']} |")
    L.append("")
    L.append("Context (not the comparison's point):")
    L.append("")
    L.append("| | before | after | after / before |")
    L.append("|---|---:|---:|---:|")
    for label, x, y, nd in (
        ("first REPORT Duration ms (incl. init), median", b["first_report_ms"]["p50"], a["first_report_ms"]["p50"], 1),
        ("first request, client wall clock ms, median", b["first_wall_ms"]["p50"], a["first_wall_ms"]["p50"], 1),
        (f"warm REPORT Duration p50 ms ({cfg['warm']} invocations; mostly moto)", b["warm_report_ms"]["p50"],
         a["warm_report_ms"]["p50"], 2),
        ("warm REPORT Duration p99 ms", b["warm_report_ms"]["p99"], a["warm_report_ms"]["p99"], 2),
        (f"peak RSS MiB after {1 + cfg['warmup'] + cfg['warm']} invocations (VmHWM)", b["warm_rss_end_MiB"],
         a["warm_rss_end_MiB"], 2),
        ("zip bytes, deflate level 6 (Python zipfile's default, as `sam package`/`sam deploy` zip; the run.sh column)",
         bs["zipfile_level6_bytes"], as_["zipfile_level6_bytes"], 0),
    ):
        L.append(f"| {label} | {f(x, nd)} | {f(y, nd)} | {ratio(y, x)} |")
    mc = meta.get("moto_call_ms")
    L.append("")
    if mc:
        L.append(f"One moto call from the harness: PutItem p50 {f(mc['put_item']['p50'], 2)} ms, SendMessage p50 "
                 f"{f(mc['send_message']['p50'], 2)} ms; a new delivery makes 3 calls (claim, send, complete).")
    checks = []
    for n in ("before", "after"):
        d = s[n]["delivery_check"]
        checks.append(f"{n}: {d['accepted_202']} answered 202, {d['queue_messages']} messages queued, "
                      f"dedup records {d['dedup_records']} ({'ok' if d['ok'] else 'MISMATCH'})")
    L.append("Deliveries: " + "; ".join(checks) + ".")
    L.append(f"Cold-start statuses: before {b['cold_statuses']}, after {a['cold_statuses']}; fake Runtime API: "
             f"before {b['split_statuses']}, after {a['split_statuses']}; warm statuses: "
             f"before {b['warm_statuses']}, after {a['warm_statuses']}.")
    L.append(f"bootstrap SHA-256: before {bs['sha256'][:16]}…, after {as_['sha256'][:16]}…")
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
