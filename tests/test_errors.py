"""Every bad input a user can give gets our error with the row, the bad value, the choices and the fix.

These cases are also the documentation: ``tools/generate.py`` writes ``docs/errors.md`` from them, and
``test_error_list_in_docs_is_current`` keeps the two identical.
"""

import argparse
import copy

import pytest
import torch

from conftest import recipe, timm_row

VALID = ("repvit_m0_6, repvit_m0_9, repvit_m1_0, repvit_m1_1, repvit_m1_5, repvit_m2_3, repvit_m1, repvit_m2, "
         "repvit_m3")
WIDTH = ("is not a number from 0.1 to 4.0. It scales every stage width (0.25, 0.5, 1.0, 1.5 in the recipe); "
         "ImageNet weights need 1.0.")
HIERARCHICAL = (", or a single map (a plain ViT, which gets a feature pyramid). Models that downsample by 16 and then "
                "further (LeViT, SHViT) can be neither; pick a hierarchical model, e.g. convnext_atto or "
                "mobilenetv4_conv_small, or a plain ViT.")
SPPF, C2PSA = [-1, 1, "SPPF", [1024, 5]], [-1, 2, "C2PSA", [1024]]
M09 = [-1, 1, "repvit_m0_9", [1.0]]

CASES = [  # (what the user wrote, model dict, the exact message)
    ("misspelt variant", recipe([-1, 1, "repvit_m09", [0.5]]),
     f"model row [-1, 1, repvit_m09, [0.5]]: unknown RepViT variant 'repvit_m09'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("variant written with a dot", recipe([-1, 1, "repvit_m0.9", [0.5]]),
     f"model row [-1, 1, repvit_m0.9, [0.5]]: unknown RepViT variant 'repvit_m0.9'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("variant that does not exist", recipe([-1, 1, "repvit_m9", [1.0]]),
     f"model row [-1, 1, repvit_m9, [1.0]]: unknown RepViT variant 'repvit_m9'. Did you mean 'repvit_m0_9'? "
     f"Valid variants: {VALID}."),
    ("RepViT row without a variant", recipe([-1, 1, "RepViT", []]),
     f"model row [-1, 1, RepViT, []]: RepViT needs the variant as first argument, e.g. [-1, 1, RepViT, "
     f"[repvit_m0_9]]. Valid variants: {VALID}."),
    ("scale missing from a per-scale mapping", recipe([-1, 1, "RepViT", [{"n": "repvit_m0_6"}]], scale="s"),
     "model row [-1, 1, RepViT, [{'n': 'repvit_m0_6'}]]: no RepViT variant listed for scale 's'; this row lists "
     "scales n. Add 's: <variant>' to the mapping or pick a listed scale by the file name (e.g. yolo11s-...yaml)."),
    ("width factor zero", recipe([-1, 1, "repvit_m0_9", [0]]),
     f"model row [-1, 1, repvit_m0_9, [0]]: width factor 0 {WIDTH}"),
    ("negative width factor", recipe([-1, 1, "repvit_m0_9", [-0.5]]),
     f"model row [-1, 1, repvit_m0_9, [-0.5]]: width factor -0.5 {WIDTH}"),
    ("width factor that is not a number", recipe([-1, 1, "repvit_m0_9", ["half"]]),
     f"model row [-1, 1, repvit_m0_9, ['half']]: width factor 'half' {WIDTH}"),
    ("absurd width factor", recipe([-1, 1, "repvit_m0_9", [100]]),
     f"model row [-1, 1, repvit_m0_9, [100]]: width factor 100 {WIDTH}"),
    ("pretrained neither boolean, tag nor path", recipe([-1, 1, "repvit_m0_9", [1.0, 3]]),
     "model row [-1, 1, repvit_m0_9, [1.0, 3]]: pretrained is 3; use False, True (the default ImageNet weights), "
     "a weight tag such as dist_450e_in1k, or a path to a .pth/.safetensors file."),
    ("too many arguments", recipe([-1, 1, "repvit_m0_9", [1.0, False, {}, 2]]),
     "model row [-1, 1, repvit_m0_9, [1.0, False, {}, 2]]: 4 arguments given; a RepViT row takes at most three, "
     "[width, pretrained, options], e.g. [1.0, True, {lr_scale: 0.1}]."),
    ("options that are no mapping", recipe([-1, 1, "repvit_m0_9", [1.0, False, 2]]),
     "model row [-1, 1, repvit_m0_9, [1.0, False, 2]]: the third argument is 2; it must be a mapping of options "
     "(depth, act, lr_scale, freeze_epochs), e.g. {lr_scale: 0.1}."),
    ("depth factor zero", recipe([-1, 1, "repvit_m0_9", [1.0, False, {"depth": 0}]]),
     "model row [-1, 1, repvit_m0_9, [1.0, False, {'depth': 0}]]: depth factor 0 is not a number from 0.1 to 4.0. "
     "It scales the blocks of every stage, rounded up, at least one (0.5 halves them); ImageNet weights need 1.0."),
    ("activation RepViT rows lack", recipe([-1, 1, "repvit_m0_9", [1.0, False, {"act": "swish"}]]),
     "model row [-1, 1, repvit_m0_9, [1.0, False, {'act': 'swish'}]]: activation 'swish' is not one a RepViT row "
     "takes; use one of gelu, relu (gelu, RepViT's own, is the default; ImageNet weights need it)."),
    ("backbone learning rate of zero", timm_row("convnext_atto", False, {"lr_scale": 0}),
     "model row [-1, 1, Timm, ['convnext_atto', False, {'lr_scale': 0}]]: lr_scale is 0; it must be a number above 0 "
     "(1.0 trains the backbone at the head's rate, 0.1 at a tenth). To hold the backbone, use freeze_epochs or "
     "ultralytics' freeze=5."),
    ("RepViT row reading another layer", recipe([0, 1, "repvit_m0_9", [1.0]]),
     "model row [0, 1, repvit_m0_9, [1.0]]: 'from' is 0, but a RepViT row reads the input image; use -1."),
    ("RepViT row repeated", recipe([-1, 3, "repvit_m0_9", [1.0]]),
     "model row [-1, 3, repvit_m0_9, [1.0]]: repeats is 3, but a RepViT row is built once; use 1 (choose a deeper "
     "variant instead)."),
    ("RepViT row that is not the first", recipe(backbone=[[-1, 1, "Conv", [16, 3, 2]], M09, SPPF, C2PSA]),
     "model row [-1, 1, repvit_m0_9, [1.0]] (YAML row 1): a RepViT row must be the first row of 'backbone:' and "
     "appear once; it stands for layers 0-4. Remove the extra row or move it to the top."),
    ("two RepViT rows", recipe(backbone=[M09, M09, SPPF, C2PSA]),
     "model row [-1, 1, repvit_m0_9, [1.0]] (YAML row 1): a RepViT row must be the first row of 'backbone:' and "
     "appear once; it stands for layers 0-4. Remove the extra row or move it to the top."),
    ("head reading the RepViT row itself (layer 0)", recipe(head={1: [[-1, 0], 1, "Concat", [1]]}),
     "model row [[-1, 0], 1, Concat, [1]] (layer 8): reads layer 0, the RepViT stem. Layers 1-4 are the stride "
     "4/8/16/32 feature maps; point 'from' at one of those (e.g. 2 for P3/8, 3 for P4/16, 4 for P5/32)."),
    ("head reading a layer that does not exist", recipe(head={1: [[-1, 30], 1, "Concat", [1]]}),
     "model row [[-1, 30], 1, Concat, [1]] (layer 8): 'from' 30 is not an earlier layer; use an index from 1 to 7, "
     "or -1 for the previous layer."),
    ("head tapping the wrong RepViT stage", recipe(head={1: [[-1, 2], 1, "Concat", [1]]}),
     "model row [[-1, 2], 1, Concat, [1]] (layer 8) cannot join its inputs (layer 7: stride 16, layer 2: stride 8): "
     "they must share one stride. RepViT layers 1-4 are at stride 4/8/16/32, so a YOLO11 head reads 2 for P3/8, "
     "3 for P4/16 and 4 for P5/32."),
    ("ImageNet weights at another width", recipe([-1, 1, "repvit_m0_9", [0.5, True]]),
     "repvit_m0_9 row: ImageNet weights exist for width 1.0 only, but the row asks for width 0.5 with "
     "pretrained=True. Use [1.0, True], or train width 0.5 from scratch with [0.5]."),
    ("ImageNet weights for a reshaped RepViT", recipe([-1, 1, "repvit_m0_9", [1.0, True, {"act": "relu"}]]),
     "repvit_m0_9 row: ImageNet weights exist for RepViT's own blocks only (depth 1.0, act gelu), but the row asks "
     "for act: relu with pretrained=True. Leave act out to load them, or train this shape from scratch (pretrained "
     "False)."),
    ("ImageNet weights with ch: 4", recipe([-1, 1, "repvit_m0_9", [1.0, True]], ch=4),
     "repvit_m0_9 row: pretrained weights expect 3 input channels, but the model has ch: 4. Use 3 channels, or train "
     "from scratch (pretrained False)."),
    ("config for a newer ultralytics", recipe(M09, min_ultralytics="99.0.0"),
     "this config needs ultralytics>=99.0.0 (it uses layers or options older releases lack), but ultralytics "
     "{ultralytics} is installed. Upgrade: pip install -U 'ultralytics>=99.0.0', or pick a config without this "
     "requirement."),
    ("Timm row without a model name", recipe([-1, 1, "Timm", []]),
     "model row [-1, 1, Timm, []]: Timm needs a timm model name as first argument, e.g. [-1, 1, Timm, "
     "[mobilenetv4_conv_small, True]]."),
    ("timm model name that is not a name", timm_row(3),
     "model row [-1, 1, Timm, [3]]: the timm model name is 3; give a name such as mobilenetv4_conv_small (optionally "
     "with a weight tag: convnext_atto.d2_in1k), e.g. [-1, 1, Timm, [mobilenetv4_conv_small, True]]."),
    ("unknown timm model", timm_row("convnext_atoo"),
     "Timm row convnext_atoo: timm {timm} has no model 'convnext_atoo'. Close matches: convnext_atto, "
     "convnext_atto_ols, convnextv2_atto, convnext_nano, convnext_femto. A model newer than this timm needs a newer "
     "one (pip install -U timm); `yolo-repvit backbones` lists the families the tests cover, and `yolo-repvit "
     "backbones NAME` checks any name."),
    ("RepViT model in a Timm row", timm_row("repvit_m0_9", True),
     "model row [-1, 1, Timm, ['repvit_m0_9', True]]: repvit_m0_9 is a RepViT model, which has its own row with "
     "RepViT's variants, widths and weight files: write [-1, 1, repvit_m0_9, [1.0, True]] instead of a Timm row."),
    ("unknown weight tag in the model name", timm_row("convnext_atto.in22k"),
     "Timm row convnext_atto: there are no weights convnext_atto.in22k; its tags are d2_in1k (the first is what "
     "True loads). Give True, one of those tags, or the path of a weight file."),
    ("unknown weight tag as pretrained", timm_row("convnext_atto", "in22k"),
     "Timm row convnext_atto: there are no weights convnext_atto.in22k and no file 'in22k' (looked for {cwd}/in22k); "
     "its tags are d2_in1k (the first is what True loads). Give True, one of those tags, or the path of a weight "
     "file."),
    ("two different weight tags", timm_row("convnext_atto.d2_in1k", "fb_in1k"),
     "model row [-1, 1, Timm, ['convnext_atto.d2_in1k', 'fb_in1k']]: the model name carries weight tag 'd2_in1k' but "
     "pretrained asks for 'fb_in1k'; give the tag once: [convnext_atto.d2_in1k, True] or [convnext_atto, fb_in1k]."),
    ("ImageNet weights of a model timm has none for", timm_row("starnet_s050", True),
     "Timm row starnet_s050: there are no pretrained weights for starnet_s050; train it from scratch (pretrained "
     "False) or give the path of a weight file."),
    ("weight file that does not exist", timm_row("convnext_atto", "weights/convnext.pth"),
     "Timm row convnext_atto: weight file 'weights/convnext.pth' not found (looked for {cwd}/weights/convnext.pth). "
     "Give the path of an existing .pth/.safetensors file, or put it in a folder and set YOLO_REPVIT_WEIGHTS to that "
     "folder."),
    ("timm arguments that are not a mapping", timm_row("convnext_atto", False, [0.1]),
     "model row [-1, 1, Timm, ['convnext_atto', False, [0.1]]]: the third argument is [0.1]; it must be a mapping of "
     "timm.create_model arguments, e.g. {drop_path_rate: 0.1}."),
    ("timm argument the row decides", timm_row("convnext_atto", False, {"features_only": False}),
     "model row [-1, 1, Timm, ['convnext_atto', False, {'features_only': False}]]: timm argument 'features_only' "
     "cannot be set in a Timm row: the row always builds timm's feature extractor."),
    ("timm argument the model does not take", timm_row("convnext_atto", False, {"drop_rat": 0.1}),
     "Timm row convnext_atto: timm cannot build it with {'drop_rat': 0.1} (ConvNeXt.__init__() got an unexpected "
     "keyword argument 'drop_rat'). The third argument of a Timm row goes to timm.create_model, which passes it on "
     "to the model's class: use argument names that class takes."),
    ("too many Timm arguments", timm_row("convnext_atto", False, {}, 1),
     "model row [-1, 1, Timm, ['convnext_atto', False, {}, 1]]: 4 arguments given; a Timm row takes at most three, "
     "[model name, pretrained, timm arguments], e.g. [convnext_atto, True, {drop_path_rate: 0.1}]."),
    ("LeViT: no stride 4 or 8 map", timm_row("levit_128s"),
     f"Timm row levit_128s: its feature maps are at strides 16/32/64, but a backbone row needs one at each of 4, 8, "
     f"16 and 32 (missing 4, 8){HIERARCHICAL}"),
    ("SHViT: no stride 4 or 8 map", timm_row("shvit_s1"),
     f"Timm row shvit_s1: its feature maps are at strides 16/32/64, but a backbone row needs one at each of 4, 8, "
     f"16 and 32 (missing 4, 8){HIERARCHICAL}"),
    ("model that runs at one input size only", timm_row("efficientformerv2_s0"),
     "Timm row efficientformerv2_s0: timm's model does not run on a 64x96 input (RuntimeError: shape '[1, 8, -1, 49]' "
     "is invalid for input of size 1536). YOLO trains and predicts at any multiple of 32, so models that need one "
     "fixed input size (and offer no dynamic_img_size in timm) cannot be a backbone; pick another model."),
    ("Timm ImageNet weights with ch: 4", timm_row("convnext_atto", True, ch=4),
     "Timm row convnext_atto: pretrained weights expect 3 input channels, but the model has ch: 4. Use 3 channels, or "
     "train from scratch (pretrained False)."),
    ("head reading the Timm row itself (layer 0)", timm_row("convnext_atto", head={1: [[-1, 0], 1, "Concat", [1]]}),
     "model row [[-1, 0], 1, Concat, [1]] (layer 8): reads layer 0, the Timm backbone itself (all four maps at once). "
     "Layers 1-4 are the stride 4/8/16/32 feature maps; point 'from' at one of those (e.g. 2 for P3/8, 3 for P4/16, 4 "
     "for P5/32)."),
    ("head tapping the wrong Timm map", timm_row("convnext_atto", head={1: [[-1, 2], 1, "Concat", [1]]}),
     "model row [[-1, 2], 1, Concat, [1]] (layer 8) cannot join its inputs (layer 7: stride 16, layer 2: stride 8): "
     "they must share one stride. Timm layers 1-4 are at stride 4/8/16/32, so a YOLO11 head reads 2 for P3/8, 3 for "
     "P4/16 and 4 for P5/32."),
]


