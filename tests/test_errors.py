"""Every bad input a user can give gets our error with the row, the bad value, the choices and the fix.

This table is also the documentation: ``python tests/test_errors.py`` writes ``docs/errors.md`` from it,
and ``test_error_table_in_docs_is_current`` keeps the two identical.
"""

import copy
import sys
from pathlib import Path

import pytest

from conftest import RECIPE
from yolo_repvit.spec import show_row

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
VALID = ("repvit_m0_6, repvit_m0_9, repvit_m1_0, repvit_m1_1, repvit_m1_5, repvit_m2_3, repvit_m1, repvit_m2, "
         "repvit_m3")
WIDTH = ("is not a number from 0.1 to 4.0. It scales every stage width (0.25, 0.5, 1.0, 1.5 in the recipe); "
         "ImageNet weights need 1.0.")


def first_row(row):
    d = copy.deepcopy(RECIPE)
    d["backbone"][0] = row
    return d


def with_rows(backbone=None, head=None, **top):
    d = copy.deepcopy(RECIPE)
    if backbone is not None:
        d["backbone"] = backbone
    for index, row in (head or {}).items():
        d["head"][index] = row
    return {**d, **top}


SPPF, C2PSA = [-1, 1, "SPPF", [1024, 5]], [-1, 2, "C2PSA", [1024]]
M09 = [-1, 1, "repvit_m0_9", [1.0]]

CASES = [  # (what the user wrote, model dict, the exact message)
    ("misspelt variant", first_row([-1, 1, "repvit_m09", [0.5]]),
     f"model row [-1, 1, repvit_m09, [0.5]]: unknown RepViT variant 'repvit_m09'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("variant written with a dot", first_row([-1, 1, "repvit_m0.9", [0.5]]),
     f"model row [-1, 1, repvit_m0.9, [0.5]]: unknown RepViT variant 'repvit_m0.9'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("variant that does not exist", first_row([-1, 1, "repvit_m9", [1.0]]),
     f"model row [-1, 1, repvit_m9, [1.0]]: unknown RepViT variant 'repvit_m9'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("RepViT row without a variant", first_row([-1, 1, "RepViT", []]),
     f"model row [-1, 1, RepViT, []]: RepViT needs the variant as first argument, e.g. [-1, 1, RepViT, "
     f"[repvit_m0_9]]. Valid variants: {VALID}."),
    ("scale missing from a per-scale mapping", {**first_row([-1, 1, "RepViT", [{"n": "repvit_m0_6"}]]), "scale": "s"},
     "model row [-1, 1, RepViT, [{'n': 'repvit_m0_6'}]]: no RepViT variant listed for scale 's'; this row lists "
     "scales n. Add 's: <variant>' to the mapping or pick a listed scale by the file name (e.g. yolo11s-...yaml)."),
    ("width factor zero", first_row([-1, 1, "repvit_m0_9", [0]]),
     f"model row [-1, 1, repvit_m0_9, [0]]: width factor 0 {WIDTH}"),
    ("negative width factor", first_row([-1, 1, "repvit_m0_9", [-0.5]]),
     f"model row [-1, 1, repvit_m0_9, [-0.5]]: width factor -0.5 {WIDTH}"),
    ("width factor that is not a number", first_row([-1, 1, "repvit_m0_9", ["half"]]),
     f"model row [-1, 1, repvit_m0_9, ['half']]: width factor 'half' {WIDTH}"),
    ("absurd width factor", first_row([-1, 1, "repvit_m0_9", [100]]),
     f"model row [-1, 1, repvit_m0_9, [100]]: width factor 100 {WIDTH}"),
    ("pretrained neither boolean, tag nor path", first_row([-1, 1, "repvit_m0_9", [1.0, 3]]),
     "model row [-1, 1, repvit_m0_9, [1.0, 3]]: pretrained is 3; use False, True (timm's default ImageNet weights), "
     "a weight tag such as dist_450e_in1k, or a path to a .pth/.safetensors file."),
    ("too many arguments", first_row([-1, 1, "repvit_m0_9", [1.0, False, 2]]),
     "model row [-1, 1, repvit_m0_9, [1.0, False, 2]]: 3 arguments given; a RepViT row takes at most two, "
     "[width, pretrained], e.g. [1.0, True]."),
    ("RepViT row reading another layer", first_row([0, 1, "repvit_m0_9", [1.0]]),
     "model row [0, 1, repvit_m0_9, [1.0]]: 'from' is 0, but a RepViT row reads the input image; use -1."),
    ("RepViT row repeated", first_row([-1, 3, "repvit_m0_9", [1.0]]),
     "model row [-1, 3, repvit_m0_9, [1.0]]: repeats is 3, but a RepViT row is built once; use 1 (choose a deeper "
     "variant instead)."),
    ("RepViT row that is not the first", with_rows(backbone=[[-1, 1, "Conv", [16, 3, 2]], M09, SPPF, C2PSA]),
     "model row [-1, 1, repvit_m0_9, [1.0]] (YAML row 1): a RepViT row must be the first row of 'backbone:' and "
     "appear once; it stands for layers 0-4. Remove the extra row or move it to the top."),
    ("two RepViT rows", with_rows(backbone=[M09, M09, SPPF, C2PSA]),
     "model row [-1, 1, repvit_m0_9, [1.0]] (YAML row 1): a RepViT row must be the first row of 'backbone:' and "
     "appear once; it stands for layers 0-4. Remove the extra row or move it to the top."),
    ("head reading the RepViT row itself (layer 0)", with_rows(head={1: [[-1, 0], 1, "Concat", [1]]}),
     "model row [[-1, 0], 1, Concat, [1]] (layer 8): reads layer 0, the RepViT stem. Layers 1-4 are the stride "
     "4/8/16/32 feature maps; point 'from' at one of those (e.g. 2 for P3/8, 3 for P4/16, 4 for P5/32)."),
    ("head reading a layer that does not exist", with_rows(head={1: [[-1, 30], 1, "Concat", [1]]}),
     "model row [[-1, 30], 1, Concat, [1]] (layer 8): 'from' 30 is not an earlier layer; use an index from 1 to 7, "
     "or -1 for the previous layer."),
    ("head tapping the wrong RepViT stage", with_rows(head={1: [[-1, 2], 1, "Concat", [1]]}),
     "model row [[-1, 2], 1, Concat, [1]] (layer 8) cannot join its inputs (layer 7: stride 16, layer 2: stride 8): "
     "they must share one stride. RepViT layers 1-4 are at stride 4/8/16/32, so a YOLO11 head reads 2 for P3/8, "
     "3 for P4/16 and 4 for P5/32."),
    ("ImageNet weights at another width", first_row([-1, 1, "repvit_m0_9", [0.5, True]]),
     "repvit_m0_9 row: ImageNet weights exist for width 1.0 only, but the row asks for width 0.5 with "
     "pretrained=True. Use [1.0, True], or train width 0.5 from scratch with [0.5]."),
    ("ImageNet weights with ch: 4", {**first_row([-1, 1, "repvit_m0_9", [1.0, True]]), "ch": 4},
     "repvit_m0_9 row: ImageNet weights expect 3 input channels, but the model has ch: 4. Use 3 channels, or train "
     "from scratch (pretrained False)."),
    ("config for a newer ultralytics", {**first_row(M09), "min_ultralytics": "99.0.0"},
     "this config needs ultralytics>=99.0.0 (it uses layers or options older releases lack), but ultralytics "
     "{ultralytics} is installed. Upgrade: pip install -U 'ultralytics>=99.0.0', or pick a config without this "
     "requirement."),
]


