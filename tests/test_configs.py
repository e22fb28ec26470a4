"""The model configs in cfg/ are generated: every backbone (the RepViT variant table, the timm family
table) under every head below.  ``python tests/test_configs.py`` rewrites them; the tests here fail
when a file drifts from what the tables say, or when a file in cfg/ is not generated.
"""

import sys
from dataclasses import dataclass

import pytest

from yolo_repvit._configs import CONFIG_DIR
from yolo_repvit._repvit_variants import SCALE_VARIANTS, VARIANTS
from yolo_repvit._timm_families import SHIPPED

HAND_WRITTEN = {"repvit-scratch.yaml"}  # training arguments, not a model: written from the learning study


@dataclass(frozen=True)
class Head:
    """Everything of a config but its backbone row: the params above ``backbone:`` and the rows after it."""

    version: str  # yolo11, yolov8, yolo26: the name's family, before the scale letter
    suffix: str  # the name's task part: "", -seg, -pose, -obb, -cls, -p2
    title: str
    params: str
    rows: str


@dataclass(frozen=True)
class Backbone:
    name: str  # the name's backbone part, e.g. repvit, repvit-m0_9, convnext-imagenet
    kind: str  # RepViT or Timm
    row: str  # the YAML row, without its comment
    comment: str
    description: str  # "a RepViT backbone chosen per scale, at full width"
    scale_note: str  # what the scale letter picks


def _scales(family, table):
    rows = "".join(f"  {scale}: {values}\n" for scale, values in zip("nsmlx", table))
    return f"scales: # {family} head scaling [depth, width, max_channels]; the first row sets the backbone\n{rows}"


YOLO11_SCALES = _scales("YOLO11", ("[0.50, 0.25, 1024]", "[0.50, 0.50, 1024]", "[0.50, 1.00, 512]",
                                   "[1.00, 1.00, 512]", "[1.00, 1.50, 512]"))
NC = "nc: 80 # number of classes\n"
YOLO11_NECK = """\
  - [-1, 1, SPPF, [1024, 5]] # 5
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, False]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, False]] # 12 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 13
  - [[-1, 9], 1, Concat, [1]] # 14 + layer 9
  - [-1, 2, C3k2, [512, False]] # 15 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 16
  - [[-1, 6], 1, Concat, [1]] # 17 + layer 6
  - [-1, 2, C3k2, [1024, True]] # 18 output at stride 32
"""

HEADS = {
    "detect": Head("yolo11", "", "YOLO11 detector", NC + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, Detect, [nc]] # 19 boxes and classes from strides 8/16/32
"""),
    "segment": Head("yolo11", "-seg", "YOLO11 instance segmentation (boxes, classes and masks)", NC + YOLO11_SCALES,
                    YOLO11_NECK + """\
  - [[12, 15, 18], 1, Segment, [nc, 32, 256]] # 19 boxes, classes and 32 mask coefficients; prototype branch 256 \
wide before scaling
"""),
    "pose": Head("yolo11", "-pose", "YOLO11 keypoint (pose) estimation",
                 NC + "kpt_shape: [17, 3] # keypoints per object, values per keypoint (x, y, visibility); a dataset's "
                      "kpt_shape overrides it\n" + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, Pose, [nc, kpt_shape]] # 19 boxes, classes and keypoints from strides 8/16/32
"""),
    "obb": Head("yolo11", "-obb", "YOLO11 oriented (rotated) box detection", NC + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, OBB, [nc, 1]] # 19 rotated boxes (one angle each) and classes from strides 8/16/32
"""),
    "classify": Head("yolo11", "-cls", "image classifier (YOLO11's Classify head straight on the stride 32 map)",
                     "# No scales block: the head has no layer the depth/width multipliers act on, so the scale "
                     "letter\n# only picks the backbone.\n\n"
                     "nc: 1000 # number of classes; a dataset with another class count replaces it\n", """
head:
  - [-1, 1, Classify, [nc]] # 5 pooled stride 32 map (layer 4) -> class probabilities