def write_web_page(path):
    path.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>\n")


def write_checkpoint_with_objects(path):
    torch.save({"model": {"stem.weight": torch.zeros(1)}, "args": argparse.Namespace(lr=0.1)}, path)


def write_other_model(path):
    import timm

    torch.save(timm.create_model("convnext_femto").state_dict(), path)


def write_deeper_model(path):
    import timm

    torch.save(timm.create_model("resnet34").state_dict(), path)


# Weight files: (what, how the file is made, the row given its path, the exact message with {path} for the file).
WEIGHT_CASES = [
    ("web page saved as a weight file", write_web_page, lambda path: recipe([-1, 1, "repvit_m0_9", [1.0, path]]),
     "cannot read weight file {path} (it starts with b'<!DOCTYPE html><'): it is not a complete PyTorch or "
     "safetensors file, e.g. a truncated download or a web page saved under the file's name. Download it again."),
    ("checkpoint holding Python objects", write_checkpoint_with_objects,
     lambda path: recipe([-1, 1, "repvit_m0_9", [1.0, path]]),
     "{path} is a PyTorch checkpoint that holds Python objects besides tensors, which are not loaded: unpickling them "
     "could run code. If you trust where the file comes from, save just its weights once and use that file: "
     "torch.save(torch.load(path, weights_only=False)['model'].state_dict(), 'weights.pth') (or ['state_dict'], "
     "whichever entry it has)."),
    ("weights of another timm model", write_other_model, lambda path: timm_row("convnext_atto", path),
     "{path} does not fit timm's convnext_atto: 0 missing, 0 unexpected and 124 wrong-shaped tensors (e.g. "
     "stem_0.weight (file (48, 3, 4, 4), model (40, 3, 4, 4)), stem_0.bias (file (48,), model (40,)), stem_1.weight "
     "(file (48,), model (40,)), ...). Is it a checkpoint of timm's convnext_atto (timm's layout, e.g. downloaded "
     "from the hub or saved with timm.create_model(...).state_dict())? Files of another model, size or depth do not "
     "fit."),
    ("weights of a deeper model with the same widths", write_deeper_model, lambda path: timm_row("resnet18", path),
     "{path} does not fit timm's resnet18: 0 missing, 96 unexpected and 0 wrong-shaped tensors (e.g. "
     "layer1.2.conv1.weight, layer1.2.bn1.weight, layer1.2.bn1.bias, ...). Is it a checkpoint of timm's resnet18 "
     "(timm's layout, e.g. downloaded from the hub or saved with timm.create_model(...).state_dict())? Files of "
     "another model, size or depth do not fit."),
]


