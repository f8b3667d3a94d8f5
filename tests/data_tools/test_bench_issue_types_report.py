"""bench/bench_issue_types.py --sections: a partial run rewrites only its own sections of the results file
and keeps the others, marked with when they were measured."""
from __future__ import annotations

from support import bench


OLD = ("# Issue types (2026-12-07 07:17 UTC)\n\nThresholds: T\n\n"
       "## 1. duplicates\n\n| a | 1 |\n\n"
       "## 3. Planted outliers in ckplus48: 5\n\nold 3a\n\n## 3. Planted outliers in jaffe: 5\n\nold 3b\n\n"
       "## 7. cost\n\ncost text\n")
NEW = "# Issue types (2026-12-08 09:00 UTC)\n\nThresholds: T\n\n## 3. Planted outliers in ckplus48: 5\n\nnew 3\n"


def test_a_partial_run_keeps_the_other_sections():
    b = bench.load("bench_issue_types")
    out = b.merged(NEW, OLD, {3})
    head, blocks = b.sections_of(out)
    assert head.startswith("# Issue types (2026-12-08 09:00 UTC)") and sorted(blocks) == [1, 3, 7]
    assert blocks[3] == "## 3. Planted outliers in ckplus48: 5\n\nnew 3\n"       # both old section-3 blocks gone
    assert blocks[1] == "## 1. duplicates\n\n(kept from the earlier run of 2026-12-07 07:17 UTC)\n\n| a | 1 |\n\n"
    assert blocks[7].startswith("## 7. cost\n\n(kept from the earlier run of 2026-12-07 07:17 UTC)\n\ncost text")
    again = b.merged(NEW.replace("09:00", "10:00"), out, {3})                  # kept twice: one mark, the first date
    assert again.count("(kept from") == 2 and "07:17" in again and again.index("## 1.") < again.index("## 3.")


def test_a_full_run_or_no_earlier_file_writes_the_run_alone():
    b = bench.load("bench_issue_types")
    assert b.merged(OLD, "", {1, 2, 3, 4, 5, 6, 7}) == OLD
    assert b.merged(NEW, OLD, {1, 2, 3, 4, 5, 6, 7}) == NEW      # sections a full run did not produce are not revived
