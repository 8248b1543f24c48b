"""A real PEP 503 "simple" package index on 127.0.0.1, serving wheels built here, for the
tests that install a requirements.txt without reaching PyPI."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

GREETING = 'def hello(name):\n    return f"hello, {name}, from the greeting wheel"\n'


@dataclass
class PackageIndex:
    url: str
    requested: list[str] = field(default_factory=list)
    # while cleared, every request waits (a slow index, as on a first build from far away)
    open: threading.Event = field(default_factory=threading.Event)


def build_wheel(folder: Path, name: str, version: str, module: str) -> Path:
    """A pure-Python wheel, as a build backend would write it (with its RECORD hashes)."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: streamwhisk-tests\n"
                               "Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@contextlib.contextmanager
def serve_index(root: Path) -> Iterator[PackageIndex]:
    """The index of the `greeting` wheel, served from `root` until the block ends."""
    (root / "simple" / "greeting").mkdir(parents=True)
    build_wheel(root / "simple" / "greeting", "greeting", "1.0", GREETING)
    requested: list[str] = []
    gate = threading.Event()
    gate.set()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            gate.wait(timeout=60)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            requested.append(self.path)

    index = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=index.serve_forever, daemon=True).start()
    try:
        yield PackageIndex(f"http://127.0.0.1:{index.server_address[1]}/simple/", requested,
                           gate)
    finally:
        gate.set()
        index.shutdown()
        index.server_close()
