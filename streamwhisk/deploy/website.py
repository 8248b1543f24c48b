"""The project's `web/` site to the cluster's static bucket, as `ops ide deploy` uploads it
(`ops util upload web`): every non-empty file under web/, keyed by its path inside it, to
`S3_BUCKET_STATIC` at `S3_API_URL` with `S3_ACCESS_KEY`/`S3_SECRET_KEY` (the login's values, or
the deployment layers'). Undeploy removes the keys a deploy uploaded, nothing else."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..config import Config
from ..errors import ClusterError
from ..site import SITE_FOLDER, is_private

if TYPE_CHECKING:
    from minio import Minio

NEEDED = ("S3_API_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET_STATIC")


@dataclass(frozen=True)
class SiteFile:
    key: str
    path: Path
    size: int


def site_files(project: Path) -> tuple[list[SiteFile], list[str]]:
    """The files `ops util upload` sends: regular, non-empty, not through a link that leaves
    web/, not private (site.is_private); and the keys of the private ones, which a deploy
    leaves out; both sorted by key."""
    folder = (project / SITE_FOLDER).resolve()
    public, private = [], []
    for path in _walk(folder):
        key = path.relative_to(folder).as_posix()
        if is_private(key):
            private.append(key)
        elif path.stat().st_size > 0:
            public.append(SiteFile(key, path, path.stat().st_size))
    return sorted(public, key=lambda f: f.key), sorted(private)


def _walk(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and path.resolve().is_relative_to(folder):
            yield path


@dataclass(frozen=True)
class StaticBucket:
    endpoint: str
    access_key: str
    secret_key: str
    name: str

    @classmethod
    def of(cls, project: Path) -> StaticBucket:
        """From the deployment layers; ClusterError naming what is missing."""
        config = Config.load(project, "packages")
        values = {name: config.get(name) for name in NEEDED}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise ClusterError(f"web/ cannot be uploaded: {', '.join(missing)} unset (the "
                               "cluster's login sets them: run `streamwhisk login`, or set "
                               "them in .env)")
        return cls(str(values["S3_API_URL"]), str(values["S3_ACCESS_KEY"]),
                   str(values["S3_SECRET_KEY"]), str(values["S3_BUCKET_STATIC"]))

    def client(self) -> Minio:
        from minio import Minio  # 0.2 s to import: only when there is something to send

        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ClusterError(f"S3_API_URL is not an http(s) URL: {self.endpoint}")
        return Minio(parts.netloc, access_key=self.access_key, secret_key=self.secret_key,
                     secure=parts.scheme == "https", region="us-east-1")


class SiteUploader:
    def __init__(self, bucket: StaticBucket) -> None:
        self.bucket = bucket
        self._client = bucket.client()

    def upload(self, file: SiteFile) -> None:
        media = mimetypes.guess_type(file.key)[0] or "application/octet-stream"
        self._call(lambda: self._client.fput_object(self.bucket.name, file.key,
                                                    str(file.path), content_type=media))

    def remove(self, key: str) -> None:
        self._call(lambda: self._client.remove_object(self.bucket.name, key))

    def _call(self, operation: Callable[[], object]) -> None:
        from minio.error import MinioException
        from urllib3.exceptions import HTTPError

        try:
            operation()
        except MinioException as exc:
            raise ClusterError(f"the static bucket {self.bucket.name} at "
                               f"{self.bucket.endpoint} refused: {exc}") from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"the static bucket at {self.bucket.endpoint} does not "
                               f"answer: {exc}") from exc