def expected(message):
    import ultralytics

    return message.replace("{ultralytics}", ultralytics.__version__)


@pytest.mark.parametrize(("what", "d", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_its_message(what, d, message):
    from ultralytics.nn.tasks import DetectionModel

    from yolo_repvit import RepViTError

    with pytest.raises(RepViTError) as info:
        DetectionModel(copy.deepcopy(d), ch=d.get("ch", 3), verbose=False)
    assert str(info.value) == expected(message)


def render():
    lines = ["# Bad inputs and the errors they get", "",
             "Generated from `tests/test_errors.py` (`python tests/test_errors.py`), whose tests check every message.",
             "All are `yolo_repvit.RepViTError` (a `ValueError`), raised while the model is built.", "",
             "| input | model row / setting | message |", "|---|---|---|"]
    for what, d, message in CASES:
        rows = d["backbone"][:2] if what.startswith(("RepViT row that", "two")) else [d["backbone"][0]]
        shown = "<br>".join(f"`{show_row(row)}`" for row in rows)
        changed = [f"`{k}: {d[k]}`" for k in ("scale", "ch", "min_ultralytics") if k in d and k not in RECIPE]
        heads = [f"`{show_row(row)}`" for row, original in zip(d["head"], RECIPE["head"]) if row != original]
        where = "<br>".join([shown, *changed, *heads])
        lines.append(f"| {what} | {where} | {message.replace('{ultralytics}', '<installed>')} |")
    return "\n".join(lines) + "\n"


def test_error_table_in_docs_is_current():
    assert DOCS.read_text() == render(), "run: python tests/test_errors.py"


if __name__ == "__main__":
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(render())
    sys.exit(0)
