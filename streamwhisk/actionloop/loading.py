"""How a worker loads its action (the action's own files compiled from source each time, a
zip's `virtualenv/` activated as OpenWhisk's runtime does) and how a failure to load or to run
reads: which library is missing and how to add it, which Python a syntax error wants."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .messages import Init
from .results import ResultRefused

Entry = Callable[[dict[str, Any]], Any]
_fallback_note = ""  # when python:default runs on an older Python: what to install


def note_fallback(note: str) -> None:
    """What a syntax error should add (the zygote knows it; the action must not see it)."""
    global _fallback_note
    _fallback_note = note


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the action's own files from source every time.

    A `.pyc` is validated by whole-second mtime and size, so an edit saved within the same
    second would otherwise run the old code.
    """

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)


def source_only_hook(folder: str) -> Callable[[str], Any]:
    finder_hook = importlib.machinery.FileFinder.path_hook(
        (SourceOnlyLoader, importlib.machinery.SOURCE_SUFFIXES)
    )

    def hook(path: str) -> Any:
        if os.path.abspath(path) != folder:
            raise ImportError("not the action's folder")
        return finder_hook(path)

    return hook


def load_entry(init: Init) -> Entry:
    folder = os.path.dirname(init.main_file)
    os.chdir(folder)
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's project
    if init.multi_file:
        # a multi-file action imports its sibling modules, as in an OpenWhisk zip action
        sys.path_hooks.insert(0, source_only_hook(folder))
        sys.path.insert(0, folder)
        activate = os.path.join(folder, "virtualenv", "bin", "activate_this.py")
        if os.path.isfile(activate):  # a zip's libraries, activated as OpenWhisk's runtime does
            with open(activate, encoding="utf-8") as script:
                exec(compile(script.read(), activate, "exec"), {"__file__": activate})
    loader = SourceOnlyLoader("main__", init.main_file)
    spec = importlib.util.spec_from_file_location("main__", init.main_file, loader=loader)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {init.main_file}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    entry = getattr(module, init.entry, None)
    if not callable(entry):
        raise AttributeError(f"the action has no function {init.entry}(args)")
    return entry  # type: ignore[no-any-return]


def describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"The action exited (sys.exit({exc.code!r})) instead of returning a result."
    if isinstance(exc, ResultRefused) or (isinstance(exc, TypeError)
                                          and str(exc).startswith("The action")):
        return str(exc)
    return f"An error has occurred: {type(exc).__name__}: {exc}{missing_library(exc)}"


# import names whose package on PyPI is called otherwise
DISTRIBUTIONS = {"PIL": "pillow", "yaml": "pyyaml", "bs4": "beautifulsoup4",
                 "dateutil": "python-dateutil", "sklearn": "scikit-learn",
                 "cv2": "opencv-python", "dotenv": "python-dotenv", "jwt": "pyjwt",
                 "psycopg2": "psycopg2-binary", "docx": "python-docx", "fitz": "pymupdf"}


def missing_library(exc: BaseException) -> str:
    """For an import of a library the runtime lacks: which one, and how to add it."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return ""
    library = exc.name.split(".")[0]
    version = ".".join(map(str, sys.version_info[:2]))
    package = DISTRIBUTIONS.get(library, library)
    return (f" (the action's runtime, Python {version}, has no `{library}`: if it is a "
            f"library, add a line `{package}` to a requirements.txt in the action's folder "
            "(beside its __main__.py; a single-file action becomes a folder), and streamwhisk "
            "installs it, as a deploy packages it)")


def load_failure(exc: BaseException) -> str:
    note = f" ({_fallback_note})" if isinstance(exc, SyntaxError) and _fallback_note else ""
    return (f"The action failed to load: {type(exc).__name__}: {exc}{missing_library(exc)}"
            f"{note}")
