"""Timm rows: every tested family builds, trains a step, fuses and exports; refused families say why;
weights load strictly and survive ultralytics' model construction.  No network: weight files are made
here from seeded timm models."""

import io

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from ultralytics.cfg import get_cfg
from ultralytics.nn.tasks import DetectionModel

from catalog import TIMM as SHIPPED
from conftest import fast_first, randomise_batchnorm, run, run_python, script, timm_row
from yolo_repvit import RepViTError
from yolo_repvit._timm_families import FAMILIES, REFUSED
from yolo_repvit._ultralytics import _allowed
from yolo_repvit.modules import DATA_CLASSES, TimmBackbone, TimmFeature

BATCHNORM = torch.nn.modules.batchnorm._BatchNorm


def build(model, *args, **top):
    return DetectionModel(timm_row(model, *args, **top), nc=3, verbose=False)


def timm_channels(name):
    """Channels of the last map of each of strides 4/8/16/32, as timm itself reports them; for a plain ViT (one
    stride), those of the feature pyramid on its last map: a quarter, half, all and all of its width."""
    import timm

    info = timm.create_model(name, features_only=True).feature_info
    last = {r: c for r, c in zip(info.reduction(), info.channels())}
    if len(last) == 1:
        width, = last.values()
        return [width // 4, width // 2, width, width]
    return [last[s] for s in (4, 8, 16, 32)]


def one_training_step(model):
    """Forward in training mode, ultralytics' detection loss, backward: what the trainer does per batch."""
    model.args = get_cfg()
    model.train()
    batch = {"img": torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)),
             "cls": torch.tensor([[0.0], [2.0]]), "bboxes": torch.tensor([[0.5, 0.5, 0.4, 0.3], [0.3, 0.6, 0.2, 0.2]]),
             "batch_idx": torch.tensor([0.0, 1.0])}
    loss, _ = model.loss(batch)
    loss.sum().backward()
    return loss


@pytest.mark.parametrize("family", fast_first(FAMILIES, keep=2, ids=[f.name for f in FAMILIES]))
def test_family_builds_trains_fuses_exports_and_pickles_safely(family, tmp_path):
    import onnxruntime

    model = build(family.tested)
    layers = model.model[:5]
    assert isinstance(layers[0], TimmBackbone) and [type(m) for m in layers[1:]] == [TimmFeature] * 4
    assert [m.f for m in layers] == [-1, 0, 0, 0, 0] and [m.stride for m in layers[1:]] == [4, 8, 16, 32]
    assert [m.out_channels for m in layers[1:]] == timm_channels(family.tested)
    assert model.stride.tolist() == [8.0, 16.0, 32.0]

    loss = one_training_step(model)
    assert torch.isfinite(loss).all()
    unread = "0.pyramid.to_stride4."  # a plain ViT's stride 4 branch: this head reads strides 8 to 32 only
    grads = [p.grad for n, p in layers.named_parameters() if p.requires_grad and not n.startswith(unread)]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)

    model.eval()
    randomise_batchnorm(model)
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(x)[0]
        model.fuse(verbose=False)
        after = model(x)[0]
    assert before.shape == (1, 4 + 3, 8 * 12 + 4 * 6 + 2 * 3)
    assert model.is_fused() and layers[0].fused
    assert (after - before).abs().max() <= 1e-4 * before.abs().max()

    exported = io.BytesIO()
    torch.onnx.export(model, x, exported, opset_version=18, dynamo=False)  # 18: ViTs' antialiased resize
    session = onnxruntime.InferenceSession(exported.getvalue(), providers=["CPUExecutionProvider"])
    onnx = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(onnx - after.numpy()).max() <= 1e-4 * np.abs(after.numpy()).max()

    torch.save({"model": model}, tmp_path / "fused.pt")
    refused = [name for name in pickled_beyond_upstream(tmp_path / "fused.pt") if _allowed(name) is None]
    assert refused == []  # restricted loading accepts it by the rule


UPSTREAM = ("torch.", "ultralytics.", "collections.", "builtins.", "numpy.", "pathlib.", "_codecs.")


def pickled_beyond_upstream(path):
    """The globals a checkpoint needs that neither torch nor ultralytics own."""
    return {name for name in torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
            if not name.startswith(UPSTREAM)}


def test_restricted_loading_rule_names_exactly_the_data_classes_checkpoints_hold(tmp_path):
    torch.save({"model": build("fastvit_t8")}, tmp_path / "model.pt")
    held = pickled_beyond_upstream(tmp_path / "model.pt")
    assert set(DATA_CLASSES) <= held
    modules = held - set(DATA_CLASSES)
    assert all(issubclass(_allowed(name), torch.nn.Module) for name in modules)
    assert {"timm.models._features.FeatureListNet", "yolo_repvit.modules.TimmBackbone"} <= modules


