#!/usr/bin/env python3
"""TCP relay from a container bridge's gateway address to a server on the host's 127.0.0.1.

`sam local invoke` runs the function in a container on the engine's default bridge network
(podman 4.3's Docker API always uses "bridge" for sam's containers; Docker does the same), so
the function cannot reach a server bound to the host's loopback. Rather than binding the local
emulator (moto) to a non-loopback address, this relay listens on the bridge gateway (for
podman typically 10.88.0.1, for Docker 172.17.0.1) and forwards each connection to
127.0.0.1:<target>. Only peers inside --allow (the bridge subnet) are served.

    loopback_relay.py --listen 10.88.0.1:0 --target 127.0.0.1:4566 --allow 10.88.0.0/16 \\
        --port-file /tmp/relay.port

The gateway address may not exist yet (podman creates the bridge interface with the first
container), so the socket is bound with IP_FREEBIND. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import socket
import sys

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=host_port, required=True, metavar="HOST:PORT")
    parser.add_argument("--target", type=host_port, required=True, metavar="127.0.0.1:PORT")
    parser.add_argument("--allow", action="append", default=[], metavar="CIDR",
                        help="serve only peers in these networks (repeatable; default: any)")
    parser.add_argument("--port-file", help="write the port actually listened on here")
    args = parser.parse_args()

    target_host, target_port = args.target
    if not ipaddress.ip_address(target_host).is_loopback:
        parser.error("--target must be a loopback address")
    allowed = [ipaddress.ip_network(c, strict=False) for c in args.allow]

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        peer = ipaddress.ip_address(client_w.get_extra_info("peername")[0])
        if allowed and not any(peer in net for net in allowed):
            print(f"relay: refused {peer}", file=sys.stderr, flush=True)
            client_w.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection(target_host, target_port)
        except OSError as err:
            print(f"relay: cannot reach {target_host}:{target_port}: {err}", file=sys.stderr, flush=True)
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))
        for w in (up_w, client_w):
            w.close()

    host, port = args.listen
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.bind((host, port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    server = await asyncio.start_server(handle, sock=sock)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{bound}\n")
        os.replace(tmp, args.port_file)
    print(f"relay: {host}:{bound} -> {target_host}:{target_port}", flush=True)

    # Runs until killed (SIGTERM's default action ends it at once, open connections included).
    async with server:
        await server.serve_forever()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
