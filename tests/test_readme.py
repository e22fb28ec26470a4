"""The documentation's generated tables (README.md, docs/) are what ``tools/generate.py`` renders from their
sources, each table is in exactly one place, and the README's worked example runs as written."""

import pytest

from conftest import ROOT, SEED_YAML
from generate import BLOCK, BLOCKS, DOCS


def blocks():
    """Every generated block of README.md and docs/*.md: ``(name, file, content)``."""
    return [(m.group(2), path, m.group(3)) for path in DOCS for m in BLOCK.finditer(path.read_text())]


def test_docs_hold_every_generated_table_once():
    assert sorted(name for name, _, _ in blocks()) == sorted(BLOCKS)


@pytest.mark.parametrize(("name", "path", "text"), blocks(), ids=[name for name, _, _ in blocks()])
def test_generated_table_is_current(name, path, text):
    assert text == BLOCKS[name](), f"{path.name}: run python tools/generate.py"


def test_worked_example_edits_the_recipe_into_a_timm_model(tmp_path, monkeypatch):
    """The README's sed line, run as written on the recipe's YAML, gives a config that builds a ConvNeXt backbone
    with ImageNet weights (here from the offline folder: a seeded timm model saved under the tag's file name)."""
    import shutil
    import subprocess

    import timm
    import torch
    from ultralytics.nn.tasks import DetectionModel

    torch.save(timm.create_model("convnext_atto").state_dict(), tmp_path / "convnext_atto.d2_in1k.pth")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    command = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("sed "))
    shutil.copyfile(SEED_YAML, tmp_path / "yolo11-RepViT.yaml")
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
    model = DetectionModel(str(tmp_path / "yolo11n-convnext-atto.yaml"), nc=3, verbose=False)
    assert type(model.model[0]).__name__ == "TimmBackbone" and model.model[0].model == "convnext_atto"
    assert model.stride.tolist() == [8.0, 16.0, 32.0]
