"""Shared pieces of the Lambda benchmark harness (bench/lambda): moto, the local stack, the
Lambda Runtime Interface Emulator (RIE), signed Salesloft events, RIE log parsing, statistics.

Tables and queues are made by tools/local_stack.py (the one definition of the local
resources) and events are signed by tools/signing.py. Standard library plus boto3 (run it
with the project venv's python, `.venv/bin/python`). Everything talks to 127.0.0.1 only, with
fake credentials. Never part of the test suite.
"""

from __future__ import annotations

import base64
import copy
import glob
import hashlib
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO / "bench"
BUILD = BENCH / ".build"
WORK = BENCH / ".work"
# Markdown tables and plots (committed) go to RESULTS; the raw JSON of a run (thousands of
# lines: every sample) to RAW_RESULTS, which is gitignored.
RESULTS = BENCH / "results"
RAW_RESULTS = RESULTS / "raw"

sys.path.insert(0, str(REPO / "tools"))
import local_stack  # noqa: E402  tools/local_stack.py
import signing  # noqa: E402  tools/signing.py

TOKEN = "sl_test_callback_token_0123456789"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REGION = "us-east-1"
# The function's template.yaml settings (MemorySize 256, Timeout 6), applied to every peer.
MEMORY_MB = "256"
TIMEOUT_S = "6"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rie_path() -> Path:
    env = os.environ.get("AWS_LAMBDA_RIE")
    if env:
        return Path(env)
    hits = sorted(glob.glob(str(REPO / ".venv/lib/python3.*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64")))
    if not hits:
        sys.exit("aws-lambda-rie not found in the project venv: run `make setup` at the repo root")
    return Path(hits[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")
            time.sleep(0.005)


def fake_aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


def stop_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stops a process this harness started in its own session (and what it started)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


# --- moto and the stack --------------------------------------------------------------------


class Moto:
    """`tools/moto_serial.py` (moto with requests serialised, like the integration tests)."""

    def __init__(self, logdir: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / "moto.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Moto":
        out = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(REPO / ".venv/bin/python"), str(REPO / "tools/moto_serial.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"moto did not start; see {self.log_path}")
                time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            stop_group(self.proc)

    def clients(self):
        """boto3 DynamoDB and SQS clients (for reading queue depths and timing moto calls)."""
        import boto3  # the project venv has it

        kw = dict(endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
        return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw)

    def aws(self) -> local_stack.LocalAws:
        """A tools/local_stack.py client, for creating tables and queues."""
        return local_stack.LocalAws(self.endpoint, REGION)


def create_table(moto: Moto, name: str, key: str = local_stack.KEY, ttl: str = local_stack.TTL) -> str:
    """A table shaped by tools/local_stack.py: string key `key`, on-demand, TTL on `ttl`."""
    with moto.aws() as aws:
        return local_stack.ensure_table(aws, name, key=key, ttl=ttl)


def create_queue(moto: Moto, name: str) -> str:
    """A plain queue (no DLQ), made by tools/local_stack.py; returns its URL."""
    with moto.aws() as aws:
        return local_stack.ensure_queue(aws, name)


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


# --- signed events ---------------------------------------------------------------------------


def sign(body: bytes, secret: str = TOKEN) -> str:
    """Salesloft's signature (tools/signing.py), keyed with the test token by default."""
    return signing.salesloft(body, secret)


class EventFactory:
    """Function URL events from `events/salesloft/*.json`, each with a fresh body `id` (so a
    new delivery, never a duplicate), re-signed with the test token."""

    def __init__(self, start_id: int = 3_000_000_000):
        files = sorted(glob.glob(str(REPO / "events/salesloft/*.json")))
        if not files:
            sys.exit("no events in events/salesloft/")
        self.templates = [json.loads(Path(f).read_text()) for f in files]
        self.next_id = start_id
        # Sized bodies (the scaling sweep) pad the smallest template.
        self.smallest = min(self.templates, key=lambda t: len(t["body"]))

    def body(self, i: int, size: int | None = None) -> tuple[dict, bytes]:
        t = self.smallest if size is not None else self.templates[i % len(self.templates)]
        raw = base64.b64decode(t["body"]) if t.get("isBase64Encoded") else t["body"].encode()
        obj = json.loads(raw)
        obj["id"] = self.next_id
        self.next_id += 1
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        if size is not None:
            body = pad_body(obj, size)
        return t, body

    def make(self, i: int, *, size: int | None = None, b64: bool = False, bad_signature: bool = False,
             body: bytes | None = None, template: dict | None = None) -> tuple[bytes, bytes]:
        """Returns (the invocation payload, the raw body)."""
        if body is None:
            template, body = self.body(i, size)
        assert template is not None
        ev = copy.deepcopy(template)
        sig = sign(body)
        if bad_signature:
            sig = sign(body, secret="not-the-token")
        ev["headers"]["x-salesloft-signature"] = sig
        ev["headers"]["content-length"] = str(len(body))
        ev["requestContext"]["requestId"] = str(uuid.uuid4())
        ev["requestContext"]["timeEpoch"] = int(time.time() * 1000)
        ev["body"] = base64.b64encode(body).decode() if b64 else body.decode()
        ev["isBase64Encoded"] = b64
        return json.dumps(ev, ensure_ascii=False).encode(), body


def pad_body(obj: dict, size: int) -> bytes:
    """`obj` as compact JSON of exactly `size` bytes (ASCII padding in a `notes` field)."""
    obj = dict(obj)
    obj["notes"] = ""
    base = len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())
    if size < base:
        raise ValueError(f"body of {size} bytes is smaller than the template ({base})")
    obj["notes"] = "x" * (size - base)
    out = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(out) == size, (len(out), size)
    return out


# --- peers and the emulator ------------------------------------------------------------------


@dataclass
class Peer:
    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str]
    queue_url: str = ""
    note: str = ""


@dataclass
class InvokeResult:
    wall_ms: float
    http_status: int
    status_code: int | None
    body: str


class Rie:
    """One aws-lambda-rie process running one peer's runtime (started lazily by the RIE on the
    first invocation, as Lambda does on a cold start)."""

    INIT_RE = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
    RTDONE_RE = re.compile(r"INVOKE RTDONE\(status: ([^,]+),.*duration: ([\d.]+)ms\)")
    REPORT_RE = re.compile(r"^REPORT RequestId: (\S+)\s+(?:Init Duration: ([\d.]+) ms\s+)?Duration: ([\d.]+) ms")

    def __init__(self, peer: Peer, logdir: Path, tag: str, extra_env: dict[str, str] | None = None):
        self.peer = peer
        self.port = free_port()
        self.api_port = free_port()
        self.log_path = logdir / f"rie-{peer.name}-{tag}.log"
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.invocations = 0

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(WORK / "home"),
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{self.peer.name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_MB,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": TIMEOUT_S,
            "LAMBDA_TASK_ROOT": str(self.peer.cwd),
            **self.peer.env,
            **self.extra_env,
        }
        (WORK / "home").mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(rie_path()), "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
             "--runtime-api-address", f"127.0.0.1:{self.api_port}", *self.peer.cmd],
            cwd=self.peer.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        wait_port(self.port, 30)

    def invoke(self, payload: bytes, timeout: float = 60) -> InvokeResult:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                t0 = time.perf_counter()
                self.conn.request("POST", INVOKE_PATH, body=payload, headers={"content-type": "application/json"})
                resp = self.conn.getresponse()
                data = resp.read()
                wall = (time.perf_counter() - t0) * 1000
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection closed by the server between requests: reconnect.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        self.invocations += 1
        text = data.decode("utf-8", "replace")
        try:
            status_code = json.loads(text).get("statusCode")
        except (ValueError, AttributeError):
            status_code = None
        return InvokeResult(wall, resp.status, status_code, text)

    def runtime_pid(self) -> int | None:
        """The runtime process: the RIE's child."""
        assert self.proc
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            # Field 4 (ppid) follows the parenthesised command name.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                return int(d)
        return None

    def runtime_status(self) -> dict[str, int]:
        pid = self.runtime_pid()
        out: dict[str, int] = {}
        if pid is None:
            return out
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, val = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key + "_kB"] = int(val.split()[0])
        except OSError:
            pass
        out["pid"] = pid
        try:
            out["cmd"] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()  # type: ignore[assignment]
        except OSError:
            pass
        return out

    def stop(self) -> None:
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc:
            stop_group(self.proc)

    def parse_log(self, expect_reports: int, wait_s: float = 10) -> dict:
        """INIT REPORT durations, per-invocation REPORT and RTDONE durations, in order."""
        deadline = time.monotonic() + wait_s
        while True:
            text = self.log_path.read_text(errors="replace")
            reports = [m for m in (self.REPORT_RE.match(l) for l in text.splitlines()) if m]
            if len(reports) >= expect_reports or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return {
            "init_ms": [float(x) for x in self.INIT_RE.findall(text)],
            "report_ms": [float(m.group(3)) for m in reports],
            "report_init_field_ms": [float(m.group(2)) if m.group(2) else None for m in reports],
            "rtdone": [(s, float(d)) for s, d in self.RTDONE_RE.findall(text)],
        }


