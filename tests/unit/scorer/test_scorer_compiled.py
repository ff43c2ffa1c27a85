"""What ships is scorer/ compiled by mypyc (setup.py): the tests must exercise that build.

`make install` (and so `make test`) compiles it; a module that runs as pure Python, or whose
compiled form is older than its source, fails here, so no test result comes from stale code.
"""

import importlib
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader
from pathlib import Path

import pytest

import scorer

PACKAGE = Path(scorer.__file__).resolve().parent  # scorer/__init__.py itself stays pure
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.name != "__init__.py")


def test_there_are_modules_to_check() -> None:
    assert "engine" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_runs_compiled_from_its_current_source(name: str) -> None:
    module = importlib.import_module(f"scorer.{name}")
    assert module.__spec__ is not None
    assert isinstance(module.__spec__.loader, ExtensionFileLoader), (
        f"scorer.{name} runs as pure Python: build it with `make install`"
    )
    # (module.__file__ of a module the shared library imports names a wrong directory)
    built = next(p for s in EXTENSION_SUFFIXES if (p := PACKAGE / f"{name}{s}").exists())
    source = PACKAGE / f"{name}.py"
    assert built.stat().st_mtime >= source.stat().st_mtime, (
        f"{built.name} is older than {source.name}: rebuild with `make install`"
    )
