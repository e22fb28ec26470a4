"""Timm rows end to end, on four families (ConvNeXt: LayerNorm only; FastViT: reparameterized by
fuse(); MobileNetV4: two BatchNorm classes; DINOv3: a plain ViT with a feature pyramid): the plain
``yolo`` command trains the shipped configs by bare name, best.pt reloads and predicts in a process
that never imports the plugin, restricted loading accepts it by rule, exports reproduce PyTorch
without the plugin, and the multi-GPU worker script trains with the startup hook off."""

import sys

import numpy as np
import pytest
import torch
import yaml
from ultralytics import YOLO
from ultralytics.nn import tasks

from conftest import OFF, randomise_batchnorm, run, run_python, script, timm_row

pytestmark = pytest.mark.slow

CONFIGS = {"convnext": "ConvNeXt", "fastvit": "FastViT", "mobilenetv4": "MobileNetV4",
           "dinov3": "DINOv3"}  # yolo11n-<config>.yaml
TRAIN = ["epochs=1", "imgsz=64", "batch=8", "workers=0", "device=cpu", "plots=False"]


@pytest.fixture(scope="module")
def best(tmp_path_factory, detection_data):
    """best.pt of each config, trained for one epoch by the unmodified ``yolo`` command (startup hook on)."""
    project = tmp_path_factory.mktemp("timm-runs")
    found = {}
    for config in CONFIGS:
        run([script("yolo"), "train", f"model=yolo11n-{config}.yaml", f"data={detection_data}", *TRAIN,
             f"project={project}", f"name={config}"], cwd=project)
        found[config] = project / config / "weights" / "best.pt"
        assert yaml.safe_load((project / config / "args.yaml").read_text())["model"] == f"yolo11n-{config}.yaml"
    return found


def test_best_pt_reloads_and_predicts_in_a_process_that_never_imports_the_plugin(best, detection_data):
    image = sorted((detection_data.parent / "val" / "images").glob("*.jpg"))[0]
    out = run_python(f"""
        import sys
        from ultralytics import YOLO
        for config, path in {({k: str(v) for k, v in best.items()})!r}.items():
            model = YOLO(path)
            result = model.predict({str(image)!r}, imgsz=64, device="cpu", conf=0.0, verbose=False)[0]
            print(config, type(model.model.model[0]).__name__, model.model.model[0].model,
                  tuple(result.boxes.data.shape[1:]), "yolo_repvit" in sys.modules)
    """, env=OFF)
    assert out.strip().splitlines()[-4:] == [
        "convnext TimmBackbone convnext_atto (6,) True", "fastvit TimmBackbone fastvit_t8 (6,) True",
        "mobilenetv4 TimmBackbone mobilenetv4_conv_small (6,) True",
        "dinov3 ViTBackbone vit_small_patch16_dinov3 (6,) True"]


@pytest.mark.skipif(not hasattr(tasks, "_SafeLoad"), reason="this ultralytics has no restricted loading")
def test_restricted_loading_accepts_our_checkpoints_by_rule_and_refuses_the_rest(best, tmp_path):
    out = run_python(f"""
        import torch, timm
        from timm.utils import AverageMeter
        from ultralytics import YOLO
        for path in {[str(p) for p in best.values()]!r}:
            YOLO(path).predict(torch.zeros(1, 3, 64, 64), verbose=False)
            print("loaded", type(YOLO(path).model.model[0]).__name__)
        ckpt = torch.load({str(best["convnext"])!r}, weights_only=False)
        net = ckpt.get("ema") or ckpt["model"]  # the model a checkpoint carries, as ultralytics reads it
        crafted = {{"timm function": timm.layers.create_act.get_act_layer, "timm non-module class": AverageMeter()}}
        for what, obj in crafted.items():
            net.model[0].extra = obj
            torch.save(ckpt, {str(tmp_path / "crafted.pt")!r})
            try:
                YOLO({str(tmp_path / "crafted.pt")!r})
                print(what, "loaded")
            except TypeError as error:
                print(what, "refused", "references types outside" in str(error))
    """, env={"ULTRALYTICS_SAFE_LOAD": "1"})
    assert out.strip().splitlines()[-6:] == ["loaded TimmBackbone"] * 3 + ["loaded ViTBackbone"] + [
        "timm function refused True", "timm non-module class refused True"]


