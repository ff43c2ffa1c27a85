"""scorer.memo.Memo: a bounded str -> value cache, looked up by length first."""

from scorer.memo import Memo


def test_what_is_kept_is_found_and_nothing_else() -> None:
    memo = Memo[int](100)
    # same-length keys (more than a length holds beside the dict), a long key, an empty one
    keys = [f"https://a.test/p{i:02}" for i in range(10)] + ["x" * 300, ""]
    for i, key in enumerate(keys):
        assert memo.get(key) is None
        assert memo.keep(key, i) == i
    for i, key in enumerate(keys):
        assert memo.get("".join(list(key))) == i  # an equal str, not the same object
    assert memo.get("https://a.test/p10") is None  # same length, never kept
    assert memo.get("https://a.test/q00") is None
    assert memo.get("x" * 299) is None


def test_a_full_memo_starts_again_and_holds_at_most_its_size() -> None:
    memo = Memo[str](8)
    for i in range(8):
        memo.keep(f"k{i}", f"v{i}")
    assert all(memo.get(f"k{i}") == f"v{i}" for i in range(8))
    memo.keep("k8", "v8")  # the ninth clears the eight first
    assert memo.get("k8") == "v8"
    assert all(memo.get(f"k{i}") is None for i in range(8))
    for i in range(20):
        memo.keep(f"key-{i:03}", str(i))
        held = sum(memo.get(f"key-{j:03}") is not None for j in range(i + 1))
        held += memo.get("k8") is not None
        assert held <= 8
