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
