#--web true
#--concurrency 25
"""Sends `n` messages to its stream socket, `rate` per second (0: as fast as it can), each
stamped with the wall-clock time it was sent."""
import json
import socket
import time


def main(args):
    count, rate = int(args.get("n", 1)), float(args.get("rate", 0))
    interval = 1 / rate if rate > 0 else 0
    pad = "x" * int(args.get("size", 8))
    started = time.monotonic()
    with socket.create_connection((args["STREAM_HOST"], int(args["STREAM_PORT"]))) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(count):
            if interval:
                time.sleep(max(0.0, started + i * interval - time.monotonic()))
            s.sendall(json.dumps({"output": pad, "t": time.time()}).encode())
    return {"body": {"sent": count}}
