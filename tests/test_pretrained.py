"""ImageNet weights: both file layouts, strict loading, clear failures, and surviving ultralytics' construction.

No network: weight files are made here from seeded timm models with non-trivial BatchNorm statistics.
"""

import pytest
import torch
import yaml
from safetensors.torch import save_file
from timm.models.repvit import RepVit
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel

from conftest import fast_first, randomise_batchnorm, repvit, run_python
from yolo_repvit import RepViTError
from yolo_repvit._repvit import official_names
from yolo_repvit._repvit_variants import VARIANTS
from yolo_repvit._rows import parse_row

CLASSIFIER_TO_OFFICIAL = {"head.head.": "classifier.classifier.", "head.head_dist.": "classifier.classifier_dist."}


def imagenet_like(variant, seed=0):
    """A full timm RepViT classifier with seeded weights and statistics, as an ImageNet file would hold."""
    torch.manual_seed(seed)
    v = VARIANTS[variant]
    net = RepVit(embed_dim=v.widths, depth=v.depths, legacy=v.legacy).eval()
    randomise_batchnorm(net, seed)
    return net


def as_official(state):
    """The authors' layout: features.N keys, classifier.* head, inside a 'model' entry."""
    names = official_names(state)
    for old, new in CLASSIFIER_TO_OFFICIAL.items():
        names.update({k: new + k[len(old):] for k in state if k.startswith(old)})
    return {"model": {names[k]: v for k, v in state.items()}}


def write(net, folder, layout, name=None):
    state = net.state_dict()
    path = folder / (name or f"weights-{layout}.{'safetensors' if layout == 'safetensors' else 'pth'}")
    if layout == "safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(as_official(state) if layout == "official" else state, path)
    return path


def backbone_features(layers, x):
    feats = []
    for layer in layers:
        x = layer(x)
        feats.append(x)
    return feats


def reference_features(net, x):
    return backbone_features([net.stem, *net.stages], x)


def model_with(variant, pretrained, width=1.0):
    return DetectionModel(repvit(variant, width, pretrained, nc=3), verbose=False)


def test_official_names_follow_the_authors_block_list():
    net = imagenet_like("repvit_m1")  # the paper's v1 layout, whose structure the authors' detection code shows
    names = official_names(net.state_dict())
    assert names["stem.conv1.c.weight"] == "features.0.0.c.weight"
    assert names["stem.conv2.bn.running_var"] == "features.0.2.bn.running_var"
    assert names["stages.0.blocks.0.token_mixer.conv1.c.weight"] == "features.1.token_mixer.0.conv1.c.weight"
    assert names["stages.0.blocks.0.se.fc1.weight"] == "features.1.token_mixer.1.fc1.weight"
    assert names["stages.0.blocks.1.channel_mixer.conv1.bn.bias"] == "features.2.channel_mixer.m.0.bn.bias"
    pre_block = "stages.1.downsample.pre_block"
    assert names[f"{pre_block}.channel_mixer.conv2.bn.weight"] == "features.3.channel_mixer.m.2.bn.weight"
    assert names["stages.1.downsample.spatial_downsample.c.weight"] == "features.4.token_mixer.0.c.weight"
    assert names["stages.1.downsample.channel_downsample.bn.bias"] == "features.4.token_mixer.2.bn.bias"
    assert names["stages.1.downsample.ffn.conv2.c.weight"] == "features.4.channel_mixer.m.2.c.weight"
    assert len({n.split(".")[1] for n in names.values()}) == 27  # patch embedding + 26 rows in the authors' list


@pytest.mark.parametrize(("variant", "layout"), fast_first(
    [(v, layout) for v in ["repvit_m0_6", "repvit_m0_9", "repvit_m1_1"]
     for layout in ["timm", "official", "safetensors"]],
    keep=3, ids=lambda cases: [f"{v}-{layout}" for v, layout in cases]))
