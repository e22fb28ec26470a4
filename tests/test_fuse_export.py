"""Inference-grade RepViT: fuse() reparameterises, exports match PyTorch without the plugin, safe loading."""

import shutil

import numpy as np
import pytest
import torch
from ultralytics import YOLO
from ultralytics.nn import tasks
from ultralytics.nn.tasks import DetectionModel

from conftest import OFF, randomise_batchnorm, repvit, run_python
from yolo_repvit._ultralytics import _allowed
from yolo_repvit.modules import RepViTLayer


@pytest.mark.parametrize(("variant", "width"), [("repvit_m0_6", 0.5), ("repvit_m0_9", 1.0), ("repvit_m1", 0.25),
                                                ("repvit_m2_3", 0.25)])
def test_fuse_removes_every_batchnorm_and_keeps_the_output(variant, width):
    model = DetectionModel(repvit(variant, width, nc=3), verbose=False).eval()
    randomise_batchnorm(model)
    x = torch.rand(2, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(x)[0]
        assert not model.is_fused()
        model.fuse(verbose=False)
        after = model(x)[0]
        model.fuse(verbose=False)  # fusing twice is harmless
        again = model(x)[0]
    backbone = model.model[:5]
    assert not [m for m in backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert all(layer.fused for layer in backbone) and model.is_fused()
    assert (after - before).abs().max() < 1e-4 * before.abs().max()
    assert torch.equal(after, again)


def test_fused_layers_are_for_inference():
    model = DetectionModel(repvit("repvit_m0_9", 0.25, nc=3), verbose=False).eval().fuse(verbose=False)
    assert not any(p.requires_grad for p in model.model[:5].parameters())  # as ultralytics 8.4 does for its own


@pytest.mark.slow
def test_predict_val_export_and_yolo_fuse_all_reparameterise(trained, detection_data, tmp_path, monkeypatch):
    fused = []
    original = RepViTLayer.fuse

    def spy(layer):
        fused.append(layer.stage)
        return original(layer)

    monkeypatch.setattr(RepViTLayer, "fuse", spy)
    best = shutil.copy(trained / "weights" / "best.pt", tmp_path / "best.pt")
    image = str(sorted((detection_data.parent / "val" / "images").glob("*.jpg"))[0])
    calls = {
        "predict": lambda: YOLO(best).predict(image, imgsz=64, device="cpu", verbose=False),
        "val": lambda: YOLO(best).val(data=str(detection_data), imgsz=64, batch=8, device="cpu", plots=False,
                                      verbose=False, project=str(tmp_path), name="val"),
        "export": lambda: YOLO(best).export(format="torchscript", imgsz=64),
        "YOLO.fuse": lambda: YOLO(best).fuse(),
    }
    for name, call in calls.items():
        fused.clear()
        call()
        assert fused == [0, 1, 2, 3, 4], name


@pytest.fixture(scope="module")
def reference(trained, tmp_path_factory):
    """A copy of best.pt, and the fused PyTorch output on a fixed input, saved for other processes."""
    folder = tmp_path_factory.mktemp("exports")
    best = shutil.copy(trained / "weights" / "best.pt", folder / "best.pt")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    model = YOLO(best).model.fuse(verbose=False).eval()
    with torch.no_grad():
        expected = model(x)[0]
    np.save(folder / "x.npy", x.numpy())
    np.save(folder / "expected.npy", expected.numpy())
    return folder


RUNTIMES = {
    "onnx": """
        import onnxruntime
        session = onnxruntime.InferenceSession({file!r}, providers=["CPUExecutionProvider"])
        y = session.run(None, {{session.get_inputs()[0].name: x}})[0]
    """,
    "torchscript": """
        import torch
        y = torch.jit.load({file!r})(torch.from_numpy(x)).numpy()  # exported graphs return one tensor
    """,
    "openvino": """
        import glob, openvino
        # f32 explicitly: on CPUs with bf16 units some OpenVINO releases default to bf16 inference
        model = openvino.Core().compile_model(glob.glob({file!r} + "/*.xml")[0], "CPU",
                                              {{"INFERENCE_PRECISION_HINT": "f32"}})
        y = model(x)[0]
    """,
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(RUNTIMES))
def test_export_reproduces_pytorch_in_a_process_without_the_plugin(reference, fmt):
    file = YOLO(reference / "best.pt").export(format=fmt, imgsz=64)
    out = run_python(f"""
        import sys
        import numpy as np
        x = np.load({str(reference / "x.npy")!r})
        expected = np.load({str(reference / "expected.npy")!r})
        {RUNTIMES[fmt].format(file=str(file)).strip()}
        error = float(np.abs(y - expected).max() / np.abs(expected).max())
        print(y.shape == expected.shape, error < 1e-4, [m for m in ("yolo_repvit", "ultralytics", "timm")
                                                       if m in sys.modules])
    """, env=OFF)
    assert out.split("\n")[-2] == "True True []"


@pytest.mark.slow
def test_fused_backbone_converts_to_coreml():
    ct = pytest.importorskip("coremltools")
    backbone = tasks.repvit_m0_6(0.5).eval()
    for layer in backbone:
        layer.fuse()
    traced = torch.jit.trace(backbone, torch.zeros(1, 3, 64, 64))
    mlmodel = ct.convert(traced, inputs=[ct.TensorType(shape=(1, 3, 64, 64))], convert_to="mlprogram")
    assert [o.name for o in mlmodel.get_spec().description.output]  # a Core ML program with an output


def test_restricted_loading_rule_accepts_every_class_a_repvit_checkpoint_holds(trained):
    upstream = ("torch.", "ultralytics.", "collections.", "builtins.", "numpy.", "pathlib.", "_codecs.")
    held = {name for name in torch.serialization.get_unsafe_globals_in_checkpoint(str(trained / "weights" / "best.pt"))
            if not name.startswith(upstream)}
    assert "yolo_repvit.modules.RepViTLayer" in held and "timm.models.repvit.RepViTBlock" in held
    assert [name for name in held if _allowed(name) is None] == []


needs_safe_load = pytest.mark.skipif(not hasattr(tasks, "_SafeLoad"),
                                     reason="this ultralytics has no restricted loading (ULTRALYTICS_SAFE_LOAD)")


@needs_safe_load
@pytest.mark.slow
def test_safe_load_accepts_our_checkpoint_and_rejects_an_unregistered_class(trained, tmp_path):
    best = trained / "weights" / "best.pt"
    foreign = tmp_path / "foreign.pt"
    (tmp_path / "foreign_layers.py").write_text("import torch\nclass Foreign(torch.nn.Identity):\n    pass\n")
    out = run_python(f"""
        import sys, torch
        sys.path.insert(0, {str(tmp_path)!r})
        import foreign_layers
        from ultralytics import YOLO
        model = YOLO({str(best)!r})
        model.predict(torch.zeros(1, 3, 64, 64), verbose=False)
        ckpt = torch.load({str(best)!r}, weights_only=False)
        ckpt["model"].model[-1].add_module("extra", foreign_layers.Foreign())
        torch.save(ckpt, {str(foreign)!r})
        try:
            YOLO({str(foreign)!r})
        except TypeError as error:
            print("rejected:", "references types outside" in str(error))
        print("yolo_repvit" in sys.modules, type(model.model.model[0]).__name__)
    """, env={"ULTRALYTICS_SAFE_LOAD": "1"})
    assert out.split("\n")[-3:-1] == ["rejected: True", "True RepViTLayer"]


def test_cpu_config_exports_to_onnx_like_pytorch(tmp_path, monkeypatch):
    """The half-depth ReLU RepViT of ``yolo11-repvit-cpu.yaml``, its BatchNorms made non-trivial: ONNX Runtime gives
    what the fused PyTorch model gives."""
    import onnxruntime

    monkeypatch.chdir(tmp_path)
    yolo = YOLO("yolo11n-repvit-cpu.yaml")
    randomise_batchnorm(yolo.model)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    file = yolo.export(format="onnx", imgsz=64)
    with torch.no_grad():
        expected = yolo.model.fuse(verbose=False).eval()(x)[0].numpy()
    session = onnxruntime.InferenceSession(file, providers=["CPUExecutionProvider"])
    y = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert y.shape == expected.shape
    assert np.abs(y - expected).max() < 1e-4 * np.abs(expected).max()
