"""The floor: the same emit action run by a bare warm process, one thread per request.

Reads one JSON object of arguments per line on stdin and runs `main(args)` in a thread, so the
client can read the messages straight from its own socket, with no relay in between.
"""

import importlib.util
import json
import sys
import threading
from pathlib import Path

ACTION = Path(__file__).parent / "project/packages/bench/emit.py"


def main() -> None:
    spec = importlib.util.spec_from_file_location("emit", ACTION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for line in sys.stdin:
        threading.Thread(target=module.main, args=(json.loads(line),), daemon=True).start()


if __name__ == "__main__":
    main()
