"""Face detection and cropping (Haar cascades bundled with OpenCV) and --crop-faces in an import."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from data_tools import faces
from data_tools.images import load_image


def test_cascades_are_bundled():
    assert len(faces._cascades()) == len(faces.CASCADES)


def test_no_face_in_a_flat_or_noisy_picture():
    assert faces.detect_faces(np.full((120, 120, 3), 128, np.uint8)) == []
    assert faces.crop_face(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)) is None


def test_crop_box_geometry():
    img = np.arange(40 * 60 * 3, dtype=np.uint32).reshape(40, 60, 3).astype(np.uint8)
    assert faces.crop_box(img, (10, 5, 20, 10)).shape == (10, 20, 3)
    assert (faces.crop_box(img, (10, 5, 20, 10)) == img[5:15, 10:30]).all()
    assert faces.crop_box(img, (10, 5, 20, 10), square=True).shape == (20, 20, 3)
    assert faces.crop_box(img, (10, 10, 10, 10), margin=0.5).shape == (20, 20, 3)
    assert faces.crop_box(img, (50, 30, 40, 40)).shape == (10, 10, 3)  # clipped to the image
    with pytest.raises(ValueError, match="lies outside the 60x40 image"):
        faces.crop_box(img, (100, 100, 10, 10))
    with pytest.raises(ValueError, match="has no area"):
        faces.crop_box(img, (1, 1, 0, 5))


def test_detection_scales_boxes_back(monkeypatch):
    seen = {}

    class Fake:
        def detectMultiScale(self, gray, **kw):
            seen["shape"] = gray.shape
            return np.array([[10, 20, 30, 30], [0, 0, 40, 40]])

    monkeypatch.setattr(faces, "_cascades", lambda: [Fake()])
    boxes = faces.detect_faces(np.zeros((320, 640, 3), np.uint8), max_side=160)
    assert seen["shape"] == (80, 160)
    assert boxes == [(0, 0, 160, 160), (40, 80, 120, 120)]  # largest first, in original pixels


def test_crop_faces_in_an_import(monkeypatch, run_import, tmp_path, special_images, reasons, check_counts):
    root = tmp_path / "photos"
    (root / "happy").mkdir(parents=True)
    for name in ("face.png", "noface.png"):
        shutil.copy(special_images["rgb_png"], root / "happy" / name)
    shutil.copy(special_images["palette_tiff"], root / "happy" / "pal.tiff")
    calls = []

    def fake_crop(rgb, **kw):
        calls.append(rgb.shape)
        return None if len(calls) == 2 else rgb[2:12, 4:14]

    monkeypatch.setattr(faces, "crop_face", fake_crop)
    res = run_import("folders", root, crop_faces=True, test_fraction=0, jobs=1)
    check_counts(res)
    assert res.info.image_root == "."
    assert reasons(res) == {"happy/noface.png": "no face found"}
    assert sorted(res.manifest["path"]) == ["crops/happy/face.png", "crops/happy/pal.tiff"]
    crop = load_image(res.out / "crops" / "happy" / "face.png")
    assert crop.shape == (10, 10, 3)
    assert (crop == load_image(special_images["rgb_png"])[2:12, 4:14]).all()


def test_missing_cascades_is_a_one_line_error(monkeypatch, run_import, tmp_path, special_images):
    from data_tools.importers import ImportFailure

    def broken():
        raise faces.FaceDetectorError("this OpenCV has no Haar cascades (install opencv-python-headless<5)")

    monkeypatch.setattr(faces, "_cascades", broken)
    root = tmp_path / "photos"
    (root / "happy").mkdir(parents=True)
    shutil.copy(special_images["rgb_png"], root / "happy" / "a.png")
    with pytest.raises(ImportFailure, match=r"^--crop-faces: this OpenCV has no Haar cascades"):
        run_import("folders", root, crop_faces=True)


def test_opencv_failure_on_one_image_rejects_that_row(monkeypatch, run_import, tmp_path, special_images,
                                                      reasons):
    import cv2

    calls = []

    def boom(rgb, **kw):                 # fails on the first image only (an import of nothing is refused)
        calls.append(1)
        if len(calls) == 1:
            raise cv2.error("bad input")
        return rgb

    monkeypatch.setattr(faces, "crop_face", boom)
    root = tmp_path / "photos"
    (root / "happy").mkdir(parents=True)
    shutil.copy(special_images["rgb_png"], root / "happy" / "a.png")
    shutil.copy(special_images["rgb_png"], root / "happy" / "b.png")
    res = run_import("folders", root, crop_faces=True)
    assert reasons(res) == {"happy/a.png": "cannot process image (error: bad input)"}
    assert res.manifest["path"].tolist() == ["crops/happy/b.png"]


EXPRESSIONS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_real_jaffe_face_is_found_where_it_is(shared_data, expression):
    """The product's detector on a real face (JAFFE, 256 x 256, one centred face per picture): one box
    near the centre, covering a face-sized part; the box follows the face when the picture is padded
    on the left and when it is mirrored; the crop is the square around it. Skipped without ../shared/data."""
    first = sorted((shared_data / "jaffe" / expression).glob("*.tiff"))[0]
    img = load_image(first)
    boxes = faces.detect_faces(img)
    assert boxes, f"no face found in {first.name}"
    x, y, w, h = boxes[0]
    assert w == h and 0.5 * 256 <= w <= 0.7 * 256                       # a face, not an eye or the picture
    assert abs((x + w / 2) - 128) <= 16 and abs((y + h / 2) - 128) <= 32   # centred, as JAFFE frames them
    px, py, pw, _ = faces.detect_faces(np.pad(img, ((0, 0), (64, 0), (0, 0))))[0]
    assert abs(px - (x + 64)) <= 8 and abs(py - y) <= 8 and abs(pw - w) <= 8
    mx, my, mw, _ = faces.detect_faces(np.ascontiguousarray(img[:, ::-1]))[0]
    assert abs(mx - (256 - x - w)) <= 10 and abs(my - y) <= 8 and abs(mw - w) <= 8
    crop = faces.crop_face(img)
    side = min(round(w * 1.3), 256)                                     # grown by 15 % a side, clipped
    assert crop.shape[0] == crop.shape[1] and abs(crop.shape[0] - side) <= 2
