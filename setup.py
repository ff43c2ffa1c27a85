"""Build step only: compiles the scoring engine (scorer/) to C extensions with mypyc.

Metadata lives in pyproject.toml; pip runs this file for `pip install -e .` and `pip install .`
(`make install`), with mypy from [build-system] requires. The pure-Python sources stay the
truth: each scorer/<module>.py becomes scorer/<module>.cpython-*.so beside it (all modules share
scorer/_native__mypyc.*.so), which Python imports instead of the .py. After editing scorer/,
rebuild with `make install` (the Makefile does it when a scorer source is newer);
tests/unit/scorer/test_scorer_compiled.py fails on a missing or stale build.

If the C build fails (no compiler), the package still installs as pure Python, with a warning.
"""

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# scorer/__init__.py only re-exports; compiled, it would import the shared library that lives
# inside its own package while that package is being initialised.
SCORER = sorted(
    f"scorer/{path.name}" for path in Path("scorer").glob("*.py") if path.name != "__init__.py"
)


class OptionalBuildExt(build_ext):
    """build_ext that falls back to the pure-Python scorer when the C build fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # any compiler or linker failure: stay pure Python
            print(f"WARNING: scorer/ not compiled ({error}); using pure Python", file=sys.stderr)
            return
        # mypyc leaves unchanged C files (and so their .so) alone; stamp the in-place copies
        # with this build's time so "newer than its source" means "built from it".
        for ext in self.extensions:
            built = Path(self.get_ext_filename(ext.name))
            if built.exists():
                os.utime(built)


def _extensions() -> list[Any]:
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("WARNING: mypyc not available; scorer/ stays pure Python", file=sys.stderr)
        return []
    return mypycify(SCORER, opt_level="3", separate=[(SCORER, "scorer._native")])


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