@pytest.mark.parametrize("family", REFUSED, ids=[f.name for f in REFUSED])
def test_refused_family_says_why(family):
    with pytest.raises(RepViTError, match=rf"^Timm row {family.tested}: (its feature maps are at strides|timm's model "
                                          r"does not run on a 64x96 input)"):
        build(family.tested)


def test_fused_layer_counts_as_fused_until_it_changes_again():
    plain, reparam = build("convnext_atto"), build("fastvit_t8")
    assert plain.model[0].fused  # LayerNorm only: nothing for fuse() to do, so nothing is redone on every call
    assert not reparam.model[0].fused
    reparam.eval().fuse(verbose=False)
    assert reparam.model[0].fused and reparam.is_fused()
    assert not any(p.requires_grad for p in reparam.model[0].parameters())  # for inference, like upstream's


def test_channels_last_models_give_channels_first_maps():
    model = build("swin_tiny_patch4_window7_224")  # timm computes Swin's maps channels-last, at any input size
    assert model.model[0].channels_last
    with torch.no_grad():
        maps = model.model[0].eval()(torch.zeros(1, 3, 64, 96))
    assert [tuple(m.shape) for m in maps] == [(1, 96, 16, 24), (1, 192, 8, 12), (1, 384, 4, 6), (1, 768, 2, 3)]


def test_from_scratch_every_batchnorm_class_gets_one_setting():
    model = build("mobilenetv4_conv_small")  # plain BatchNorm2d and timm's BatchNormAct2d side by side
    norms = [m for m in model.model[0].modules() if isinstance(m, BATCHNORM)]
    assert {type(m).__name__ for m in norms} == {"BatchNorm2d", "BatchNormAct2d"}
    assert {(m.momentum, m.eps) for m in norms} == {(0.03, 1e-3)}


def test_timm_kwargs_reach_the_model():
    model = build("convnext_atto", False, {"drop_path_rate": 0.1})
    rates = [m.drop_prob for m in model.model[0].modules() if type(m).__name__ == "DropPath"]
    assert rates and max(rates) == pytest.approx(0.1)


def imagenet_like(name, seed=0):
    """A whole timm classifier with seeded weights and non-trivial BatchNorm statistics: what a hub file holds."""
    import timm

    torch.manual_seed(seed)
    net = timm.create_model(name).eval()
    randomise_batchnorm(net, seed)
    return net


def save(net, path):
    state = net.state_dict()
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


def timm_features(name, path, **kwargs):
    """timm's own feature extractor loaded from ``path`` by timm: the reference our loading must match."""
    import timm

    return timm.create_model(name, features_only=True, pretrained=True, pretrained_cfg_overlay={"file": str(path)},
                             **kwargs).eval()


@pytest.mark.parametrize(("name", "suffix"), fast_first(
    [(name, suffix) for name in ["mobilenetv4_conv_small", "fastvit_t8", "convnext_atto",
                                 "swin_tiny_patch4_window7_224"] for suffix in [".pth", ".safetensors"]],
    keep=2, ids=lambda cases: [f"{n}-{s}" for n, s in cases]))
def test_weights_load_strictly_and_survive_model_construction(name, suffix, tmp_path):
    path = save(imagenet_like(name), tmp_path / f"weights{suffix}")
    model = build(name, str(path)).eval()
    layer = model.model[0]
    reference = timm_features(name, path, **({"dynamic_img_size": True} if layer.channels_last else {}))
    ours = model.model[0].body.state_dict()
    theirs = reference.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)  # weights and statistics, bit for bit
    norms = [(a, b) for a, b in zip(model.model[0].body.modules(), reference.modules()) if isinstance(a, BATCHNORM)]
    assert all(a.eps == b.eps for a, b in norms)  # as timm builds it, not ultralytics' 1e-3
    assert {a.momentum for a, _ in norms} <= {0.03}  # one momentum for every class
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = layer(x), [reference(x)[i] for i in layer.taps]
    for a, b in zip(ours, theirs):
        b = b.permute(0, 3, 1, 2) if layer.channels_last else b
        assert (a - b).abs().max() < 1e-5


def test_tag_loads_from_the_offline_folder(tmp_path, monkeypatch):
    net = imagenet_like("convnext_atto", seed=3)
    save(net, tmp_path / "convnext_atto.d2_in1k.safetensors")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    for args in (["convnext_atto", True], ["convnext_atto.d2_in1k", True], ["convnext_atto", "d2_in1k"]):
        stem = build(*args).model[0].body.stem_0
        assert torch.equal(stem.weight, net.stem[0].weight), args


