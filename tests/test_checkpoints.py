"""Checkpoints outlive our code: those of earlier releases load, predict and fuse, and every one says what wrote it.

Each folder of ``tests/data/checkpoints/`` holds the ``best.pt`` files one release's training wrote, tensors
zeroed, and what each model's head read once the tensors were refilled (``tools/checkpoint_fixtures.py``).
Today's code must unpickle them in a fresh process (the startup hook, no import), compute the same maps,
unfused and fused, and run ultralytics' predictor on them.  A checkpoint naming a class that the installed
timm or plugin no longer has fails with what wrote it (the record on layer 0) and the fix, under both kinds
of loading.
"""

import gzip
import json
import shutil
import sys

import pytest
import torch
import ultralytics
from ultralytics import YOLO

import yolo_repvit
from conftest import ROOT, fast_first, run, run_python, script
from yolo_repvit._checkpoints import why_unloadable

FIXTURES = ROOT / "tests" / "data" / "checkpoints"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("release", RELEASES)
def test_checkpoints_of_a_release_load_predict_and_fuse(release, tmp_path):
    expected = json.loads((FIXTURES / release / "expected.json").read_text())
    for name in expected:
        with gzip.open(FIXTURES / release / f"{name}.pt.gz", "rb") as src, open(tmp_path / f"{name}.pt", "wb") as dst:
            shutil.copyfileobj(src, dst)
    out = run_python(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / "tools")!r})
        from checkpoint_fixtures import head_inputs, refill
        from ultralytics import YOLO

        found = {{}}
        for name in {sorted(expected)!r}:
            path = {str(tmp_path)!r} + f"/{{name}}.pt"
            net = refill(YOLO(path).model.float())
            unfused = head_inputs(net)
            net.fuse()
            found[name] = {{"unfused": unfused, "fused": head_inputs(net), "fused_flag": net.is_fused()}}
            YOLO(path).predict(np.zeros((64, 64, 3), np.uint8), imgsz=64, verbose=False)  # upstream's predictor
        print(json.dumps(found))
    """)
    found = json.loads(out.strip().splitlines()[-1])
    for name, values in expected.items():
        want = torch.tensor(values)
        atol = 1e-4 * want.abs().max().item()
        assert torch.allclose(torch.tensor(found[name]["unfused"]), want, rtol=1e-4, atol=atol), name
        assert torch.allclose(torch.tensor(found[name]["fused"]), want, rtol=1e-3, atol=atol), name
        assert found[name]["fused_flag"], name


def unzip_fixture(release, name, folder):
    path = folder / f"{name}.pt"
    with gzip.open(FIXTURES / release / f"{name}.pt.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_best_pt_records_what_wrote_it(trained):
    import timm

    layer = YOLO(str(trained / "weights" / "best.pt")).model.model[0]
    assert layer.written_by == {"yolo_repvit": yolo_repvit.__version__, "timm": timm.__version__, "row": "RepViT",
                                "model": "repvit_m0_6", "width": 1.0, "pretrained": False, "weights": None}


def test_a_timm_row_records_its_weight_file(tmp_path):
    import timm

    path = tmp_path / "convnext_atto.pth"
    torch.save(timm.create_model("convnext_atto").state_dict(), path)
    layer = yolo_repvit.backbone("Timm", "convnext_atto", str(path)).layers[0]
    assert layer.written_by == {"yolo_repvit": yolo_repvit.__version__, "timm": timm.__version__, "row": "Timm",
                                "model": "convnext_atto", "pretrained": str(path), "weights": str(path)}


def save_renamed(model, cls, new_name, path):
    """Save ``model`` as if ``cls`` were called ``new_name``: the checkpoint of a release whose class has since been
    renamed (pickle finds a class by its module and qualified name)."""
    module, old_name = sys.modules[cls.__module__], cls.__qualname__
    cls.__qualname__ = new_name
    setattr(module, new_name, cls)
    try:  # what Model.save writes, less what this test does not need (8.3.0's save needs a loaded checkpoint)
        torch.save({"model": model.model, "version": ultralytics.__version__}, path)
    finally:
        cls.__qualname__ = old_name
        delattr(module, new_name)


RENAMED = {  # what was renamed: (config, the class, its name in the checkpoint, the package, pip's name for it)
    "timm": ("yolo11n-mobilenetv4.yaml", lambda net: type(net.model[0].body), "OldFeatures", "timm", "timm"),
    "plugin": ("yolo11n-mobilenetv4.yaml", lambda net: type(net.model[1]), "TimmMap", "yolo_repvit", "yolo-repvit"),
}


@pytest.mark.parametrize("loading", fast_first(["hook", "restricted"]))
@pytest.mark.parametrize("renamed", fast_first(sorted(RENAMED)))
def test_checkpoint_naming_a_class_no_longer_installed_says_what_wrote_it(renamed, loading, tmp_path):
    from ultralytics.nn import tasks

    if loading == "restricted" and not hasattr(tasks, "_SafeLoad"):
        pytest.skip(f"ultralytics {ultralytics.__version__} has no restricted loading (8.4.139 on)")
    config, pick, new_name, package, distribution = RENAMED[renamed]
    model, path = YOLO(config), tmp_path / "best.pt"
    cls = pick(model.model)
    save_renamed(model, cls, new_name, path)
    versions = {"timm": __import__("timm").__version__, "yolo-repvit": yolo_repvit.__version__}
    message = (f"{path} cannot be loaded: it names {cls.__module__}.{new_name}, which the installed {distribution} "
               f"{versions[distribution]} does not have. It was written by yolo-repvit {yolo_repvit.__version__} with "
               f"timm {versions['timm']} and ultralytics {ultralytics.__version__} (Timm row, mobilenetv4_conv_small, "
               f"trained from scratch). To load it, install what wrote it (pip install {distribution}=="
               f"{versions[distribution]}); to use it without timm or the plugin, export it there once (yolo export "
               f"model={path} format=onnx) and deploy the exported file.")
    if loading == "hook":  # the plain yolo command: the startup hook activates the plugin
        done = run([script("yolo"), "predict", f"model={path}", "source=missing.jpg"], expect=None, cwd=tmp_path)
    else:
        done = run([sys.executable, "-c", f"import yolo_repvit; from ultralytics import YOLO; YOLO({str(path)!r})"],
                   env={"ULTRALYTICS_SAFE_LOAD": "1"}, expect=None)
    assert done.returncode != 0
    assert f"RepViTError: {message}" in done.stderr.replace("\n", " "), done.stderr[-3000:]


def test_checkpoint_of_0_2_0_without_a_record_names_its_ultralytics_and_date(tmp_path, monkeypatch):
    import timm.models.mobilenetv3 as defining

    path = unzip_fixture("0.2.0", "yolo11n-mobilenetv4", tmp_path)
    saved = torch.load(path, map_location="cpu", weights_only=False)
    monkeypatch.delattr(defining, "MobileNetV3Features")  # as if a later timm had renamed it
    timm_version = __import__("timm").__version__
    assert why_unloadable(str(path)) == (
        f"{path} cannot be loaded: it names timm.models.mobilenetv3.MobileNetV3Features, which the installed timm "
        f"{timm_version} does not have. It was written by yolo-repvit 0.2.0 or older with ultralytics "
        f"{saved['version']} on {saved['date']}, before checkpoints recorded the versions that wrote them. To load it, "
        f"install the timm of that time; to use it without timm or the plugin, export it there once (yolo export "
        f"model={path} format=onnx) and deploy the exported file.")


def test_loadable_checkpoints_and_other_files_need_no_explanation(tmp_path):
    path = unzip_fixture("0.2.0", "yolo11n-repvit", tmp_path)
    (tmp_path / "page.pt").write_text("<html>not a checkpoint</html>")
    assert why_unloadable(str(path)) is None
    assert why_unloadable(str(tmp_path / "page.pt")) is None
