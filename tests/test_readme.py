"""The README's tables of variants, configs and timm families are generated from the tables they describe.

``python tests/test_readme.py`` rewrites every block between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->``; the tests fail when a block drifts.  The family table is what
``yolo-repvit backbones`` reports, so it is read from the installed timm, not typed.
"""

import re
import sys
from pathlib import Path

import pytest

from test_configs import backbones
from yolo_repvit._repvit_variants import VARIANTS

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]) + "\n"


def variants():
    return table(("variant", "stage widths (x1.0)", "blocks per stage (timm)", "ImageNet top-1", "weights"),
                 [(f"`{v.name}`", "/".join(map(str, v.widths)), "/".join(map(str, v.depths)), v.top1,
                   "timm (HF hub)" if v.hub else "authors' release file") for v in VARIANTS.values()])


HEAD_LABELS = {"detect": "detect", "segment": "seg", "pose": "pose", "obb": "obb", "classify": "cls", "p2": "P2 detect",
               "v8": "YOLOv8 head", "yolo26": "YOLO26 head"}


def configs():
    """One row per shipped backbone; the per-variant RepViT configs, which differ only in the variant, in one row."""
    rows, variants = [], []
    for backbone, heads in backbones():
        if not backbone.scale_note.startswith("Backbone per scale: "):
            variants.append(backbone.name.removeprefix("repvit-"))
            continue
        what = backbone.scale_note.removeprefix("Backbone per scale: ").rstrip(".")
        weights = "ImageNet" if "True" in backbone.row else "from scratch"
        rows.append((f"`yolo11{{n,s,m,l,x}}-{backbone.name}.yaml`", backbone.kind, what, weights,
                     ", ".join(HEAD_LABELS[h] for h in heads)))
    rows.append((f"`yolo11{{n,s,m,l,x}}-repvit-{{{','.join(variants)}}}.yaml`", "RepViT",
                 "one variant at width 1.0 (the scale letter sizes the head only)", "from scratch", "detect"))
    return table(("config", "row", "backbone per scale", "weights", "tasks and heads"), rows)


def families():
    from yolo_repvit._backbones import families as checked

    rows = []
    for family, _, c in checked():
        if c.ok:
            fuse = "reparameterizes" if c.reparameterizes else "-"
            weights = c.tags[0] if c.tags else "none in timm"
            rows.append((family, f"`{c.name}`", "/".join(map(str, c.channels)), fuse, weights))
        else:
            reason = "no stride 4/8 maps" if "strides" in c.refusal else "one fixed input size"
            rows.append((family, f"`{c.name}`", f"refused: {reason}", "", ""))
    return table(("family", "tested model", "channels at stride 4/8/16/32", "fuse()", "default weights"), rows)


RENDER = {"variants": variants, "configs": configs, "families": families}


def blocks(text):
    return {m.group(2): m.group(3) for m in BLOCK.finditer(text)}


def test_readme_has_every_generated_block():
    assert set(blocks(README.read_text())) == set(RENDER)


@pytest.mark.parametrize("name", list(RENDER))
def test_generated_block_is_current(name):
    assert blocks(README.read_text())[name] == RENDER[name](), "run: python tests/test_readme.py"


if __name__ == "__main__":
    README.write_text(BLOCK.sub(lambda m: m.group(1) + RENDER[m.group(2)]() + m.group(4), README.read_text()))
    sys.exit(0)


def test_worked_example_edits_the_recipe_into_a_timm_model(tmp_path, monkeypatch):
    """The README's sed line, run as written on the recipe's YAML, gives a config that builds a ConvNeXt backbone
    with ImageNet weights (here from the offline folder: a seeded timm model saved under the tag's file name)."""
    import shutil
    import subprocess

    import timm
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from conftest import SEED_YAML

    torch.save(timm.create_model("convnext_atto").state_dict(), tmp_path / "convnext_atto.d2_in1k.pth")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    command = next(line for line in README.read_text().splitlines() if line.startswith("sed "))
    shutil.copyfile(SEED_YAML, tmp_path / "yolo11-RepViT.yaml")
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
    model = DetectionModel(str(tmp_path / "yolo11n-convnext-atto.yaml"), nc=3, verbose=False)
    assert type(model.model[0]).__name__ == "TimmBackbone" and model.model[0].model == "convnext_atto"
    assert model.stride.tolist() == [8.0, 16.0, 32.0]