@pytest.mark.slow  # the RepViT row's twin runs in the fast tests (tests/test_pretrained.py)
def test_true_while_offline_says_how_to_supply_the_file(tmp_path):
    out = run_python(f"""
        import yolo_repvit
        from ultralytics.nn.tasks import DetectionModel
        try:
            DetectionModel({timm_row("convnext_atto", True)!r}, verbose=False)
        except yolo_repvit.RepViTError as error:
            print(error)
    """, env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "YOLO_REPVIT_WEIGHTS": ""})  # empty hub cache
    message = out.strip().splitlines()[-1]
    assert message.startswith("Timm row convnext_atto: could not download pretrained weights d2_in1k from the Hugging "
                              "Face hub repository of timm's convnext_atto.d2_in1k (")
    assert message.endswith("To work offline, put the file in a folder and set YOLO_REPVIT_WEIGHTS to it (names "
                            "looked for: convnext_atto.d2_in1k.safetensors, convnext_atto.d2_in1k.pth), or give its "
                            "path as the row's second argument.")


def test_weights_of_a_truncated_file_are_refused(tmp_path):
    path = save(imagenet_like("fastvit_t8"), tmp_path / "weights.pth")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(RepViTError, match=r"it is not a complete PyTorch or safetensors file"):
        build("fastvit_t8", str(path))


@pytest.mark.slow
def test_backbones_command_checks_names_without_downloading(tmp_path):
    done = run([script("yolo-repvit"), "backbones", "convnext_atto", "vit_tiny_patch16_224", "levit_128s"], expect=1,
               env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert done.stdout.splitlines() == [
        "convnext_atto", "  row: [-1, 1, Timm, [convnext_atto]]",
        "  strides 4/8/16/32, channels 40/80/160/320; nothing for fuse() to reparameterize; weight tags: d2_in1k",
        "vit_tiny_patch16_224", "  row: [-1, 1, Timm, [vit_tiny_patch16_224]]",
        "  strides 4/8/16/32 (a feature pyramid on the ViT's patch-16 map), channels 48/96/192/192; nothing for "
        "fuse() to reparameterize; weight tags: augreg_in21k_ft_in1k, augreg_in21k",
        "levit_128s",
        "  refused: Timm row levit_128s: its feature maps are at strides 16/32/64, but a backbone row needs one at "
        "each of 4, 8, 16 and 32 (missing 4, 8), or a single map (a plain ViT, which gets a feature pyramid). Models "
        "that downsample by 16 and then further (LeViT, SHViT) can be neither; pick a hierarchical model, e.g. "
        "convnext_atto or mobilenetv4_conv_small, or a plain ViT."]


@pytest.mark.slow
def test_backbones_command_lists_every_family_the_tests_cover():
    out = run([script("yolo-repvit"), "backbones"]).stdout
    headings = [line for line in out.splitlines() if line and not line.startswith(("#", " "))]
    assert [h.split(" (")[0] for h in headings] == ["repvit_m0_6", *(f.tested for f in FAMILIES + REFUSED)]
    assert out.count("  refused: ") == len(REFUSED) and "fuse() reparameterizes it" in out


# The first output of each task head at 64x64 with 80 classes (1000 to classify): 8x8 + 4x4 + 2x2 = 84 anchors.
TASK_OUTPUTS = {"": (1, 4 + 80, 84), "-seg": (1, 4 + 80 + 32, 84), "-pose": (1, 4 + 80 + 17 * 3, 84),
                "-obb": (1, 4 + 80 + 1, 84), "-cls": (1, 1000)}


@pytest.mark.parametrize(("family", "suffix"), fast_first(
    [(family, suffix) for family in SHIPPED for suffix in TASK_OUTPUTS], keep=len(TASK_OUTPUTS),
    ids=lambda cases: [f"{family.config}{suffix}" for family, suffix in cases]))
def test_shipped_timm_configs_build_for_every_task(family, suffix, tmp_path, monkeypatch):
    from ultralytics import YOLO

    monkeypatch.chdir(tmp_path)  # found by bare name
    model = YOLO(f"yolo11n-{family.config}{suffix}.yaml")
    assert model.model.model[0].model == family.by_scale["n"]
    with torch.no_grad():
        out = model.model.eval()(torch.zeros(1, 3, 64, 64))
    while isinstance(out, (list, tuple)):  # predictions come first, however a release nests the rest
        out = out[0]
    assert tuple(out.shape) == TASK_OUTPUTS[suffix]


@pytest.mark.parametrize("args", [("repvit_m0_9", 0.5), ("Timm", "fastvit_t8")], ids=["RepViT", "Timm"])
def test_public_backbone_returns_the_four_maps_and_fuses(args):
    import yolo_repvit

    net = yolo_repvit.backbone(*args).eval()
    randomise_batchnorm(net)
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        maps = net(x)
        fused = net.fuse()(x)
    assert net.strides == (4, 8, 16, 32)
    assert [tuple(m.shape) for m in maps] == [(2, c, 64 // s, 96 // s) for c, s in zip(net.channels, net.strides)]
    assert all((a - b).abs().max() <= 1e-4 * a.abs().max() for a, b in zip(maps, fused))
