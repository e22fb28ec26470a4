"""Plain ViTs in a Timm row (DINOv3, DINOv2, DeiT): the simple feature pyramid's maps line up at every
multiple of 32, patch-14 models included; weights load strictly by tag, file or offline folder and give timm's own
features; DINOv3's ConvNeXt weights take the hierarchical path; ``freeze=5`` holds the ViT and its pyramid.

The families' build, training step, fusing, ONNX export and restricted-loading rule run in tests/test_timm.py;
the shipped DINOv3 configs' CLI training, reload, exports and multi-GPU worker in tests/test_timm_pipeline.py."""

import pytest
import torch
import yaml

from conftest import fast_first, timm_row
from test_timm import build, imagenet_like, save
from yolo_repvit import RepViTError, backbone
from yolo_repvit.modules import TimmBackbone, ViTBackbone

SIZES = [(64, 96), (96, 160), (160, 64)]


@pytest.mark.parametrize("name", fast_first(["vit_small_patch14_dinov2", "vit_small_patch16_dinov3",
                                             "deit_tiny_patch16_224"], ids=lambda names: names))
def test_pyramid_maps_are_exactly_at_strides_4_to_32_at_every_multiple_of_32(name):
    net = backbone("Timm", name).eval()
    assert isinstance(net.layers[0], ViTBackbone) and net.strides == (4, 8, 16, 32)
    width = net.layers[0].body.embed_dim
    assert net.channels == (width // 4, width // 2, width, width)
    with torch.no_grad():
        for height, wide in SIZES:
            maps = net(torch.rand(1, 3, height, wide))
            assert [tuple(m.shape) for m in maps] == [(1, c, height // s, wide // s)
                                                      for c, s in zip(net.channels, net.strides)]


def timm_last_map(net, x, patch):
    """timm's own features of ``x``: the normalized patch tokens of the last block, at the input our layer gives it."""
    size = (x.shape[2] // 16 * patch, x.shape[3] // 16 * patch)
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False) if patch != 16 else x
    return net.forward_intermediates(x, indices=1, norm=True, intermediates_only=True)[0]


@pytest.mark.parametrize(("name", "tag", "patch"), fast_first(
    [("vit_small_patch16_dinov3", "lvd1689m", 16), ("vit_small_patch14_dinov2", "lvd142m", 14)],
    ids=lambda cases: [c[0] for c in cases]))
def test_weights_by_tag_file_and_folder_load_strictly_and_give_timms_features(name, tag, patch, tmp_path,
                                                                               monkeypatch):
    import timm

    reference = imagenet_like(name, seed=4)
    save(reference, tmp_path / f"{name}.{tag}.safetensors")
    file = save(reference, tmp_path / "mine.pth")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    expected = {k: v for k, v in reference.state_dict().items() if not k.startswith("head.")}
    reference = timm.create_model(name, pretrained=False, dynamic_img_size=True)
    reference.load_state_dict(expected, strict=False)
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        features = timm_last_map(reference.eval(), x, patch)
    for args in ([f"{name}.{tag}", True], [name, True], [name, tag], [name, str(file)]):
        layer = build(*args).model[0].eval()
        loaded = layer.body.state_dict()
        assert loaded.keys() == expected.keys(), args
        assert all(torch.equal(loaded[k], expected[k]) for k in expected), args
        with torch.no_grad():
            assert (layer(x)[2] - features).abs().max() < 1e-5, args  # stride 16 is the ViT's own map


def test_weights_of_another_vit_size_are_refused(tmp_path):
    path = save(imagenet_like("vit_small_patch16_dinov3"), tmp_path / "small.pth")
    with pytest.raises(RepViTError, match=r"small\.pth does not fit timm's vit_base_patch16_dinov3: 0 missing, 0 "
                                          r"unexpected and 162 wrong-shaped tensors \(e\.g\. cls_token \(file "
                                          r"\(1, 1, 384\), model \(1, 1, 768\)\)"):
        build("vit_base_patch16_dinov3", str(path))


def test_dinov3_convnext_weights_take_the_hierarchical_path(tmp_path, monkeypatch):
    net = imagenet_like("convnext_tiny", seed=6)
    save(net, tmp_path / "convnext_tiny.dinov3_lvd1689m.safetensors")
    monkeypatch.setenv("YOLO_REPVIT_WEIGHTS", str(tmp_path))
    layer = build("convnext_tiny.dinov3_lvd1689m", True).model[0]
    assert type(layer) is TimmBackbone and layer.channels == (96, 192, 384, 768)
    assert torch.equal(layer.body.stem_0.weight, net.stem[0].weight)


@pytest.mark.slow
def test_freeze_5_holds_the_pretrained_vit_and_its_pyramid(tmp_path, detection_data):
    from ultralytics import YOLO

    path = save(imagenet_like("vit_small_patch16_dinov3", seed=7), tmp_path / "weights.pth")
    cfg = tmp_path / "yolo11n-frozen-dinov3.yaml"
    cfg.write_text(yaml.safe_dump(timm_row("vit_small_patch16_dinov3", str(path))))
    model = YOLO(str(cfg))
    before = {}  # the trainer's own model as training starts (it builds its own; the pyramid starts random)
    model.add_callback("on_train_start", lambda trainer: before.update(
        {k: v.clone() for k, v in trainer.model.state_dict().items()}))
    model.train(data=str(detection_data), epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                freeze=5, project=str(tmp_path), name="run", verbose=False)
    after = model.trainer.model.state_dict()
    changed = {k.split(".")[1] for k in before if not torch.equal(before[k], after[k])}
    assert "0" not in changed and changed  # ViT, pyramid and statistics held; the head trained


def test_fine_tuning_controls_are_read_from_the_row_and_checked():
    from yolo_repvit._rows import parse_row

    spec = parse_row([-1, 1, "Timm", ["vit_small_patch16_dinov3", True, {"lr_scale": 0.1, "freeze_epochs": 2,
                                                                         "drop_path_rate": 0.1}]])
    assert (spec.lr_scale, spec.freeze_epochs, spec.kwargs) == (0.1, 2, {"drop_path_rate": 0.1})
    spec = parse_row([-1, 1, "repvit_m0_9", [1.0, True, {"lr_scale": 0.5}]])
    assert (spec.lr_scale, spec.freeze_epochs) == (0.5, 0)
    errors = [
        (("Timm", "deit_tiny_patch16_224", False, {"lr_scale": 0}),
         "model row [-1, 1, Timm, ['deit_tiny_patch16_224', False, {'lr_scale': 0}]]: lr_scale is 0; it must be a "
         "number above 0 (1.0 trains the backbone at the head's rate, 0.1 at a tenth). To hold the backbone, use "
         "freeze_epochs or ultralytics' freeze=5."),
        (("Timm", "deit_tiny_patch16_224", False, {"freeze_epochs": 1.5}),
         "model row [-1, 1, Timm, ['deit_tiny_patch16_224', False, {'freeze_epochs': 1.5}]]: freeze_epochs is 1.5; "
         "it must be a whole number of epochs, 0 or more, during which the backbone is held."),
        (("repvit_m0_9", 1.0, False, {"lr": 0.1}),
         "model row [-1, 1, repvit_m0_9, [1.0, False, {'lr': 0.1}]]: unknown option 'lr'; a RepViT row's mapping "
         "takes depth, act, lr_scale, freeze_epochs."),
    ]
    for (module, *args), message in errors:
        with pytest.raises(RepViTError) as error:
            parse_row([-1, 1, module, args])
        assert str(error.value) == message


@pytest.mark.slow
def test_lr_scale_and_freeze_epochs_do_what_they_say_through_best_pt(tmp_path, detection_data):
    from ultralytics import YOLO

    cfg = tmp_path / "yolo11n-tuned.yaml"
    cfg.write_text(yaml.safe_dump(timm_row("vit_small_patch16_dinov3", False, {"lr_scale": 0.1, "freeze_epochs": 1})))
    model = YOLO(str(cfg))
    seen = []  # per epoch end: the ViT's parameters, whether it was held, and the rates of its groups and the rest

    def snapshot(trainer):
        net = trainer.model.model[0]
        vit = {id(p) for p in net.body.parameters()}
        rates = {("vit" if id(g["params"][0]) in vit else "rest", g.get("param_group")): g["lr"]
                 for g in trainer.optimizer.param_groups if g["params"]}
        seen.append(([p.detach().clone() for p in net.body.parameters()], net.held, rates))

    model.add_callback("on_train_start", snapshot)
    model.add_callback("on_train_epoch_end", snapshot)
    model.train(data=str(detection_data), epochs=2, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                optimizer="SGD", lr0=0.01, warmup_epochs=0, project=str(tmp_path), name="run", verbose=False)
    (start, _, rates), (held, was_held, _), (trained, still_held, _) = seen
    assert all(torch.equal(a, b) for a, b in zip(start, held)) and was_held  # epoch 1: held
    assert any(not torch.equal(a, b) for a, b in zip(held, trained)) and not still_held  # epoch 2: trains
    for (part, group), rate in rates.items():
        if part == "vit":
            assert rate == pytest.approx(0.1 * rates[("rest", group)]), group  # a tenth of the same group's rate
    reloaded = torch.load(tmp_path / "run" / "weights" / "best.pt", weights_only=False)
    layer = (reloaded.get("ema") or reloaded["model"]).model[0]
    assert (layer.lr_scale, layer.freeze_epochs) == (0.1, 1)  # resume and fine-tuning from best.pt keep them


def test_model_info_counts_the_vits_flops():
    import thop
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import get_flops

    model = YOLO("yolo11n-dinov3.yaml").model  # its first parameter is the ViT's class token, not a convolution
    direct = thop.profile(model, inputs=[torch.empty(1, 3, 64, 64)], verbose=False)[0] / 1e9 * 2
    assert get_flops(model, 64) == pytest.approx(direct, rel=1e-6) and direct > 0


@pytest.mark.slow
def test_fine_tuning_controls_survive_resume(tmp_path, detection_data):
    from ultralytics import YOLO

    cfg = tmp_path / "yolo11n-tuned.yaml"
    cfg.write_text(yaml.safe_dump(timm_row("deit_tiny_patch16_224", False, {"lr_scale": 0.1, "freeze_epochs": 2})))
    model = YOLO(str(cfg))

    def stop_after_first_epoch(trainer):  # last.pt of epoch 1 is saved by now: an interrupted run
        raise KeyboardInterrupt

    model.add_callback("on_fit_epoch_end", stop_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        model.train(data=str(detection_data), epochs=3, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                    optimizer="SGD", lr0=0.01, warmup_epochs=0, project=str(tmp_path), name="run", verbose=False)
    resumed = YOLO(str(tmp_path / "run" / "weights" / "last.pt"))
    seen = []
    resumed.add_callback("on_train_epoch_end", lambda trainer: seen.append(
        (trainer.epoch, trainer.model.model[0].held, len(trainer.optimizer.param_groups))))
    resumed.train(resume=True)  # the optimizer state of epoch 1 loads into the same split groups
    assert [(epoch, held) for epoch, held, _ in seen] == [(1, True), (2, False)]
    assert {groups for _, _, groups in seen} == {6}  # upstream's 3 groups and their 3 copies at a tenth of the rate
