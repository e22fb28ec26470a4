"""The learning study: its generated datasets are reproducible and correctly labelled, its scripts write complete files
and share their runs.

The scripts run in their quick modes (toy sizes) in a subprocess; nothing here asserts a time or an accuracy.
"""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scenes():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("_scenes")
    finally:
        sys.path.remove(str(BENCHMARKS))


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["photo", "digits"])
def test_same_seed_same_files_other_seed_other_images(scenes, tmp_path, kind):
    made = [scenes.make_scenes(kind, tmp_path / name, train=6, val=3, imgsz=64, seed=seed)
            for name, seed in (("a", 0), ("b", 0), ("c", 1))]
    first, again, other = (files(data.parent) for data in made)
    assert {k: v for k, v in first.items() if k != "data.yaml"} == {k: v for k, v in again.items() if k != "data.yaml"}
    assert first["train/images/train_0000.jpg"] != other["train/images/train_0000.jpg"]
    assert len([k for k in first if k.endswith(".jpg")]) == 9


def test_validation_images_do_not_depend_on_the_training_count(scenes, tmp_path):
    few = files(scenes.make_scenes("photo", tmp_path / "few", train=2, val=3, imgsz=64).parent)
    more = files(scenes.make_scenes("photo", tmp_path / "more", train=5, val=3, imgsz=64).parent)
    assert {k: v for k, v in few.items() if k.startswith("val/")} == {k: v for k, v in more.items()
                                                                       if k.startswith("val/")}


@pytest.mark.parametrize("kind", ["photo", "digits"])
def test_labels_are_tight_boxes_around_what_was_pasted(scenes, tmp_path, monkeypatch, kind):
    """Every label line is a box, in range, of a known class, exactly around the pixels the object covers."""
    pasted = []

    def spy(canvas, sprite, x, y):
        box = real_paste(canvas, sprite, x, y)
        rows, cols = np.nonzero(sprite[..., 3] >= 0.5)
        assert box == (x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1)
        pasted.append(box)
        return box

    real_paste = scenes._paste
    monkeypatch.setattr(scenes, "_paste", spy)
    size = 96
    data = scenes.make_scenes(kind, tmp_path, train=12, val=4, imgsz=size, seed=3)
    classes = scenes.SCENES[kind][0]
    written = data.read_text()
    assert f"path: {tmp_path.resolve()}" in written and f"{len(classes) - 1}: '{classes[-1]}'" in written
    lines = [line.split() for split in ("train", "val")
             for path in sorted((tmp_path / split / "labels").glob("*.txt")) for line in path.read_text().splitlines()]
    assert len(lines) == len(pasted) > 12
    for (cls, cx, cy, w, h), (x0, y0, x1, y1) in zip(lines, pasted):
        cx, cy, w, h = (float(v) for v in (cx, cy, w, h))
        assert 0 <= int(cls) < len(classes)
        edge = 1e-6  # labels are written to six decimals
        assert -edge <= cx - w / 2 and cx + w / 2 <= 1 + edge and -edge <= cy - h / 2 and cy + h / 2 <= 1 + edge
        assert w > 0 and h > 0
        assert np.allclose([cx, cy, w, h], [(x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / size,
                                             (y1 - y0) / size], atol=1e-6)
    used = {int(line[0]) for line in lines}
    assert len(used) > len(classes) // 2  # the classes are mixed, not one repeated


def test_unknown_scene_kind_is_refused(scenes, tmp_path):
    with pytest.raises(ValueError, match="photo, digits"):
        scenes.make_scenes("shape", tmp_path)


def run_script(name, *args, cwd):
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def table_rows(markdown, first_header):
    """The rows (cells stripped) of the Markdown table whose header starts with ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [cell.strip() for cell in lines[start].strip("|").split("|")], rows


def machine_facts(markdown):
    """Labels of the machine facts, which close every results file: ``- **CPU**: ...`` -> ``CPU``."""
    facts = markdown.rstrip().split("\n\n")[-1].splitlines()
    assert all(line.startswith("- **") for line in facts), facts
    return [line[4:line.index("**", 4)] for line in facts]


def comparisons(stdout):
    """``(runs, already done)`` of each ``yolo_repvit.compare`` call, from the line it prints before training."""
    return [tuple(map(int, found)) for found in re.findall(r"\] (\d+) runs: (\d+) already done", stdout)]


@pytest.mark.slow
def test_quick_study_and_sweep_write_complete_files_and_share_runs(tmp_path):
    out = tmp_path / "out"
    common = ("--quick", "--work", str(tmp_path / "work"), "--out", str(out))
    studied = run_script("learning.py", *common, cwd=tmp_path)
    assert comparisons(studied) == [(2, 0), (2, 0), (1, 0)]  # one per recipe: defaults, recommended, AdamW lr0=0.01
    assert (out / "learning-quick.png").read_bytes()[:8] == PNG
    text = (out / "learning-quick.md").read_text()
    assert "```bash\npython benchmarks/learning.py --quick\n```" in text and "](learning-quick.png)" in text
    assert {"CPU", "torch", "ultralytics", "timm"} <= set(machine_facts(text))
    header, rows = table_rows(text, "dataset")
    assert header[:4] == ["dataset", "model", "recipe", "seeds"] and all(len(row) == len(header) for row in rows)
    assert [row[:4] for row in rows] == [["photo", f"`{model}`", recipe, "1"] for model, recipe in (
        ("yolo11n.yaml", "defaults"), ("yolo11n.yaml", "recommended"), ("yolo11n.yaml", "AdamW lr0=0.01"),
        ("yolo11n-repvit.yaml", "defaults"), ("yolo11n-repvit.yaml", "recommended"))]
    assert all(re.fullmatch(r"\d\.\d{3} ± \d\.\d{3}", cell) for row in rows for cell in (row[4], row[6]))
    goal_header, goal = table_rows(text[text.index("The goal"):], "dataset")
    assert goal_header[1] == "yolo11n-repvit recommended" and [row[0] for row in goal] == ["photo"]

    swept = run_script("learning_sweep.py", *common, cwd=tmp_path)
    assert comparisons(swept) == [(2, 2), (2, 2), (1, 1)]  # the study's runs, every one reused
    text = (out / "learning_sweep-quick.md").read_text()
    assert "```bash\npython benchmarks/learning_sweep.py --quick\n```" in text
    assert {"CPU", "torch", "ultralytics", "timm"} <= set(machine_facts(text))
    header, swept_rows = table_rows(text, "model")
    assert header[:3] == ["model", "setting", "seeds"] and all(len(row) == len(header) for row in swept_rows)
    assert {(row[0], row[1]) for row in swept_rows} == {
        (f"`{model}`", f"`{setting}`") for model in ("yolo11n.yaml", "yolo11n-repvit.yaml")
        for setting in ("defaults", "optimizer=AdamW lr0=0.006 momentum=0.9 warmup_epochs=5")} | {
        ("`yolo11n.yaml`", "`optimizer=AdamW lr0=0.01 momentum=0.9`")}
    assert sorted(row[-1] for row in swept_rows) == sorted(row[-1] for row in rows)  # train times: the same runs
    assert sorted(p.name for p in out.iterdir()) == ["learning-quick.md", "learning-quick.png",
                                                     "learning_sweep-quick.md"]