def test_weights_load_and_survive_model_construction(variant, layout, tmp_path):
    net = imagenet_like(variant)
    model = model_with(variant, str(write(net, tmp_path, layout))).eval()
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = backbone_features(model.model[:5], x), reference_features(net, x)
    for a, b in zip(ours, theirs):
        assert (a - b).abs().max() < 1e-5
    # ultralytics' stride pass and initialize_weights (eps=1e-3) left the loaded statistics alone
    reference = {k: v for k, v in net.state_dict().items() if not k.startswith("head.")}
    prefixes = ["stem."] + [f"stages.{i}." for i in range(4)]
    loaded = {prefixes[int(k.split(".")[0])] + k.split(".", 2)[2]: v  # "<layer>.body.<key>" -> timm's key
              for k, v in model.model[:5].state_dict().items()}
    assert loaded.keys() == reference.keys()
    assert all(torch.equal(loaded[k], reference[k]) for k in reference)
    assert {m.eps for m in model.model[:5].modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-5}


def test_yolo_loads_weights_from_the_offline_folder_by_name(tmp_path, monkeypatch):
    net = imagenet_like("repvit_m0_9", seed=3)
    write(net, tmp_path, "safetensors", name="repvit_m0_9.dist_450e_in1k.safetensors")
    write(imagenet_like("repvit_m0_6", seed=4), tmp_path, "official", name="repvit_m0_6_distill_300e.pth")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    x = torch.rand(1, 3, 64, 64)
    model = model_with("repvit_m0_9", "dist_450e_in1k").eval()
    with torch.no_grad():
        assert torch.allclose(model.model[:5](x), reference_features(net, x)[-1], atol=1e-5)
    assert model_with("repvit_m0_6", True).model[0].body.conv1.bn.eps == 1e-5  # True -> the authors' file


def test_imagenet_config_loads_weights_for_its_scale(tmp_path, monkeypatch):
    n, s = imagenet_like("repvit_m0_6", seed=5), imagenet_like("repvit_m0_9", seed=6)
    write(n, tmp_path, "official", name="repvit_m0_6_distill_300e.pth")
    write(s, tmp_path, "timm", name="repvit_m0_9.dist_300e_in1k.pth")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for cfg, net in (("yolo11n-repvit-imagenet.yaml", n), ("yolo11s-repvit-imagenet.yaml", s)):
        stem = YOLO(cfg).model.model[0].body
        assert torch.equal(stem.conv1.c.weight, net.stem.conv1.c.weight), cfg


def test_yaml_quoting_rules_in_the_readme():
    rows = yaml.safe_load("""
        - [-1, 1, repvit_m0_9, [1.0, True]]
        - [-1, 1, repvit_m0_9, [1.0, yes]]
        - [-1, 1, repvit_m0_9, [1.0, dist_450e_in1k]]
        - [-1, 1, repvit_m0_9, [1.0, weights/repvit_m0_9_distill_450e.pth]]
        - [-1, 1, repvit_m0_9, [1.0, 'C:\\weights\\m0_9.pth']]
        - [-1, 1, repvit_m0_9, [1.0, 'my weights: m0_9 #2.pth']]
    """)
    assert [parse_row(row).pretrained for row in rows] == [
        True, True, "dist_450e_in1k", "weights/repvit_m0_9_distill_450e.pth", "C:\\weights\\m0_9.pth",
        "my weights: m0_9 #2.pth"]


def error_for(variant, pretrained, width=1.0):
    with pytest.raises(RepViTError) as info:
        model_with(variant, pretrained, width)
    return str(info.value)


def test_weights_at_another_width_are_refused(tmp_path):
    path = write(imagenet_like("repvit_m0_9"), tmp_path, "timm")
    assert error_for("repvit_m0_9", str(path), width=0.5) == (
        f"repvit_m0_9 row: ImageNet weights exist for width 1.0 only, but the row asks for width 0.5 with "
        f"pretrained='{path}'. Use [1.0, '{path}'], or train width 0.5 from scratch with [0.5].")


