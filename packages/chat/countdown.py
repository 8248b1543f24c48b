#--web true
#--kind python:default
#--annotation index '20:Chat:Countdown'
#--annotation description "The lesson's streaming demo: counts down from the number you type."
"""The lesson's countdown, streamed to the chat through the socket the streamer opens.

`stream(args, lines)` is the lesson's helper, corrected: a stop (the reader went away) is one
line instead of the lesson's `traceback.print_exc(e)` TypeError, and without STREAM_HOST it
streams nothing and just returns the whole text.
"""

import json
import socket
import time

MAX_COUNT = 100
MAX_DELAY = 5.0


def count_to_zero(n, delay=1.0):
    while n > 0:
        yield f"{n}...\n"
        n -= 1
        time.sleep(delay)
    yield "Go!\n"


def stream(args, lines):
    host, port = args.get("STREAM_HOST"), args.get("STREAM_PORT")
    out = ""
    if not host or not port:
        return "".join(str(line) for line in lines)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect((host, int(port)))
        try:
            for line in lines:
                msg = {"output": line}
                s.sendall(json.dumps(msg).encode("utf-8"))
                out += str(line)
        except OSError as e:
            # the reader went away (a stop): end here, keeping what was sent
            print(f"stopped: the reader went away ({type(e).__name__})")
    return out


def _number(value, default, highest):
    try:
        return min(max(float(value), 0), highest)
    except (TypeError, ValueError):
        return default


def main(args):
    inp = args.get("input", "")
    if str(inp).strip() == "":  # the chat's opening: say what it does
        return {"body": {"output": f"Type a number up to {MAX_COUNT}: I count down from it."}}
    n = int(_number(inp, 10, MAX_COUNT))
    delay = _number(args.get("delay"), 1.0, MAX_DELAY)
    out = stream(args, count_to_zero(n, delay))
    return {"body": {"output": out, "streaming": True}}