def fill(message, **values):
    """The message with its ``{name}`` placeholders replaced (other braces are the message's own)."""
    for name, value in values.items():
        message = message.replace(f"{{{name}}}", str(value))
    return message


def expected(message, **where):
    import timm
    import ultralytics

    return fill(message, ultralytics=ultralytics.__version__, timm=timm.__version__, **where)


def build_error(d):
    from ultralytics.nn.tasks import DetectionModel

    from yolo_repvit import RepViTError

    with pytest.raises(RepViTError) as info:
        DetectionModel(copy.deepcopy(d), ch=d.get("ch", 3), verbose=False)
    return str(info.value)


@pytest.mark.parametrize(("what", "d", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_its_message(what, d, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert build_error(d) == expected(message, cwd=tmp_path)


@pytest.mark.parametrize(("what", "write", "model", "message"), WEIGHT_CASES, ids=[c[0] for c in WEIGHT_CASES])
def test_bad_weight_file_gets_its_message(what, write, model, message, tmp_path):
    path = tmp_path / "weights.pth"
    write(path)
    assert build_error(model(str(path))) == expected(message, path=path)


def test_error_list_in_docs_is_current():
    from generate import ERRORS, errors_doc

    assert ERRORS.read_text() == errors_doc(), "run: python tools/generate.py"
