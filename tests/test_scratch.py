"""Training from scratch: the shipped training arguments, found by bare name, and the one log line that
points to them when ``optimizer=auto`` picks a small rate for a short run of a from-scratch backbone."""

import logging

import pytest
import torch
import yaml
from ultralytics import YOLO
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import DetectionModel

from conftest import repvit, run, script, timm_row
from yolo_repvit._configs import shipped_config

SCRATCH = yaml.safe_load(shipped_config("repvit-scratch.yaml").read_text())
TRAIN = dict(epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False, verbose=False)


def advice_logged(detection_data, tmp_path, d, optimizer="auto", iterations=100, **overrides):
    """What of our advice building the optimizer for model dict ``d`` logs, and the optimizer built."""
    trainer = DetectionTrainer(overrides=dict(model="yolo11n-repvit.yaml", data=str(detection_data), project=str(
        tmp_path), optimizer=optimizer, **TRAIN, **overrides))
    handler_records = []
    handler = logging.Handler()
    handler.emit = handler_records.append
    logging.getLogger("ultralytics").addHandler(handler)
    try:
        built = trainer.build_optimizer(model=DetectionModel(d, nc=3, verbose=False), name=optimizer, lr=0.01,
                                        iterations=iterations)
    finally:
        logging.getLogger("ultralytics").removeHandler(handler)
    lines = [r.getMessage().partition("yolo-repvit: ")[2] for r in handler_records if "yolo-repvit: " in r.getMessage()]
    return lines, built


def test_auto_optimizer_on_a_short_scratch_run_says_what_it_chose_and_what_to_use(detection_data, tmp_path):
    lines, optimizer = advice_logged(detection_data, tmp_path, repvit("repvit_m0_6", 0.5))
    assert len(lines) == 1  # what this release chose (AdamW on 8.3.0 and 8.4.190, MuSGD on 8.4.0), at its rate
    assert lines[0].startswith(f"optimizer=auto chose {type(optimizer).__name__} with "
                               f"lr0={optimizer.param_groups[0]['lr']:g} (ultralytics ")
    assert "cfg=repvit-scratch.yaml (" + " ".join(f"{k}={v}" for k, v in SCRATCH.items()) + ")" in lines[0]
    assert advice_logged(detection_data, tmp_path, timm_row("convnext_atto"))[0]  # Timm rows alike


@pytest.mark.parametrize("case", ["explicit optimizer", "long run", "ImageNet backbone", "no backbone row"])
def test_no_advice_where_the_choice_is_the_users_or_fits(case, detection_data, tmp_path, monkeypatch):
    d = repvit("repvit_m0_6", 0.5)
    kwargs = {}
    if case == "explicit optimizer":
        kwargs["optimizer"] = "AdamW"
    elif case == "long run":
        kwargs["iterations"] = 20_000
    elif case == "ImageNet backbone":
        import timm
        import torch

        torch.save(timm.create_model("convnext_atto").state_dict(), tmp_path / "w.pth")
        d = timm_row("convnext_atto", str(tmp_path / "w.pth"))
    else:
        d = "yolo11n.yaml"
    assert advice_logged(detection_data, tmp_path, d, **kwargs)[0] == []


@pytest.mark.slow
def test_training_arguments_by_bare_name_and_the_users_own_win(detection_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of ours in the working directory
    model = YOLO("yolo11n-repvit.yaml")
    model.train(cfg="repvit-scratch.yaml", data=str(detection_data), project=str(tmp_path), name="py", lr0=0.005,
                **TRAIN)
    args = model.trainer.args
    assert args.optimizer == SCRATCH["optimizer"] and args.lr0 == 0.005 and args.epochs == 1  # explicit ones win
    assert type(model.trainer.optimizer).__name__ == SCRATCH["optimizer"]


@pytest.mark.slow
def test_yolo_command_takes_the_training_arguments_by_bare_name(detection_data, tmp_path):
    # cfg= first: ultralytics 8.3.0 and 8.4.0 let cfg= replace the arguments written before it
    run([script("yolo"), "train", "cfg=repvit-scratch.yaml", "model=yolo11n-repvit.yaml", f"data={detection_data}",
         "epochs=1", "imgsz=64", "batch=8", "workers=0", "device=cpu", "plots=False", f"project={tmp_path}",
         "name=cli"], cwd=tmp_path)
    args = yaml.safe_load((tmp_path / "cli" / "args.yaml").read_text())
    assert {k: args[k] for k in SCRATCH} == SCRATCH and args["epochs"] == 1 and args["imgsz"] == 64


def test_from_scratch_repvit_blocks_start_active_and_loaded_weights_stay_as_loaded(tmp_path):
    from timm.models.repvit import RepVit

    from yolo_repvit import backbone
    from yolo_repvit._repvit_variants import VARIANTS

    def scales(layers, part):
        return [m.weight for name, m in layers.named_modules() if isinstance(m, torch.nn.BatchNorm2d) and part in name]

    scratch = DetectionModel(repvit("repvit_m0_6", 0.5), nc=3, verbose=False).model[:5]
    assert all(bool(w.all()) for w in scales(scratch, ""))  # no block starts as an identity
    assert all(torch.equal(w, torch.ones_like(w)) for w in scales(scratch, "channel_mixer.conv2"))
    v = VARIANTS["repvit_m0_6"]
    torch.save(RepVit(embed_dim=v.widths, depth=v.depths, legacy=v.legacy).state_dict(), tmp_path / "zero.pth")
    loaded = scales(backbone("repvit_m0_6", 1.0, str(tmp_path / "zero.pth")), "channel_mixer.conv2")
    assert loaded and not any(bool(w.any()) for w in loaded)  # timm's zero scales, exactly as the file holds them