@pytest.fixture(scope="module")
def references(best, tmp_path_factory):
    """Per config: a copy of best.pt with non-trivial BatchNorm statistics, and its fused output on a fixed input."""
    folder = tmp_path_factory.mktemp("timm-exports")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    np.save(folder / "x.npy", x.numpy())
    found = {}
    for config, path in best.items():
        ckpt = torch.load(path, weights_only=False)
        randomise_batchnorm(ckpt.get("ema") or ckpt["model"])  # one epoch on 16 images leaves them near their start
        copy = folder / f"{config}.pt"
        torch.save(ckpt, copy)
        with torch.no_grad():
            expected = YOLO(copy).model.float().fuse(verbose=False).eval()(x)[0]
        np.save(folder / f"{config}.npy", expected.numpy())
        found[config] = copy
    return folder, found


RUNTIMES = {
    "onnx": """
        import onnxruntime
        session = onnxruntime.InferenceSession(file, providers=["CPUExecutionProvider"])
        y = session.run(None, {session.get_inputs()[0].name: x})[0]
    """,
    "torchscript": """
        import torch
        y = torch.jit.load(file)(torch.from_numpy(x)).numpy()
    """,
    "openvino": """
        import glob, openvino
        compiled = openvino.Core().compile_model(glob.glob(file + "/*.xml")[0], "CPU",
                                                 {"INFERENCE_PRECISION_HINT": "f32"})
        y = compiled(x)[0]
    """,
}


@pytest.mark.parametrize("fmt", list(RUNTIMES))
def test_exports_reproduce_pytorch_in_a_process_without_the_plugin(references, fmt):
    folder, checkpoints = references
    files = {config: str(YOLO(path).export(format=fmt, imgsz=64)) for config, path in checkpoints.items()}
    out = run_python(f"""
        import sys
        import numpy as np
        x = np.load({str(folder / "x.npy")!r})
        for config, file in {files!r}.items():
            expected = np.load({str(folder)!r} + f"/{{config}}.npy")
{_indent(RUNTIMES[fmt], 12)}
            error = float(np.abs(y - expected).max() / np.abs(expected).max())
            print(config, y.shape == expected.shape, error < 1e-4)
        print(sorted(m for m in ("yolo_repvit", "ultralytics", "timm") if m in sys.modules))
    """, env=OFF)
    assert out.strip().splitlines()[-len(CONFIGS) - 1:] == [f"{config} True True" for config in CONFIGS] + ["[]"]


def _indent(code, spaces):
    import textwrap

    return textwrap.indent(textwrap.dedent(code).strip(), " " * spaces)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_generated_ddp_script_builds_and_trains_with_the_hook_off(config, detection_data, tmp_path):
    script = run_python(f"""
        import yolo_repvit
        from ultralytics.models.yolo.detect import DetectionTrainer
        from ultralytics.utils import dist
        trainer = DetectionTrainer(overrides=dict(model="yolo11n-{config}.yaml", data={str(detection_data)!r},
                                                  epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                                                  project={str(tmp_path)!r}, name="ddp"))
        print(dist.generate_ddp_file(trainer))
    """, env=OFF).strip().splitlines()[-1]
    run([sys.executable, script], env=OFF)  # what each worker runs: nothing imported beforehand
    assert (tmp_path / "ddp" / "weights" / "best.pt").is_file()


def test_frozen_pretrained_backbone_keeps_every_tensor_and_statistic(tmp_path, detection_data):
    import timm

    net = timm.create_model("mobilenetv4_conv_small")  # plain BatchNorm2d and BatchNormAct2d side by side
    randomise_batchnorm(net)
    torch.save(net.state_dict(), tmp_path / "weights.pth")
    cfg = tmp_path / "yolo11n-frozen.yaml"
    cfg.write_text(yaml.safe_dump(timm_row("mobilenetv4_conv_small", str(tmp_path / "weights.pth"))))
    model = YOLO(str(cfg))
    before = {k: v.clone() for k, v in model.model.model[:5].state_dict().items()}
    model.train(data=str(detection_data), epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                freeze=5, project=str(tmp_path), name="run", verbose=False)
    after = model.trainer.model.model[:5].state_dict()
    assert before.keys() == after.keys()
    assert [k for k in before if not torch.equal(before[k], after[k])] == []  # weights and statistics, bit for bit


def test_cli_training_trained_the_backbone_statistics(best):
    ckpt = torch.load(best["mobilenetv4"], weights_only=False)
    norms = [m for m in (ckpt.get("ema") or ckpt["model"]).model[0].modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    moved = {type(m).__name__ for m in norms if m.running_mean.abs().sum() > 0}  # statistics start at zero
    assert moved == {"BatchNorm2d", "BatchNormAct2d"}  # both classes trained, with the one momentum they were given
