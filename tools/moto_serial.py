"""moto's server, with request handling serialised.

moto's server handles requests on threads without a lock around a service's state, so two
concurrent conditional PutItems on the same key can both pass their condition: a race real
DynamoDB does not have (its conditional writes are atomic). The integration tests exist to
prove this function's exactly-once claim, which rests on that atomicity, so the local stand-in
must have it too. This launcher runs the very same moto application and werkzeug server as
`moto_server`, keeping connection handling threaded (keep-alive clients do not block each
other) while one request at a time reaches moto's backends.

Usage: python tools/moto_serial.py [-H 127.0.0.1] [-p 5000]
"""

import argparse
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # Materialise the response inside the lock: the work happens while iterating.
            return list(app(environ, start_response))

    run_simple(
        args.host,
        args.port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
