"""`make runtime-locks`: each of the cluster's library lists (`cluster/python-3.N.txt`, its
top-level libraries only) resolved to the whole set it installs, every library pinned
(`cluster/python-3.N.lock`), under `cluster/constraints.txt`. The runtimes install the lock,
so the transitive versions are the ones tested here, not whatever is newest the day a user
first starts `up`; `make test` imports every library of every kind's list."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from .environments import BASE_EXTRAS, CLUSTER, installer_environment, uv

CONSTRAINTS = CLUSTER / "constraints.txt"


def write_lock(listing: Path) -> Path:
    version = listing.stem.removeprefix("python-")
    lock = listing.with_suffix(".lock")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="wanted-") as wanted:
        wanted.write(listing.read_text(encoding="utf-8") + BASE_EXTRAS)
        wanted.flush()
        subprocess.run([uv(), "pip", "compile", wanted.name, "--constraint", str(CONSTRAINTS),
                        "--python-version", version, "--universal", "--no-header", "--quiet",
                        "--output-file", str(lock)], check=True, env=installer_environment())
    pinned = lock.read_text(encoding="utf-8")
    lock.write_text(f"# {listing.name} (and {BASE_EXTRAS.strip()}) resolved for Python {version} "
                    f"under {CONSTRAINTS.name}, every library pinned; `make runtime-locks` "
                    f"writes it.\n{pinned}", encoding="utf-8")
    return lock


def main() -> None:
    for listing in sorted(CLUSTER.glob("python-3.*.txt")):
        print(f"{write_lock(listing).relative_to(Path.cwd())} <- {listing.name}", file=sys.stderr)


if __name__ == "__main__":
    main()
