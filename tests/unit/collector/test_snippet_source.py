import gzip
import shutil
import subprocess

import pytest

from collector.snippet_route import SNIPPET


def test_snippet_is_at_most_5_kb_gzipped() -> None:
    assert len(gzip.compress(SNIPPET.read_bytes(), 9)) <= 5 * 1024


def test_snippet_and_loader_parse() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed; the browser tests parse the snippet too")
    for source in (SNIPPET, SNIPPET.with_name("loader.js")):
        subprocess.run([node, "--check", str(source)], check=True)