# --- statistics and artefacts ------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    """Percentile by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0}
    return {
        "n": len(vals),
        "min": min(vals),
        "p50": pct(vals, 50),
        "p90": pct(vals, 90),
        "p99": pct(vals, 99),
        "max": max(vals),
        "mean": statistics.fmean(vals),
    }


def zip_size(entries: list[tuple[Path, str]], out: Path) -> dict:
    """Zips `entries` ((path on disk, name in the zip); directories recursively, deflate level
    6, the default of `zip` and of Python) and returns the sizes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = 0
    files = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for src, arc in entries:
            paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink())
            for p in paths:
                rel = p.relative_to(src).as_posix()
                name = arc if p == src else (rel if arc in ("", ".") else f"{arc}/{rel}")
                z.write(p, name)
                raw += p.stat().st_size
                files += 1
    return {"zip": str(out.relative_to(REPO)), "files": files, "unzipped_bytes": raw, "zipped_bytes": out.stat().st_size}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cmd_out(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


# --- the four implementations ------------------------------------------------------------------

PEER_ORDER = ["floor", "this", "node", "python"]
PEER_LABEL = {"floor": "floor", "this": "this function", "node": "node", "python": "python"}


@dataclass
class Stack:
    endpoint: str
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)


# Each peer's table: (name, key, TTL attribute). The Rust rows and node use the function's
# shape (tools/local_stack.py's defaults: `pk`, `expires_at`); python's is Powertools' default
# idempotency schema.
PEER_TABLE = {
    "python": ("bench-python-idempotency", "id", "expiration"),
}


def create_stack(moto: Moto, names: list[str]) -> Stack:
    """One table and one plain queue per peer, made by tools/local_stack.py."""
    stack = Stack(moto.endpoint)
    with moto.aws() as aws:
        for name in names:
            table, key, ttl = PEER_TABLE.get(name, (f"bench-{name}-dedup", local_stack.KEY, local_stack.TTL))
            stack.tables[name] = local_stack.ensure_table(aws, table, key=key, ttl=ttl)
            stack.queues[name] = local_stack.ensure_queue(aws, f"bench-{name}")
    return stack


def define_peer(name: str, stack: Stack) -> Peer:
    aws = fake_aws_env(stack.endpoint)
    table, queue = stack.tables[name], stack.queues[name]
    if name == "this":
        return Peer(
            name, [str(BUILD / "webhook/bootstrap")], BUILD / "webhook",
            {**aws, "TABLE_NAME": table, "QUEUE_URL": queue, "SALESLOFT_SECRETS": TOKEN, "RUST_LOG": "info",
             # Settings to compare levers with one binary, e.g. BENCH_THIS_ENV='{"PREWARM_CONNECTIONS":"false"}'.
             **json.loads(os.environ.get("BENCH_THIS_ENV", "{}"))},
            queue,
            "target/lambda/webhook/bootstrap (cargo lambda build --release --bin webhook), copied to bench/.build/webhook",
        )
    if name == "floor":
        return Peer(
            name, [str(BUILD / "floor/bootstrap")], BUILD / "floor",
            {**aws, "TABLE_NAME": table, "QUEUE_URL": queue, "SALESLOFT_SECRET": TOKEN},
            queue,
            "bench/lambda/floor (cargo lambda build --release), copied to bench/.build/floor",
        )
    if name == "node":
        return Peer(
            name, [str(BENCH / "lambda/node/runtime/node_modules/.bin/aws-lambda-ric"), "index.handler"],
            BENCH / "lambda/node/function",
            {**aws, "TABLE_NAME": table, "QUEUE_URL": queue, "SALESLOFT_SECRET": TOKEN},
            queue,
            "bench/lambda/node/function (SDK v3) run by aws-lambda-ric 3.3.0 on the machine's node",
        )
    if name == "python":
        return Peer(
            name, [str(BENCH / ".venv/bin/python"), "-m", "awslambdaric", "handler.lambda_handler"],
            BUILD / "python-task",
            {**aws, "IDEMPOTENCY_TABLE": table, "QUEUE_URL": queue, "SALESLOFT_SECRET": TOKEN,
             "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"},
            queue,
            "bench/.build/python-task (handler.py + pip --target aws-lambda-powertools) run by awslambdaric "
            "in bench/.venv (which stands in for the managed runtime's boto3)",
        )
    raise ValueError(name)


def artefact(name: str) -> dict:
    """Zips what would be deployed for `name` (see README: what is counted)."""
    out = WORK / "zips" / f"{name}.zip"
    if name == "this":
        info = zip_size([(BUILD / "webhook/bootstrap", "bootstrap")], out)
        info["what"] = "bootstrap (provided.al2023)"
    elif name == "floor":
        info = zip_size([(BUILD / "floor/bootstrap", "bootstrap")], out)
        info["what"] = "bootstrap (provided.al2023)"
    elif name == "node":
        fn = BENCH / "lambda/node/function"
        info = zip_size([(fn / "index.mjs", "index.mjs"), (fn / "package.json", "package.json"),
                         (fn / "node_modules", "node_modules")], out)
        info["what"] = ("index.mjs + package.json + node_modules (npm ci --omit=dev: the two SDK v3 clients and "
                        "their dependencies; aws-lambda-ric not counted: the managed nodejs20.x runtime provides it)")
        alt = zip_size([(fn / "index.mjs", "index.mjs"), (fn / "package.json", "package.json")],
                       WORK / "zips" / "node-runtime-sdk.zip")
        alt["what"] = "index.mjs + package.json only, relying on the SDK v3 the nodejs20.x runtime ships (version not pinned)"
        info["alternative"] = alt
    elif name == "python":
        task = BUILD / "python-task"
        info = zip_size([(task, ".")], out)
        info["what"] = ("handler.py + `pip install --target` of requirements.txt (aws-lambda-powertools and its "
                        "dependencies jmespath, typing_extensions, with pip's .pyc); boto3/botocore/s3transfer/"
                        "urllib3/dateutil/six and awslambdaric not counted: the managed python3.11 runtime provides them")
        site = sorted(BENCH.glob(".venv/lib/python3.*/site-packages"))[-1]
        extra = [(p, p.name) for p in sorted(site.iterdir())
                 if p.name.split("-")[0].split(".")[0] in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six",
                                                            "python_dateutil")
                 and (p.is_dir() or p.suffix == ".py")]
        alt = zip_size([(task, ".")] + extra, WORK / "zips" / "python-with-boto3.zip")
        alt["what"] = "the same plus boto3, botocore, s3transfer, urllib3, python-dateutil, six bundled (pinned SDK)"
        info["alternative"] = alt
    else:
        raise ValueError(name)
    return info
