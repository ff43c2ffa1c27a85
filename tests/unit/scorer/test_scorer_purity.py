"""scorer/ is the functional core: stdlib (pure modules only) and schemas, no clock, no env."""

import ast
import sys
from pathlib import Path

import pytest

SCORER = Path(__file__).resolve().parents[3] / "scorer"

ALLOWED = {
    "__future__",
    "base64",
    "binascii",
    "bisect",
    "collections",
    "dataclasses",
    "enum",
    "functools",
    "hashlib",
    "itertools",
    "math",
    "operator",
    "re",
    "tomllib",
    "typing",
    "pathlib",  # only for load_rules(path): reading a file named by the caller
    "schemas",
    "scorer",
}
# Imported with a fallback (compile-time hints, an optimization): scorer/ works without them.
OPTIONAL = {
    "mypy_extensions",  # mypyc_attr (credits.py)
    "ctypes",  # untracked.py: the logs' lists out of the cyclic collector's way
}
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "time_ns"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "environ"),
    ("os", "getenv"),
    ("random", "random"),
}


def _sources() -> list[Path]:
    return sorted(SCORER.glob("*.py"))


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _forbidden_attributes(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_CALLS:
                found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "environ"}:
            found.append(f".{node.attr} (line {node.lineno})")
    return found


def test_there_are_sources_to_check() -> None:
    assert len(_sources()) > 5


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_imports_only_allowed_modules(path: Path) -> None:
    imported = _imported(ast.parse(path.read_text(encoding="utf-8")))
    assert imported <= ALLOWED | OPTIONAL, f"{path.name} imports {sorted(imported - ALLOWED)}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_never_reads_the_clock_or_environment(path: Path) -> None:
    assert _forbidden_attributes(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_allow_list_is_standard_library() -> None:
    stdlib = ALLOWED - {"schemas", "scorer"}
    assert stdlib <= sys.stdlib_module_names


def test_scorer_works_without_the_optional_modules() -> None:
    """mypy_extensions is a build-time tool's package: a production install may lack it;
    ctypes is missing from some Python builds."""
    import subprocess

    code = (
        "import sys\n"
        "for name in OPTIONAL: sys.modules[name] = None\n"
        "from scorer import ScoringEvent, apply_event, new_state, parse_rules\n"
        "rules = parse_rules('version = \"v\"\\n[decay]\\nhalf_life = \"14d\"\\n"
        "[stages]\\nwarm = 25\\nhot = 60\\nhysteresis = 5\\n[[rule]]\\nid = \"a\"\\n"
        "event = \"page_view\"\\npoints = 1\\n')\n"
        "u = apply_event(new_state(), ScoringEvent('e', 'page_view', 1.8e9, {}), rules)\n"
        "assert u.score == 1.0, u\n"
    ).replace("OPTIONAL", repr(sorted(OPTIONAL)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_checker_catches_forbidden_imports_and_clock() -> None:
    tree = ast.parse("import os\nfrom faust import App\nimport time\nx = time.time()\n")
    assert _imported(tree) - ALLOWED == {"os", "faust", "time"}
    assert _forbidden_attributes(tree) == ["time.time (line 4)"]
    tree = ast.parse("from datetime import datetime\ny = datetime.now()\n")
    assert _forbidden_attributes(tree)
