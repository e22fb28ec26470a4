"""Training end to end: the recipe's YAML, checkpoints that reload in a new process, resume, CLI."""

import csv
import shutil
from pathlib import Path

import pytest
import torch

from conftest import OFF, SEED_YAML, run, run_python, script
from yolo_repvit.modules import RepViTLayer

pytestmark = pytest.mark.slow

ORIGINAL_SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "yolo11-RepViT.yaml"
TRAIN = dict(epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False, verbose=False)


def epochs_logged(run):
    with open(run / "results.csv") as f:
        return [int(float(row["epoch"])) for row in csv.DictReader(f, skipinitialspace=True)]


@pytest.mark.parametrize("source", ["retyped", "original"])
@pytest.mark.parametrize("scale", ["", "s"])
def test_recipe_yaml_trains_and_reloads_unchanged(source, scale, tmp_path, detection_data):
    from ultralytics import YOLO

    original = Path(SEED_YAML if source == "retyped" else ORIGINAL_SEED)
    if not original.exists():
        pytest.skip(f"the recipe's own file is not beside this checkout ({original})")
    seed = tmp_path / f"yolo11{scale}-RepViT.yaml"
    shutil.copyfile(original, seed)
    model = YOLO(str(seed))
    assert [m.out_channels for m in model.model.model[1:5]] == [24, 40, 80, 160]  # m0_6 at 0.5, any scale
    model.train(data=str(detection_data), project=str(tmp_path), name="run", **TRAIN)
    best = tmp_path / "run" / "weights" / "best.pt"
    assert epochs_logged(tmp_path / "run") == [1]
    out = run_python(f"""
        from ultralytics import YOLO
        model = YOLO({str(best)!r})
        print(type(model.model.model[1]).__name__, model.model.yaml["scale"] or "-")
    """, env=OFF)
    assert out.split("\n")[-2] == f"RepViTLayer {scale or '-'}"


def test_best_pt_predicts_and_validates_in_a_fresh_process(trained, detection_data):
    image = sorted((detection_data.parent / "val" / "images").glob("*.jpg"))[0]
    out = run_python(f"""
        import sys
        from ultralytics import YOLO
        model = YOLO({str(trained / "weights" / "best.pt")!r})  # the process never imports yolo_repvit itself
        result = model.predict({str(image)!r}, imgsz=64, device="cpu", verbose=False)[0]
        metrics = model.val(data={str(detection_data)!r}, imgsz=64, batch=8, device="cpu", plots=False,
                            verbose=False, project={str(trained.parent)!r}, name="val")
        print("yolo_repvit" in sys.modules, type(model.model.model[2]).__name__,
              tuple(result.boxes.xyxy.shape[1:]), result.orig_shape, 0 <= metrics.box.map <= 1)
    """, env=OFF)
    assert out.split("\n")[-2] == "True RepViTLayer (4,) (64, 64) True"


def test_last_pt_holds_the_training_graph(trained):
    from ultralytics import YOLO

    model = YOLO(str(trained / "weights" / "last.pt")).model
    assert [type(m) for m in model.model[:5]] == [RepViTLayer] * 5
    assert model.yaml["backbone"][0][2] == "RepViT"  # the YAML travels unexpanded: a rebuild sees our row
    assert not model.model[1].fused


def test_interrupted_training_resumes(tmp_path, detection_data):
    common = f"data={str(detection_data)!r}, imgsz=64, batch=8, workers=0, device='cpu', plots=False, verbose=False"
    run = tmp_path / "run"
    run_python(f"""
        import os
        import yolo_repvit
        from ultralytics import YOLO
        model = YOLO("yolo11n-repvit.yaml")
        model.add_callback("on_model_save", lambda trainer: os._exit(3))  # die right after epoch 1 is saved
        model.train(epochs=2, project={str(tmp_path)!r}, name="run", {common})
    """, env=OFF, expect=3)
    assert epochs_logged(run) == [1]
    run_python(f"""
        from ultralytics import YOLO
        YOLO({str(run / "weights" / "last.pt")!r}).train(resume=True)
    """, env=OFF)
    assert epochs_logged(run) == [1, 2]
    assert torch.load(run / "weights" / "last.pt", weights_only=False)["epoch"] == -1  # finished


def test_yolo_cli_trains_and_predicts_a_shipped_config_by_name(tmp_path, detection_data):
    image_dir = detection_data.parent / "val" / "images"
    run([script("yolo"), "train", "model=yolo11n-repvit.yaml", f"data={detection_data}", "epochs=1", "imgsz=64",
         "batch=8", "workers=0", "device=cpu", "plots=False", f"project={tmp_path}", "name=cli"], cwd=tmp_path)
    best = tmp_path / "cli" / "weights" / "best.pt"
    done = run([script("yolo"), "predict", f"model={best}", f"source={image_dir}", "imgsz=64", "device=cpu",
                "save=False"], cwd=tmp_path)
    assert done.stdout.count("64x64") + done.stderr.count("64x64") >= 8  # one line per validation image
