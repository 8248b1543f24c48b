"""The project's own site: its `web/` folder served at `/`, as the cluster serves the static
bucket that `ops ide deploy` fills and `ops ide serve` serves locally: `index.html` for a
folder, content types from the file names, no listing of a folder, nothing outside `web/`
(no `..`, no symlink that leads out). Files are read at each request and never cached by the
browser, so an edit shows at the next reload."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

SITE_FOLDER = "web"


def site_folder(project: Path) -> Path | None:
    folder = project / SITE_FOLDER
    return folder if folder.is_dir() else None


class SiteFiles(StaticFiles):
    """StaticFiles (which already refuses `..` and links that lead out) with `index.html` for
    folders and revalidation at every load."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def site_routes(folder: Path) -> list[BaseRoute]:
    return [Mount("/", SiteFiles(folder), name="site")]