"""),
    "p2": Head("yolo11", "-p2", "YOLO11 detector with a fourth, stride 4 output (P2-P5) for small objects, reading "
                                "the stride 4 map (layer 1),", NC + YOLO11_SCALES, """\
  - [-1, 1, SPPF, [1024, 5]] # 5
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16, 8 and 4 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, False]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, False]] # 12
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 13
  - [[-1, 1], 1, Concat, [1]] # 14 + layer 1 (stride 4)
  - [-1, 2, C3k2, [128, False]] # 15 output at stride 4
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [128, 3, 2]] # 16
  - [[-1, 12], 1, Concat, [1]] # 17 + layer 12
  - [-1, 2, C3k2, [256, False]] # 18 output at stride 8
  - [-1, 1, Conv, [256, 3, 2]] # 19
  - [[-1, 9], 1, Concat, [1]] # 20 + layer 9
  - [-1, 2, C3k2, [512, False]] # 21 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 22
  - [[-1, 6], 1, Concat, [1]] # 23 + layer 6
  - [-1, 2, C3k2, [1024, True]] # 24 output at stride 32
  - [[15, 18, 21, 24], 1, Detect, [nc]] # 25 boxes and classes from strides 4/8/16/32
"""),
    "v8": Head("yolov8", "", "YOLOv8 detector (C2f neck, v8 head)", NC + _scales(
        "YOLOv8", ("[0.33, 0.25, 1024]", "[0.33, 0.50, 1024]", "[0.67, 0.75, 768]", "[1.00, 1.00, 512]",
                   "[1.00, 1.25, 512]")), """\
  - [-1, 1, SPPF, [1024, 5]] # 5

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 6
  - [[-1, 3], 1, Concat, [1]] # 7  + layer 3 (stride 16)
  - [-1, 3, C2f, [512]] # 8
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 9
  - [[-1, 2], 1, Concat, [1]] # 10 + layer 2 (stride 8)
  - [-1, 3, C2f, [256]] # 11 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 12
  - [[-1, 8], 1, Concat, [1]] # 13 + layer 8
  - [-1, 3, C2f, [512]] # 14 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 15
  - [[-1, 5], 1, Concat, [1]] # 16 + layer 5
  - [-1, 3, C2f, [1024]] # 17 output at stride 32
  - [[11, 14, 17], 1, Detect, [nc]] # 18 boxes and classes from strides 8/16/32
"""),
    "yolo26": Head("yolo26", "", "YOLO26 detector (end-to-end, no NMS)",
                   'min_ultralytics: "8.4.0" # first release with YOLO26\'s layers; older ones fail with a clear '
                   "message\n" + NC + "end2end: True # one-to-one head: final boxes straight from the model\n"
                   "reg_max: 1 # plain box regression, no distribution bins\n" + _scales(
                       "YOLO26", ("[0.50, 0.25, 1024]", "[0.50, 0.50, 1024]", "[0.50, 1.00, 512]",
                                  "[1.00, 1.00, 512]", "[1.00, 1.50, 512]")), """\
  - [-1, 1, SPPF, [1024, 5, 3, True]] # 5 YOLO26 pooling: 3 poolings, residual where input and output widths match
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, True]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, True]] # 12 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 13
  - [[-1, 9], 1, Concat, [1]] # 14 + layer 9
  - [-1, 2, C3k2, [512, True]] # 15 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 16
  - [[-1, 6], 1, Concat, [1]] # 17 + layer 6
  - [-1, 1, C3k2, [1024, True, 0.5, True]] # 18 output at stride 32, with attention blocks
  - [[12, 15, 18], 1, Detect, [nc]] # 19 boxes and classes from strides 8/16/32
