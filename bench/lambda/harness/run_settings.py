"""The side-by-side benchmark (run_bench.py, unchanged) in one of four backend settings:

    moto-plain   moto (tools/moto_serial.py) over plain HTTP: what run.sh measures
    moto-tls     the same moto behind a TLS front (null_aws.py --proxy-to), local CA
    null-plain   null-AWS (null_aws.py): canned, sub-millisecond answers, plain HTTP
    null-tls     null-AWS in its own TLS mode, local CA

    .venv/bin/python bench/lambda/harness/run_settings.py --setting null-tls [run_bench.py options]

TLS settings tell every row to trust the local CA the ordinary way: SSL_CERT_FILE (the Rust
SDK's rustls-native-certs reads it instead of the system store: the file is the system roots
plus the local CA, so the Rust rows still parse a full root store), NODE_EXTRA_CA_CERTS (SDK v3
on Node: added to Node's built-in roots) and AWS_CA_BUNDLE (boto3: the same bundle file).
Endpoints are https://127.0.0.1:PORT (the server certificate has IP:127.0.0.1 and localhost).
Queue URLs given to the rows use that same endpoint, so no SDK can reach the backend another
way (SDK v3's SQS client may send to the queue URL's host).

Extra row `thisjit` (e.g. --peers this,thisjit): this function built with
AWS_LC_SYS_NO_JITTER_ENTROPY=0 (AWS-LC's CPU-jitter entropy on), binary
bench/.build/webhook-jitter/bootstrap; see run_null.sh.

Extra row `thispre` (e.g. --peers this,thispre): the same binary as `this`
(bench/.build/webhook/bootstrap) with PREWARM_CONNECTIONS=true, so the connection-prewarming
lever is measured interleaved, cold start by cold start, against `this`. Give `this` the
explicit "off" with BENCH_THIS_ENV='{"PREWARM_CONNECTIONS":"false"}'; run the pair in both
orders (this,thispre and thispre,this) so neither always starts second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambench as lb  # noqa: E402
import run_bench  # noqa: E402

HERE = Path(__file__).resolve().parent
SETTINGS = {
    "moto-plain": "aws-lambda-rie + moto over plain HTTP on 127.0.0.1",
    "moto-tls": "aws-lambda-rie + moto behind a local TLS front (local CA) on 127.0.0.1",
    "null-plain": "aws-lambda-rie + null-AWS (canned answers) over plain HTTP on 127.0.0.1",
    "null-tls": "aws-lambda-rie + null-AWS (canned answers) over TLS (local CA) on 127.0.0.1",
}
TLS_DIR = lb.BUILD / "tls"
Moto = lb.Moto  # the original, before the patch below
JIT_BIN = lb.BUILD / "webhook-jitter" / "bootstrap"


def take_setting(argv: list[str]) -> tuple[str, list[str]]:
    if "--setting" not in argv:
        sys.exit("--setting " + "|".join(SETTINGS))
    i = argv.index("--setting")
    s = argv[i + 1]
    if s not in SETTINGS:
        sys.exit(f"unknown setting {s}")
    return s, argv[:i] + argv[i + 2:]


SETTING, REST = take_setting(sys.argv[1:])
TLS = SETTING.endswith("-tls")
NULL = SETTING.startswith("null-")


def tls_env() -> dict[str, str]:
    if not TLS:
        return {}
    # BENCH_TLS_BUNDLE: another trust file (e.g. the local CA alone, to see what parsing the
    # full root store costs).
    bundle = os.environ.get("BENCH_TLS_BUNDLE") or str(TLS_DIR / "bundle.pem")
    return {"SSL_CERT_FILE": bundle, "NODE_EXTRA_CA_CERTS": str(TLS_DIR / "ca.pem"), "AWS_CA_BUNDLE": bundle,
            "REQUESTS_CA_BUNDLE": bundle}


class Backend:
    """Stands in for lb.Moto in run_bench: `.endpoint` is what the rows are given."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.moto = Moto(logdir) if not NULL else None
        self.procs: list[subprocess.Popen] = []
        self.endpoint = ""
        self.port = 0

    def _null(self, args: list[str], log: str) -> int:
        port = lb.free_port()
        out = open(self.logdir / log, "wb")
        self.procs.append(subprocess.Popen([sys.executable, str(HERE / "null_aws.py"), "--port", str(port), *args],
                                           stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True))
        lb.wait_port(port, 10)
        return port

    def __enter__(self):
        tls = ["--tls", str(TLS_DIR / "server.pem"), str(TLS_DIR / "server.key")] if TLS else []
        if TLS:
            subprocess.run([str(lb.BENCH / "lambda/tls/make_certs.sh"), str(TLS_DIR)], check=True, stdout=subprocess.DEVNULL)
        if self.moto:
            self.moto.__enter__()
            self.port = self.moto.port
            self.endpoint = self.moto.endpoint
            if TLS:
                p = self._null([*tls, "--proxy-to", f"127.0.0.1:{self.moto.port}"], "tls-front.log")
                self.endpoint = f"https://127.0.0.1:{p}"
        else:
            self.port = self._null([*tls, "--log", str(self.logdir / "null-aws-requests.log")], "null-aws.log")
            self.endpoint = f"{'https' if TLS else 'http'}://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            lb.stop_group(p)
        if self.moto:
            self.moto.__exit__(*exc)

    def clients(self):
        import boto3

        if self.moto:
            return self.moto.clients()
        kw = dict(endpoint_url=self.endpoint, region_name=lb.REGION, aws_access_key_id="test",
                  aws_secret_access_key="test", verify=str(TLS_DIR / "bundle.pem") if TLS else None)
        return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw)

    def aws(self):
        assert self.moto
        return self.moto.aws()


