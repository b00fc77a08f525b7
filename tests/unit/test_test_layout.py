"""The suite's own layout: pytest imports test files by their basename (no packages), so two test files
with one name in different folders make collection fail for the whole run."""

from collections import defaultdict
from pathlib import Path


def test_every_test_file_has_a_name_of_its_own():
    tests = Path(__file__).resolve().parents[1]
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in tests.rglob("test_*.py"):
        by_name[path.name].append(str(path.relative_to(tests)))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}
