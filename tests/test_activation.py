"""Activation: by import, once, lazily, and invisible to YAMLs without RepViT rows."""

import importlib

import pytest
import torch

from conftest import OFF, run_python
from yolo_repvit import VARIANTS


def wrappers(function):
    """How many yolo-repvit wrappers sit on ``function``."""
    count = 0
    while function is not None:
        count += bool(getattr(function, "__yolo_repvit__", False))
        function = getattr(function, "__wrapped__", None)
    return count


def test_import_twice_and_reload_wrap_once():
    from ultralytics.nn import tasks
    from ultralytics.utils import dist, torch_utils

    import yolo_repvit

    importlib.import_module("yolo_repvit")
    importlib.reload(yolo_repvit)
    yolo_repvit.activate()
    assert wrappers(tasks.parse_model) == 1
    assert wrappers(tasks.check_yaml) == 1
    assert wrappers(tasks.BaseModel.fuse) == 1
    assert wrappers(dist.generate_ddp_file) == 1
    assert wrappers(torch_utils.get_flops) == 1


def test_import_before_ultralytics_patches_on_its_import_without_importing_it():
    out = run_python("""
        import sys
        import yolo_repvit
        heavy = sorted(m for m in ("torch", "ultralytics", "timm") if m in sys.modules)
        from ultralytics.nn import tasks
        print(heavy, tasks.parse_model.__yolo_repvit__, "timm" in sys.modules)
    """, env=OFF)
    assert out.split("\n")[-2] == "[] True False"


def test_import_after_ultralytics_patches_at_once():
    out = run_python("""
        from ultralytics import YOLO
        from ultralytics.nn import tasks
        before = hasattr(tasks.parse_model, "__yolo_repvit__")
        import yolo_repvit
        YOLO("yolo11n-repvit.yaml")
        print(before, tasks.parse_model.__yolo_repvit__)
    """, env=OFF)
    assert out.split("\n")[-2] == "False True"


def test_stock_yaml_builds_exactly_the_upstream_model(tmp_path):
    build = """
        import sys, torch
        {activate}
        from ultralytics.nn.tasks import DetectionModel
        torch.manual_seed(0)
        model = DetectionModel("yolo11n.yaml", nc=5, verbose=False)
        torch.save({{"state": model.state_dict(), "repr": repr(model)}}, {out!r})
        print("timm" in sys.modules)
    """
    upstream, ours = tmp_path / "upstream.pt", tmp_path / "ours.pt"
    run_python(build.format(activate="", out=str(upstream)), env=OFF)
    timm_loaded = run_python(build.format(activate="import yolo_repvit", out=str(ours)), env=OFF)
    assert timm_loaded.split("\n")[-2] == "False"  # a stock YAML never pays for timm
    a, b = torch.load(upstream), torch.load(ours)
    assert a["repr"] == b["repr"]
    assert list(a["state"]) == list(b["state"])
    for key, tensor in a["state"].items():
        assert torch.equal(tensor, b["state"][key]), key


def test_timm_is_imported_when_the_first_repvit_layer_is_built():
    out = run_python("""
        import sys
        import yolo_repvit
        from ultralytics import YOLO
        YOLO("yolo11n.yaml")
        before = "timm" in sys.modules
        YOLO("yolo11n-repvit.yaml")
        print(before, "timm" in sys.modules)
    """, env=OFF)
    assert out.split("\n")[-2] == "False True"


@pytest.mark.slow
def test_names_placed_in_ultralytics_tasks_are_the_documented_ones():
    listing = "from ultralytics.nn import tasks\n{activate}\nprint(sorted(vars(tasks)))"
    before = eval(run_python(listing.format(activate=""), env=OFF).strip().splitlines()[-1])
    after = eval(run_python(listing.format(activate="import yolo_repvit"), env=OFF).strip().splitlines()[-1])
    assert set(after) - set(before) == set(VARIANTS)  # what the README's Python API section says, nothing more
