"""The project's own site: its `web/` folder served at `/`, as the cluster serves the static
bucket that `ops ide deploy` fills and `ops ide serve` serves locally: `index.html` for a
folder, content types from the file names, no listing of a folder, nothing outside `web/`
(no `..`, no symlink that leads out), and nothing private: a dotfile or anything in a
dot-folder (`web/.env`, `web/.git/`) is neither served (404) nor deployed. A path with no file
and no extension is a client-side route of a single-page app: it gets the site's `index.html`,
as the cluster's static server's `@spa` rule answers (Pinocchio's display frame loads
`/display`); a site without `index.html` shows the chat page at `/`. Files are read at each
request and never cached by the browser, so an edit shows at the next reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

SITE_FOLDER = "web"


def is_private(relative: str) -> bool:
    """A dotfile, or a file in a dot-folder, of the site (a path relative to web/)."""
    return any(part.startswith(".") for part in relative.replace("\\", "/").split("/")
               if part not in ("", "."))  # "." is the folder itself: web/


def site_folder(project: Path) -> Path | None:
    folder = project / SITE_FOLDER
    return folder if folder.is_dir() else None


class SiteFiles(StaticFiles):
    """StaticFiles (which already refuses `..` and links that lead out) with `index.html` for
    folders and client-side routes, `page` where the site has no index, and revalidation at
    every load."""

    def __init__(self, directory: Path, page: Callable[[], Response]) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.folder = directory
        self.page = page

    async def get_response(self, path: str, scope: Scope) -> Response:
        if is_private(path):
            return PlainTextResponse("Not Found", status_code=404)
        if path in ("", ".") and not self._has_index():
            return self.page()
        try:
            response = await super().get_response(path, scope)
        except HTTPException as missing:
            if (missing.status_code != 404 or PurePosixPath(path).suffix or not self._has_index()
                    or (self.folder / path).is_dir()):  # a folder: still no listing
                raise
            response = await super().get_response("index.html", scope)  # a client route
        response.headers["Cache-Control"] = "no-cache"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def _has_index(self) -> bool:
        """Asked only where the answer depends on it: a file that exists is served without."""
        return (self.folder / "index.html").is_file()


def site_routes(folder: Path, page: Callable[[], Response]) -> list[BaseRoute]:
    return [Mount("/", SiteFiles(folder, page), name="site")]