_orig_create_stack = lb.create_stack
_orig_define_peer = lb.define_peer
_orig_artefact = lb.artefact
_orig_create_table = lb.create_table
_orig_create_queue = lb.create_queue


def rebase(url: str, endpoint: str) -> str:
    u, e = urllib.parse.urlsplit(url), urllib.parse.urlsplit(endpoint)
    return urllib.parse.urlunsplit((e.scheme, e.netloc, u.path, u.query, u.fragment))


def create_stack(backend: Backend, names: list[str]) -> lb.Stack:
    if backend.moto:
        stack = _orig_create_stack(backend, names)
    else:
        stack = lb.Stack(backend.endpoint)
        for n in names:
            table, _, _ = lb.PEER_TABLE.get(n, (f"bench-{n}-dedup", None, None))
            stack.tables[n] = table
            stack.queues[n] = f"{backend.endpoint}/123456789012/bench-{n}"
    stack.endpoint = backend.endpoint
    stack.queues = {n: rebase(u, backend.endpoint) for n, u in stack.queues.items()}
    return stack


def define_peer(name: str, stack: lb.Stack) -> lb.Peer:
    base = "this" if name in ("thisjit", "thispre") else name
    p = _orig_define_peer(base, stack)
    p.env.update(lb.fake_aws_env(stack.endpoint))
    p.env.update(tls_env())
    if name == "thisjit":
        p.name = name
        # Its own table and queue (the queue-count check is per row).
        p.env["TABLE_NAME"], p.env["QUEUE_URL"] = stack.tables[name], stack.queues[name]
        p.queue_url = stack.queues[name]
        p.cmd = [str(JIT_BIN)]
        p.cwd = JIT_BIN.parent
        p.note = "this function built with AWS_LC_SYS_NO_JITTER_ENTROPY=0 (separate target dir), bench/.build/webhook-jitter"
    if name == "thispre":
        p.name = name
        p.env["TABLE_NAME"], p.env["QUEUE_URL"] = stack.tables[name], stack.queues[name]
        p.queue_url = stack.queues[name]
        p.env["PREWARM_CONNECTIONS"] = "true"
        p.note = "the same bench/.build/webhook/bootstrap as `this`, with PREWARM_CONNECTIONS=true"
    return p


def artefact(name: str) -> dict:
    if name == "thisjit":
        info = lb.zip_size([(JIT_BIN, "bootstrap")], lb.WORK / "zips" / "thisjit.zip")
        info["what"] = "bootstrap (jitter entropy on)"
        return info
    if name == "thispre":
        return _orig_artefact("this")
    return _orig_artefact(name)


def create_table(backend, name, *a, **kw):
    return _orig_create_table(backend, name, *a, **kw) if backend.moto else name


def create_queue(backend, name):
    if backend.moto:
        return rebase(_orig_create_queue(backend, name), backend.endpoint)
    return f"{backend.endpoint}/123456789012/{name}"


lb.Moto = Backend  # type: ignore[assignment,misc]
lb.create_stack = create_stack
lb.define_peer = define_peer
lb.artefact = artefact
lb.create_table = create_table  # type: ignore[assignment]
lb.create_queue = create_queue  # type: ignore[assignment]
lb.PEER_ORDER = [*lb.PEER_ORDER, "thisjit", "thispre"]
lb.PEER_LABEL["thisjit"] = "this function, jitter entropy on"
lb.PEER_LABEL["thispre"] = "this function, PREWARM_CONNECTIONS=true"

_orig_markdown = run_bench.markdown


def markdown(s, names, meta):
    md = _orig_markdown(s, names, meta)
    md = md.replace("aws-lambda-rie + moto on 127.0.0.1", f"setting **{SETTING}**: {SETTINGS[SETTING]}")
    md = md.replace("For scale: one moto call", f"For scale: one {'null-AWS' if NULL else 'moto'} call")
    if "thisjit" in s and "this" in s:
        t, j = s["this"], s["thisjit"]
        md += ("\nJitter-entropy lever (same run): INIT "
               f"{run_bench.fmt(j['init_ms_p50'])} ms with jitter entropy vs {run_bench.fmt(t['init_ms_p50'])} ms without; "
               f"first invoke {run_bench.fmt(j['first_invoke_phase_ms_p50'])} vs {run_bench.fmt(t['first_invoke_phase_ms_p50'])} ms.\n")
    if "thispre" in s and "this" in s:
        t, w = s["this"], s["thispre"]
        md += ("\nPrewarming lever (same run, same binary): INIT "
               f"{run_bench.fmt(w['init_ms_p50'])} ms with PREWARM_CONNECTIONS=true vs {run_bench.fmt(t['init_ms_p50'])} ms without; "
               f"first invoke {run_bench.fmt(w['first_invoke_phase_ms_p50'])} vs {run_bench.fmt(t['first_invoke_phase_ms_p50'])} ms.\n")
    return md


run_bench.markdown = markdown

if __name__ == "__main__":
    sys.argv = [sys.argv[0], *REST]
    run_bench.main()