"""),
}


def _per_scale(models):
    return "{" + ", ".join(f"{scale}: {model}" for scale, model in models.items()) + "}"


def _short_scales(models, drop):
    return ", ".join(f"{scale} {model.removeprefix(drop)}" for scale, model in models.items())


def backbones():
    """Every shipped backbone and the heads it ships with."""
    repvit = _per_scale(SCALE_VARIANTS)
    repvit_scales = f"Backbone per scale: {_short_scales(SCALE_VARIANTS, 'repvit_')}."
    found = [(Backbone("repvit", "RepViT", f"[-1, 1, RepViT, [{repvit}, 1.0]]",
                       "0-4 RepViT variant by scale, width 1.0",
                       "a RepViT backbone chosen per scale, at full width (ImageNet-compatible)", repvit_scales),
              list(HEADS)),
             (Backbone("repvit-imagenet", "RepViT", f"[-1, 1, RepViT, [{repvit}, 1.0, True]]",
                       "0-4 RepViT by scale, width 1.0, ImageNet weights",
                       "an ImageNet-pretrained RepViT backbone chosen per scale (weights fetched by timm, m0_6 from "
                       "the authors' release, or read from $YOLO_REPVIT_WEIGHTS)", repvit_scales), ["detect"])]
    for v in VARIANTS.values():
        found.append((Backbone(f"repvit-{v.short}", "RepViT", f"[-1, 1, {v.name}, [1.0]]", f"0-4 RepViT {v.short}, "
                               "width 1.0", f"a RepViT-M{v.short[1:].replace('_', '.')} backbone at full width "
                               "(ImageNet-compatible)", "The scale letter sizes the head only."), ["detect"]))
    for family in SHIPPED:
        models = _per_scale(family.scale_models)
        scales = f"Backbone per scale: {_short_scales(family.scale_models, family.config + '_')}."
        found.append((Backbone(family.config, "Timm", f"[-1, 1, Timm, [{models}]]", f"0-4 timm {family.name} by scale",
                               f"a timm {family.name} backbone chosen per scale, from scratch", scales),
                      ["detect", "segment", "pose", "obb", "classify"]))
        found.append((Backbone(f"{family.config}-imagenet", "Timm", f"[-1, 1, Timm, [{models}, True]]",
                               f"0-4 timm {family.name} by scale, ImageNet weights",
                               f"an ImageNet-pretrained timm {family.name} backbone chosen per scale (weights fetched "
                               "by timm, or read from $YOLO_REPVIT_WEIGHTS)", scales), ["detect"]))
    return found


def file_name(backbone, head, scale=""):
    return f"{head.version}{scale}-{backbone.name}{head.suffix}.yaml"


def render(backbone, head):
    layer0 = "stem" if backbone.kind == "RepViT" else "timm's feature extractor"
    return (f"# yolo-repvit: {head.title} on {backbone.description}.\n"
            f"# Use as {file_name(backbone, head, 'n')} ... {file_name(backbone, head, 'x')}. {backbone.scale_note}\n"
            "# Generated by tests/test_configs.py from the backbone tables; edit there.\n\n"
            f"{head.params}\nbackbone:\n"
            f"  # [from, repeats, module, args]; the {backbone.kind} row is layers 0-4: {layer0}, then stride "
            f"4/8/16/32 maps\n  - {backbone.row} # {backbone.comment}\n{head.rows}")


def expected_files():
    return {file_name(b, HEADS[h]): render(b, HEADS[h]) for b, heads in backbones() for h in heads}


@pytest.mark.parametrize(("name", "text"), sorted(expected_files().items()))
def test_config_is_generated_from_the_tables(name, text):
    assert (CONFIG_DIR / name).read_text() == text, "run: python tests/test_configs.py"


def test_every_config_in_cfg_is_generated():
    assert set(p.name for p in CONFIG_DIR.glob("*.yaml")) - HAND_WRITTEN == set(expected_files())


def test_configs_command_lists_every_shipped_file():
    from conftest import run, script

    lines = run([script("yolo-repvit"), "configs"]).stdout.splitlines()
    split = next(i for i, line in enumerate(lines) if line.startswith("# training arguments"))
    assert [line for line in lines[:split] if not line.startswith("#")] == sorted(expected_files())
    assert lines[split + 1:] == sorted(HAND_WRITTEN)


if __name__ == "__main__":
    for stale in set(p.name for p in CONFIG_DIR.glob("*.yaml")) - HAND_WRITTEN - set(expected_files()):
        (CONFIG_DIR / stale).unlink()
    for name, text in expected_files().items():
        (CONFIG_DIR / name).write_text(text)
    sys.exit(0)
