"""The build step pyproject.toml cannot say: the chat page's JavaScript libraries, installed
from the npm lock file (`npm ci`) when they are not yet, are copied into the wheel
(streamwhisk/web/vendor/), so an installed streamwhisk serves its page with no Node.js.
Everything else about the package is in pyproject.toml."""

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).parent / "streamwhisk" / "web"


class BuildWithPage(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves them from node_modules
        files = json.loads((WEB / "vendor.json").read_text())
        modules = WEB / "node_modules"
        if not all((modules / source).is_file() for source in files.values()):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=WEB, check=True)
        vendor = Path(self.build_lib) / "streamwhisk" / "web" / "vendor"
        vendor.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            shutil.copyfile(modules / source, vendor / name)
        for package in {"/".join(source.split("/")[:2]) if source.startswith("@")
                        else source.split("/")[0] for source in files.values()}:
            for licence in ("LICENSE", "LICENSE.md"):
                if (modules / package / licence).is_file():
                    name = package.replace("/", "-").lstrip("@")
                    shutil.copyfile(modules / package / licence, vendor / f"{name}.{licence}")


setup(cmdclass={"build_py": BuildWithPage})
