"""safe_join and is_within: `..`, absolute paths and symlinks may not leave the root."""
from __future__ import annotations

import os

import pytest

from data_tools.paths import PathEscapeError, is_within, relative_to_root, safe_join


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes(b"s")
    os.symlink(tmp_path / "outside" / "secret.png", root / "a" / "link_out.png")
    os.symlink(tmp_path / "outside", root / "dir_out")
    os.symlink(root / "a" / "x.png", root / "link_in.png")
    return root


def test_plain_relative_path(tree):
    assert safe_join(tree, "a/x.png") == tree / "a" / "x.png"
    assert relative_to_root(tree, "a/x.png") == "a/x.png"


def test_dotdot_that_stays_inside_is_normalised(tree):
    assert safe_join(tree, "a/../a/x.png") == tree / "a" / "x.png"
    assert relative_to_root(tree, "./a/../a/x.png") == "a/x.png"


@pytest.mark.parametrize("rel", ["../outside/secret.png", "a/../../outside/secret.png", ".."])
def test_dotdot_escape_is_refused(tree, rel):
    with pytest.raises(PathEscapeError) as err:
        safe_join(tree, rel)
    assert err.value.reason == "path leaves the root through '..'"


def test_absolute_path_outside_is_refused(tree, tmp_path):
    with pytest.raises(PathEscapeError) as err:
        safe_join(tree, str(tmp_path / "outside" / "secret.png"))
    assert err.value.reason == "absolute path outside the root"
    with pytest.raises(PathEscapeError):
        safe_join(tree, "/etc/passwd")


def test_absolute_path_inside_is_accepted(tree):
    assert relative_to_root(tree, str(tree / "a" / "x.png")) == "a/x.png"


@pytest.mark.parametrize("rel", ["a/link_out.png", "dir_out/secret.png"])
def test_symlink_leading_outside_is_refused(tree, rel):
    with pytest.raises(PathEscapeError) as err:
        safe_join(tree, rel)
    assert err.value.reason == "symlink leads outside the root"


def test_symlink_inside_is_fine(tree):
    assert safe_join(tree, "link_in.png") == tree / "link_in.png"


def test_root_reached_through_a_symlink(tree, tmp_path):
    os.symlink(tree, tmp_path / "alias")
    assert relative_to_root(tmp_path / "alias", "a/x.png") == "a/x.png"
    assert relative_to_root(tmp_path / "alias", str(tree / "a" / "x.png")) == "a/x.png"


def test_empty_nul_and_root_itself(tree):
    for rel, reason in [("", "empty path"), ("a\x00b", "path contains a NUL byte"),
                        (".", "path names the root itself, not a file")]:
        with pytest.raises(PathEscapeError) as err:
            relative_to_root(tree, rel)
        assert err.value.reason == reason


def test_is_within(tree, tmp_path):
    assert is_within(tree / "a" / "x.png", [tree])
    assert is_within(tree, [tree])
    assert not is_within(tree / "a" / "link_out.png", [tree])
    assert is_within(tree / "a" / "link_out.png", [tree, tmp_path / "outside"])
    assert not is_within(tmp_path / "rootx", [tree])  # a sibling sharing the prefix is not inside
    assert not is_within("/etc/passwd", [])
