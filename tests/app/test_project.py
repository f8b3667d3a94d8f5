"""Project folder, settings and the allowed-roots check."""
from __future__ import annotations

import json
import os

import pytest

from app.components import project


def test_home_follows_the_environment(empty_project):
    assert project.home() == empty_project.resolve()
    assert project.load_settings() == project.Settings()


def test_allowed_roots_include_datasets_runs_image_roots_and_settings(empty_project, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    ds = empty_project / "datasets" / "x"
    ds.mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"classes": ["a"], "image_root": str(images), "format": "csv"}))
    extra = tmp_path / "extra"
    extra.mkdir()
    project.save_settings(project.Settings(reviewer="r", allowed_roots=[str(extra)]))
    roots = project.allowed_roots()
    for r in (empty_project / "datasets", empty_project / "runs", images, extra):
        assert r.resolve() in roots
    assert project.check_path(images) == images.resolve()


def test_refusals(empty_project, tmp_path):
    (empty_project / "datasets").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(project.PathRefused, match="outside the allowed"):
        project.check_path(outside)
    with pytest.raises(project.PathRefused, match=r"'\.\.'"):
        project.check_path(empty_project / "datasets" / ".." / "datasets")
    os.symlink(outside, empty_project / "datasets" / "link")
    with pytest.raises(project.PathRefused, match="outside the allowed"):
        project.check_path(empty_project / "datasets" / "link")
    with pytest.raises(project.PathRefused):
        project.check_path("")


ROOT_SPELLINGS = ["/", "//", "///", "/./", "/..", "//etc/..", "/tmp/../", "~/../../../../../../.."]


@pytest.mark.parametrize("text", ROOT_SPELLINGS + ["link"])
def test_the_file_system_root_is_never_an_allowed_root(empty_project, tmp_path, text):
    """Issue 9, hole 3: '//' (and every other spelling of '/', a link to it included) was stored as '/'."""
    if text == "link":
        (tmp_path / "to_root").symlink_to("/")
        text = str(tmp_path / "to_root")
    with pytest.raises(project.PathRefused) as e:
        project.check_allowed_root(text)
    assert str(e.value) == f"'{text}' is the file-system root; name a narrower folder"


def test_allowed_root_checks(empty_project, tmp_path):
    assert project.check_allowed_root(f"  {tmp_path}/./ ") == tmp_path.resolve()
    with pytest.raises(project.PathRefused, match="^'relative/path' is not an absolute path$"):
        project.check_allowed_root("relative/path")
    with pytest.raises(project.PathRefused, match="is not an existing folder$"):
        project.check_allowed_root(str(tmp_path / "missing"))


def test_a_root_stored_by_hand_or_an_image_root_of_slash_is_ignored(empty_project, tmp_path):
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": ["//", str(tmp_path)]}))
    ds = empty_project / "datasets" / "x"
    ds.mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"classes": ["a"], "image_root": "//", "format": "csv"}))
    roots = project.allowed_roots()
    assert tmp_path.resolve() in roots and all(r != r.parent for r in roots)
    with pytest.raises(project.PathRefused, match="outside the allowed"):
        project.check_path("/etc")


def test_unresolvable_roots_are_refused_and_left_out(empty_project, tmp_path):
    """Issue 22 item 12: Path.resolve raises on a symlink loop (RuntimeError) and on a link the process
    may not read (/proc/1/root: PermissionError); every root check now refuses such a path instead."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    loop = str(tmp_path / "a")
    with pytest.raises(project.PathRefused) as e:
        project.check_allowed_root(loop)
    assert str(e.value) == f"'{loop}' cannot be resolved (a symlink loop, or a link that cannot be read)"
    with pytest.raises(project.PathRefused):            # unreadable here, the file-system root elsewhere
        project.check_allowed_root("/proc/1/root")
    good = tmp_path / "good"
    good.mkdir()
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [loop, str(good)]}))
    assert good.resolve() in project.allowed_roots()
    assert project.unusable_roots() == [f"'{loop}' cannot be resolved (a symlink loop, or a link that cannot be read)"]
    with pytest.raises(project.PathRefused, match="outside the allowed"):
        project.check_path(loop + "/x")


def test_image_roots_are_read_through_the_manifest_module(empty_project, tmp_path):
    """Issue 21 item 5: a dataset's image_root is resolved as every reader resolves it (relative to the
    dataset folder), and a dataset.json the manifest module refuses (image_root a number) adds no root;
    it used to add <dataset>/42."""
    good, bad = empty_project / "datasets" / "good", empty_project / "datasets" / "bad"
    for d in (good, bad, empty_project / "pictures", bad / "42"):
        d.mkdir(parents=True)
    (good / "dataset.json").write_text(json.dumps({"classes": ["a"], "image_root": "../../pictures", "format": "csv"}))
    (bad / "dataset.json").write_text(json.dumps({"classes": ["a"], "image_root": 42, "format": "csv"}))
    roots = project.allowed_roots()
    assert (empty_project / "pictures").resolve() in roots
    assert (bad / "42").resolve() not in roots
