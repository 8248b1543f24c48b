#--web true
"""Streams 20 short messages, as a chat reply of a few words does, at the default
concurrency (one activation per worker)."""
import socket


def main(args):
    with socket.create_connection((args["STREAM_HOST"], int(args["STREAM_PORT"]))) as s:
        for i in range(20):
            s.sendall(b'{"output": "word%d "}' % i)
    return {"body": {"sent": 20}}
