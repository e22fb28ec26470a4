"""Every variant builds as an ordinary ultralytics layer graph, in the recipe's row format and ours."""

import pytest
import torch
from ultralytics import YOLO
from ultralytics.nn import tasks
from ultralytics.nn.tasks import DetectionModel

from conftest import fast_first, repvit
from yolo_repvit import VARIANTS, RepViTError
from yolo_repvit._repvit_variants import scaled_depths
from yolo_repvit.modules import RepViTLayer


def test_timm_registry_matches_our_variant_table():
    import timm

    for name, v in VARIANTS.items():
        if name == "repvit_m0_6":  # built from timm's class; not registered there
            continue
        net = timm.create_model(name, pretrained=False)
        assert tuple(net.embed_dim) == v.widths
        assert tuple(len(stage.blocks) for stage in net.stages) == v.depths
        assert net.stages[0].blocks[0].token_mixer.legacy == v.legacy
        assert set(timm.list_pretrained(f"{name}.*")) == {f"{name}.{tag}" for tag in v.tags}


@pytest.mark.parametrize("variant", fast_first(VARIANTS, keep=2))
def test_every_variant_builds_in_recipe_format(variant):
    model = DetectionModel(repvit(variant, 0.25, nc=3), verbose=False).eval()
    assert [type(m) for m in model.model[:5]] == [RepViTLayer] * 5
    assert [m.i for m in model.model[:5]] == [0, 1, 2, 3, 4]
    assert [m.stride for m in model.model[:5]] == [4, 4, 8, 16, 32]
    assert model.stride.tolist() == [8.0, 16.0, 32.0]
    assert model.save == [2, 3, 6, 9, 12, 15, 18]  # the head reads layers 2 and 3
    with torch.no_grad():
        preds = model(torch.zeros(1, 3, 96, 128))[0]  # non-square: 12x16 + 6x8 + 3x4 anchors
    assert preds.shape == (1, 4 + 3, 12 * 16 + 6 * 8 + 3 * 4)


# Stage widths the recipe documents for its factors (make_divisible(int(c * f), 8)), written out.
EXPECTED_CHANNELS = {
    ("repvit_m0_6", 0.25): [16, 24, 40, 80],
    ("repvit_m0_6", 0.5): [24, 40, 80, 160],
    ("repvit_m0_6", 1.0): [40, 80, 160, 320],
    ("repvit_m0_6", 1.5): [64, 120, 240, 480],
    ("repvit_m0_9", 0.25): [16, 24, 48, 96],
    ("repvit_m1_0", 0.5): [32, 56, 112, 224],
    ("repvit_m1_1", 1.0): [64, 128, 256, 512],
    ("repvit_m1_5", 0.25): [16, 32, 64, 128],
    ("repvit_m2_3", 1.5): [120, 240, 480, 960],
    ("repvit_m1", 0.5): [24, 48, 96, 192],
    ("repvit_m2", 1.5): [96, 192, 384, 768],
    ("repvit_m3", 1.0): [64, 128, 256, 512],
}


@pytest.mark.parametrize(("variant", "width"), fast_first(EXPECTED_CHANNELS, keep=2))
def test_layer_outputs_have_recipe_channels_and_strides(variant, width):
    backbone = getattr(tasks, variant)(width).eval()  # the names the plugin injects: layers 0-4
    x = torch.zeros(1, 3, 64, 96)
    shapes = []
    with torch.no_grad():
        for layer in backbone:
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    c = EXPECTED_CHANNELS[variant, width]
    assert shapes == [(c[0], 16, 24), (c[0], 16, 24), (c[1], 8, 12), (c[2], 4, 6), (c[3], 2, 3)]


@pytest.mark.parametrize("variant", fast_first(VARIANTS))
def test_every_per_variant_config_builds_by_bare_name(variant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of ours in the working directory
    model = YOLO(f"yolo11n-{variant.replace('_', '-', 1)}.yaml").model
    assert {m.variant for m in model.model[:5]} == {variant}
    assert [m.out_channels for m in model.model[1:5]] == list(VARIANTS[variant].widths)
    assert model.stride.tolist() == [8.0, 16.0, 32.0]


@pytest.mark.parametrize(("scale", "variant"), fast_first([("n", "repvit_m0_6"), ("s", "repvit_m0_9"),
                                                           ("m", "repvit_m1_1"), ("l", "repvit_m1_5"),
                                                           ("x", "repvit_m2_3")]))  # the configs table
def test_scaled_config_picks_backbone_by_scale(scale, variant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = YOLO(f"yolo11{scale}-repvit.yaml").model
    assert {m.variant for m in model.model[:5]} == {variant}
    assert model.yaml["scale"] == scale
    sppf_channels = {"n": 256, "s": 512, "m": 512, "l": 512, "x": 768}[scale]  # 1024 x width, capped
    assert model.model[5].cv2.conv.out_channels == sppf_channels


def test_layer_graph_serves_upstream_embed():
    model = DetectionModel(repvit("repvit_m0_9", 0.25, nc=3), verbose=False).eval()
    with torch.no_grad():
        embeddings = model.predict(torch.zeros(2, 3, 64, 64), embed=[2, 3, 4])
    assert torch.stack(list(embeddings)).shape == (2, 24 + 48 + 96)  # pooled stride 8/16/32 maps


def test_cpu_config_halves_the_blocks_and_uses_relu(tmp_path, monkeypatch):
    """``yolo11n-repvit-cpu.yaml``: ``{depth: 0.5, act: relu}`` halves the blocks of every stage (rounded up, at least
    one: m0_6 has 1/1/8/1) and puts ReLU where RepViT has GELU, at width 0.75; fusing keeps the output."""
    monkeypatch.chdir(tmp_path)
    model = YOLO("yolo11n-repvit-cpu.yaml").model.eval()
    backbone = model.model[:5]
    assert [len(layer.body.blocks) for layer in backbone[1:]] == [1, 1, 4, 1]
    assert [layer.out_channels for layer in backbone[1:]] == [32, 64, 120, 240]  # 40/80/160/320 x 0.75
    assert not any(isinstance(m, torch.nn.GELU) for m in backbone.modules())
    assert any(isinstance(m, torch.nn.ReLU) for m in backbone[3].body.blocks.modules())
    assert {k: backbone[0].written_by[k] for k in ("width", "depth", "act")} == {"width": 0.75, "depth": 0.5,
                                                                                "act": "relu"}  # into best.pt
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(x)[0]
        model.fuse(verbose=False)
        assert (model(x)[0] - before).abs().max() < 1e-4 * before.abs().max()


def test_depth_factor_rounds_blocks_up_and_keeps_one_per_stage():
    assert scaled_depths("repvit_m0_6", 0.5) == (1, 1, 4, 1)
    assert scaled_depths("repvit_m0_9", 0.5) == (1, 1, 7, 1)  # the examples of docs/rows.md
    assert scaled_depths("repvit_m0_9", 0.25) == (1, 1, 4, 1)
    assert scaled_depths("repvit_m0_6", 1.5) == (2, 2, 12, 2)


def test_cpu_config_names_the_scales_it_has(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RepViTError, match=r"no RepViT variant listed for scale 's'; this row lists scales n\."):
        YOLO("yolo11s-repvit-cpu.yaml")