def test_weights_of_another_variant_are_named(tmp_path):
    path = write(imagenet_like("repvit_m0_9"), tmp_path, "official")
    message = error_for("repvit_m1_1", str(path))
    assert message.startswith(f"{path} (entry 'model') does not fit repvit_m1_1 at width 1.0: ")
    assert message.endswith("These are repvit_m0_9 weights: put repvit_m0_9 in the row, or use a repvit_m1_1 file.")


def test_weights_of_a_deeper_variant_with_the_same_widths_are_named(tmp_path):
    path = write(imagenet_like("repvit_m1_5"), tmp_path, "timm")
    message = error_for("repvit_m1_1", str(path))
    assert message.startswith(f"{path} does not fit repvit_m1_1 at width 1.0: 0 missing, ")
    assert message.endswith("These are repvit_m1_5 weights: put repvit_m1_5 in the row, or use a repvit_m1_1 file.")


def test_truncated_file_is_refused(tmp_path):
    path = write(imagenet_like("repvit_m0_6"), tmp_path, "timm")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = error_for("repvit_m0_6", str(path))
    assert message.startswith(f"cannot read weight file {path} (")
    assert message.endswith("): it is not a complete PyTorch or safetensors file, e.g. a truncated download or a web "
                            "page saved under the file's name. Download it again.")


def test_classifier_only_file_is_refused(tmp_path):
    state = {k: v for k, v in imagenet_like("repvit_m0_6").state_dict().items() if k.startswith("head.")}
    torch.save(state, tmp_path / "head.pth")
    assert error_for("repvit_m0_6", str(tmp_path / "head.pth")).endswith(
        "The file holds no backbone weights (only an ImageNet classifier?); use a full RepViT checkpoint.")


def test_unknown_tag_or_missing_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("YOLO_REPVIT_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert error_for("repvit_m0_9", "dist_900e_in1k") == (
        f"repvit_m0_9 row: there are no weights repvit_m0_9.dist_900e_in1k and no file 'dist_900e_in1k' (looked for "
        f"{tmp_path / 'dist_900e_in1k'}); its tags are dist_300e_in1k, dist_450e_in1k (the first is what True loads). "
        "Give True, one of those tags, or the path of a weight file.")


def test_true_while_offline_says_how_to_supply_the_file(tmp_path):
    out = run_python(f"""
        import yolo_repvit
        from ultralytics.nn.tasks import DetectionModel
        d = {repvit("repvit_m0_9", 1.0, True, nc=3)!r}
        try:
            DetectionModel(d, verbose=False)
        except yolo_repvit.RepViTError as error:
            print(error)
    """, env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "YOLO_REPVIT_WEIGHTS": ""})  # empty hub cache
    message = out.strip().split("\n")[-1]
    assert message.startswith("repvit_m0_9 row: could not download pretrained weights dist_300e_in1k from the Hugging "
                              "Face hub repository timm/repvit_m0_9.dist_300e_in1k (")
    assert message.endswith(
        "To work offline, put the file in a folder and set YOLO_REPVIT_WEIGHTS to it (names looked for: "
        "repvit_m0_9.dist_300e_in1k.safetensors, repvit_m0_9.dist_300e_in1k.pth, repvit_m0_9_distill_300e.pth), "
        "or give its path as the row's second argument.")


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [5, 0])
def test_frozen_backbone_keeps_every_tensor_and_statistic(freeze, tmp_path, detection_data):
    path = write(imagenet_like("repvit_m0_6"), tmp_path, "timm")
    cfg = tmp_path / "yolo11n-pretrained.yaml"
    cfg.write_text(yaml.safe_dump(repvit("repvit_m0_6", 1.0, str(path))))
    model = YOLO(str(cfg))
    before = {k: v.clone() for k, v in model.model.model[:5].state_dict().items()}
    model.train(data=str(detection_data), epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                freeze=freeze, project=str(tmp_path), name="run", verbose=False)
    after = model.trainer.model.model[:5].state_dict()
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    if freeze:
        assert len(unchanged) == len(before)  # weights and BatchNorm buffers, bit for bit
    else:
        assert not any(k.endswith("running_mean") for k in unchanged)  # the unfrozen backbone trains
