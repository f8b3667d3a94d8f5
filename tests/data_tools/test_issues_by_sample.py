"""data_tools.issues.by_sample on the planted dataset: each face's issue types as bits, the filter's
ids, and the duplicate group around a face (members, detail, conflict and leak flags)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_tools.issues.by_sample import BITS, DuplicateGroups, ids_with, issue_bits, mask_of, names_of
from data_tools.issues.dataset import compute_issues
from support.planted_issues import make_dataset


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return compute_issues(make_dataset(tmp_path_factory.mktemp("planted")), jobs=1)


def test_bits_and_names_round_trip():
    assert mask_of(["split_leak", "blurry", "not-an-issue"]) == BITS["split_leak"] | BITS["blurry"]
    assert names_of(BITS["blurry"] | BITS["label_conflict"]) == "label_conflict, blurry"
    assert names_of(0) == "" and mask_of([]) == 0


def test_issue_bits_of_the_planted_faces(table):
    scores = pd.DataFrame({"sample_id": ["clean0", "a0", "clean1"], "ambiguous_between": ["happy/sad", "sad/neutral", ""]})
    bits = issue_bits(table, scores)
    got = {s: names_of(b) for s, b in bits.items()}
    assert got == {"a2": "label_conflict, exact_duplicate", "a2_sad": "label_conflict, exact_duplicate",
                   "a1": "split_leak, exact_duplicate", "a1_test": "split_leak, exact_duplicate",
                   "a0": "exact_duplicate, ambiguous", "a0_copy": "exact_duplicate",
                   "b0": "near_duplicate", "b0_resized": "near_duplicate",
                   "c0": "near_duplicate", "c0_jpeg": "near_duplicate",
                   "d0": "near_duplicate", "d0_shift": "near_duplicate",      # shifted: the keypoint hashes
                   "e0": "near_duplicate", "e0_crop": "near_duplicate",
                   "blank": "blank", "dark": "dark", "bright": "bright", "twotone": "low_information",
                   "blurry": "blurry", "clean0": "ambiguous"}
    assert ids_with(bits, ["split_leak", "label_conflict"]) == {"a1", "a1_test", "a2", "a2_sad"}
    assert ids_with(bits, ["ambiguous"]) == {"a0", "clean0"}
    assert ids_with(bits, []) == set()
    assert issue_bits(None, None).empty and issue_bits(None, scores.iloc[2:]).empty


def test_the_group_around_a_face(table):
    g = DuplicateGroups(table)
    assert len(g) == 7                                   # 3 exact groups, 4 near ones
    leak = g.around("a1_test")
    assert (sorted(leak.members), leak.leak, leak.conflict) == (["a1", "a1_test"], True, False)
    assert leak.detail == "2 faces with the same pixels; label happy; splits test/train (leak)"
    conflict = g.around("a2")
    assert (sorted(conflict.members), conflict.leak, conflict.conflict) == (["a2", "a2_sad"], False, True)
    near = g.around("b0_resized")
    assert near.name.startswith("near:") and sorted(near.members) == ["b0", "b0_resized"]
    assert sorted(g.around("d0_shift").members) == ["d0", "d0_shift"]
    assert g.around("blank") is None and g.around("f0_crop80") is None and g.around("nope") is None
    assert DuplicateGroups(None).around("a0") is None


def test_an_exact_group_inside_a_near_group_is_one_group():
    """Two pixel-identical faces and a resized copy of them: one group of three, named by the near group."""
    t = pd.DataFrame({"sample_id": ["x", "x_copy", "x", "x_copy", "x_big"],
                      "issue": ["exact_duplicate", "exact_duplicate", "near_duplicate", "near_duplicate", "near_duplicate"],
                      "score": np.ones(5), "group": ["exact:0", "exact:0", "near:0", "near:0", "near:0"],
                      "detail": ["2 same", "2 same", "3 near", "3 near", "3 near"]})
    g = DuplicateGroups(t).around("x_big")
    assert (g.name, g.members, g.detail) == ("near:0", ["x", "x_copy", "x_big"], "3 near")
    assert DuplicateGroups(t).around("x").members == ["x", "x_copy", "x_big"]
