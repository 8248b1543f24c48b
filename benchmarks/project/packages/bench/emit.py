#--web true
#--concurrency 25
"""Sends `n` messages to its stream socket, `rate` per second, each stamped with the
wall-clock time it was sent; with `rate` 0, as fast as it can, numbered instead of stamped
(so the emitter, not the relay, is never what limits the count per second)."""
import json
import socket
import time


def main(args):
    count, rate = int(args.get("n", 1)), float(args.get("rate", 0))
    pad = "x" * int(args.get("size", 8))
    with socket.create_connection((args["STREAM_HOST"], int(args["STREAM_PORT"]))) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rate <= 0:
            for i in range(count):
                s.sendall(b'{"output": "%s", "i": %d}' % (pad.encode(), i))
            return {"body": {"sent": count}}
        started, interval = time.monotonic(), 1 / rate
        for i in range(count):
            time.sleep(max(0.0, started + i * interval - time.monotonic()))
            s.sendall(json.dumps({"output": pad, "t": time.time()}).encode())
    return {"body": {"sent": count}}
