"""Deploy tier: trained models exported to phone and edge formats reproduce PyTorch where nothing of ours is installed.

    pip install '.[test,deploy]'
    pytest --deploy tests/test_deploy.py

Not part of ``pytest`` or ``pytest --all`` (CI has no time for it): the exports take minutes and need the
deploy extra's converters and runtimes.  A yolo11n-repvit and a yolo11n-mobilenetv4 (a timm family), each
trained briefly on generated shapes, are exported with the plain ``yolo export`` command, as a user would,
to NCNN, MNN, LiteRT, ExecuTorch and CoreML (ONNX, TorchScript and OpenVINO are tested in
``tests/test_fuse_export.py`` and ``tests/test_timm.py``).  Every runnable export is loaded with
``YOLO(exported)`` in a process where neither the plugin nor timm is ever imported, and its raw output and
its predictions are compared with PyTorch's.  CoreML cannot run on Linux: its declared inputs, outputs and
operations are checked instead.  When every case has run, the summary goes to
``benchmarks/results/deploy_tier.md``, the committed record of the last run.
"""

import importlib.metadata
import importlib.util
import shutil
import sys
from collections import Counter

import numpy as np
import pytest
import torch
from ultralytics import YOLO

from conftest import OFF, ROOT, run, run_python, script

pytestmark = pytest.mark.deploy

MODELS = {"repvit": "yolo11n-repvit.yaml", "mobilenetv4": "yolo11n-mobilenetv4.yaml"}
RUNNABLE = ("ncnn", "mnn", "litert", "executorch")  # formats whose runtime runs on Linux x86
EXPORTED = {"ncnn": "best_ncnn_model", "mnn": "best.mnn", "litert": "best.tflite",
            "executorch": "best_executorch_model", "coreml": "best.mlpackage", "coreml-nms": "nms.mlpackage"}
IMGSZ = 64
ANCHORS = sum((IMGSZ // stride) ** 2 for stride in (8, 16, 32))
# The deploy extra's modules; without them ultralytics would pip-install them mid-test (or fail offline).
NEEDED = {"pnnx": "pnnx", "ncnn": "ncnn", "MNN": "MNN", "litert-torch": "litert_torch",
          "ai-edge-litert": "ai_edge_litert", "executorch": "executorch", "coremltools": "coremltools"}
# Exports run with ultralytics' automatic installs off, and pip kept off the network: MNN 3.6.1's converter
# runs `pip install -U aliyun-log-python-sdk` (its usage logging) when first imported, which would
# downgrade protobuf in the environment under test.
EXPORT_ENV = {"YOLO_AUTOINSTALL": "false", "PIP_NO_INDEX": "1"}
TOLERANCE = 1e-4  # of the box scale for coordinates; absolute for class scores, which are probabilities


@pytest.fixture(scope="session", autouse=True)  # session: checked before the session's trained model is made
def deploy_extra():
    missing = [name for name, module in NEEDED.items() if importlib.util.find_spec(module) is None]
    if missing:
        pytest.fail(f"the deploy tier needs {', '.join(missing)}, not installed here; "
                    "install the deploy extra: pip install '.[test,deploy]'")


@pytest.fixture(scope="module")
def tier():
    """``{case: row}`` of the summary; written to benchmarks/results/deploy_tier.md once every case has run."""
    rows = {}
    yield rows
    if set(rows) == set(CASES):
        write_summary(rows)


@pytest.fixture(scope="module")
def models(trained, detection_data, tmp_path_factory):
    """Per model, a folder with its best.pt, a fixed input and PyTorch's raw output and predictions on it.

    RepViT is the suite's trained yolo11n-repvit; the mobilenetv4 model is trained the same way here.
    """
    runs = {"repvit": trained}
    project = tmp_path_factory.mktemp("runs")
    YOLO(MODELS["mobilenetv4"]).train(data=str(detection_data), epochs=2, imgsz=IMGSZ, batch=8, workers=0,
                                      device="cpu", project=str(project), name="mobilenetv4", plots=False,
                                      verbose=False)
    runs["mobilenetv4"] = project / "mobilenetv4"
    image = sorted((detection_data.parent / "val" / "images").glob("*.jpg"))[0]
    x = torch.rand(1, 3, IMGSZ, IMGSZ, generator=torch.Generator().manual_seed(0))
    folders = {}
    for name, run_dir in runs.items():
        folder = folders[name] = tmp_path_factory.mktemp(name)
        best = shutil.copy(run_dir / "weights" / "best.pt", folder / "best.pt")
        shutil.copy(image, folder / "image.jpg")
        model = YOLO(best)  # PyTorch, with the plugin that conftest imports: the reference
        boxes = model.predict(folder / "image.jpg", imgsz=IMGSZ, conf=0.001, device="cpu", verbose=False)[0]
        with torch.no_grad():
            raw = YOLO(best).model.fuse(verbose=False).eval()(x)[0]
        np.save(folder / "x.npy", x.numpy())
        np.save(folder / "raw.npy", raw.numpy())
        np.save(folder / "boxes.npy", boxes.boxes.data.numpy())
    return folders


def export(folder, fmt):
    """The export of ``folder/best.pt`` to ``fmt`` by the plain ``yolo export`` command (made once)."""
    target = folder / EXPORTED[fmt]
    if not target.exists():
        # nms=True exports a copy named nms.pt, so that its package does not replace best.mlpackage
        source, extra = (folder / "best.pt", []) if fmt != "coreml-nms" else (folder / "nms.pt", ["nms=True"])
        if fmt == "coreml-nms":
            shutil.copy(folder / "best.pt", source)
        run([script("yolo"), "export", f"model={source}", f"format={fmt.split('-')[0]}", f"imgsz={IMGSZ}",
             *extra], env=EXPORT_ENV, cwd=folder)
    assert target.exists(), f"yolo export format={fmt} wrote no {target.name}"
    return target


CHILD = """
    import sys
    import numpy as np
    import torch
    from ultralytics import YOLO

    model = YOLO({file!r}, task="detect")
    boxes = model.predict({image!r}, imgsz={imgsz}, conf=0.001, device="cpu", verbose=False)[0].boxes.data
    raw = model.predictor.model(torch.from_numpy(np.load({x!r})))  # the runtime's own output, before NMS
    raw = raw[0] if isinstance(raw, (list, tuple)) else raw
    np.save({out!r} + "-raw.npy", np.asarray(raw))
    np.save({out!r} + "-boxes.npy", boxes.numpy())
    assert "yolo_repvit" not in sys.modules and "timm" not in sys.modules, sorted(sys.modules)
    print("plugin-free")
"""


CASES = [(model, fmt) for model in MODELS for fmt in (*RUNNABLE, "coreml")] + [("repvit", "coreml-nms"),
                                                                            ("repvit", "ncnn-graph")]


@pytest.mark.parametrize(("model", "fmt"), [(m, f) for m in MODELS for f in RUNNABLE])
def test_export_runs_without_the_plugin_and_matches_pytorch(models, tier, model, fmt):
    tier[model, fmt] = {"check": "output and predictions match PyTorch, no plugin or timm", "result": "failed"}
    folder = models[model]
    file = export(folder, fmt)
    out = run_python(CHILD.format(file=str(file), image=str(folder / "image.jpg"), imgsz=IMGSZ,
                                  x=str(folder / "x.npy"), out=str(folder / fmt)), env={**OFF, **EXPORT_ENV})
    assert out.splitlines()[-1] == "plugin-free"

    expected, raw = np.load(folder / "raw.npy"), np.load(folder / f"{fmt}-raw.npy")
    assert raw.shape == expected.shape == (1, 4 + 3, ANCHORS)
    box_error = float(np.abs(raw[:, :4] - expected[:, :4]).max())
    score_error = float(np.abs(raw[:, 4:] - expected[:, 4:]).max())
    assert box_error <= TOLERANCE * np.abs(expected[:, :4]).max() and score_error <= TOLERANCE

    wanted, found = np.load(folder / "boxes.npy"), np.load(folder / f"{fmt}-boxes.npy")
    assert len(wanted) and found.shape == wanted.shape  # the same detections (x1, y1, x2, y2, conf, class)
    assert np.abs(found[:, :4] - wanted[:, :4]).max() <= TOLERANCE * IMGSZ
    assert np.abs(found[:, 4] - wanted[:, 4]).max() <= TOLERANCE and (found[:, 5] == wanted[:, 5]).all()
    tier[model, fmt].update(result="passed", detail=f"box {box_error:.1e} px, score {score_error:.1e}, "
                                                    f"{len(found)} detections equal")


def coreml_ops(spec):
    """``{operation type: count}`` of a CoreML ML program's main function, nested blocks included."""
    found, blocks = Counter(), [b for f in spec.mlProgram.functions.values() for b in f.block_specializations.values()]
    while blocks:
        block = blocks.pop()
        for op in block.operations:
            found[op.type] += 1
            blocks.extend(op.blocks)
    return found


# What the detector's ML program is made of: the YOLO11 head's operations, and each backbone's own.
HEAD_OPS = {"add", "concat", "const", "conv", "matmul", "max_pool", "mul", "relu", "reshape", "sigmoid", "silu",
            "softmax", "split", "sub", "transpose", "upsample_nearest_neighbor"}
BACKBONE_OPS = {"repvit": {"gelu", "reduce_mean"}, "mobilenetv4": set()}  # RepViT: GELU MLPs, squeeze-excite


@pytest.mark.parametrize("model", list(MODELS))
def test_coreml_converts_with_the_declared_interface_and_standard_operations(models, tier, model):
    import coremltools as ct

    tier[model, "coreml"] = {"check": "converts; declared input, output and operations", "result": "failed"}
    spec = ct.models.MLModel(str(export(models[model], "coreml")), skip_model_load=True).get_spec()
    image, = spec.description.input
    output, = spec.description.output
    assert spec.WhichOneof("Type") == "mlProgram"
    assert (image.name, image.type.WhichOneof("Type")) == ("image", "imageType")
    assert (image.type.imageType.width, image.type.imageType.height) == (IMGSZ, IMGSZ)
    assert list(output.type.multiArrayType.shape) == [1, 4 + 3, ANCHORS]
    assert spec.description.metadata.userDefined["names"] == "{0: 'square', 1: 'disc', 2: 'triangle'}"
    ops = coreml_ops(spec)
    assert set(ops) == HEAD_OPS | BACKBONE_OPS[model], sorted(ops)
    tier[model, "coreml"].update(result="passed", detail=f"{sum(ops.values()) - ops['const']} operations of "
                                                         f"{len(ops) - 1} standard types")


def test_coreml_with_nms_is_a_pipeline_giving_boxes_and_scores(models, tier):
    import coremltools as ct

    tier["repvit", "coreml-nms"] = {"check": "nms=True: pipeline with NMS, declared interface", "result": "failed"}
    spec = ct.models.MLModel(str(export(models["repvit"], "coreml-nms")), skip_model_load=True).get_spec()
    assert spec.WhichOneof("Type") == "pipeline"
    assert [i.name for i in spec.description.input] == ["image", "iouThreshold", "confidenceThreshold"]
    assert [o.name for o in spec.description.output] == ["confidence", "coordinates"]
    detector, nms = spec.pipeline.models
    assert {"conv", "gelu", "reduce_mean"} <= set(coreml_ops(detector))
    assert list(nms.nonMaximumSuppression.stringClassLabels.vector)[:3] == ["square", "disc", "triangle"]
    tier["repvit", "coreml-nms"].update(result="passed", detail="detector program, then NMS")


# The layer types of the RepViT detector's NCNN graph: what a phone's NCNN build (or a delegate) must support.
NCNN_LAYERS = {"BinaryOp", "Concat", "Convolution", "ConvolutionDepthWise", "GELU", "Input", "Interp", "MatMul",
               "MemoryData", "Permute", "Pooling", "Reduction", "Reshape", "Sigmoid", "Slice", "Softmax", "Split",
               "Swish"}


def test_ncnn_graph_of_repvit_holds_only_standard_layers(models, tier):
    import ncnn

    tier["repvit", "ncnn-graph"] = {"check": "NCNN graph: built-in layer types only", "result": "failed"}
    param = export(models["repvit"], "ncnn") / "model.ncnn.param"
    layers = Counter(line.split()[0] for line in param.read_text().splitlines()[2:])  # after magic and counts
    assert [t for t in layers if ncnn.layer_to_index(t) < 0] == []  # every type is one ncnn builds in
    assert set(layers) == NCNN_LAYERS, sorted(layers)
    tier["repvit", "ncnn-graph"].update(result="passed", detail=", ".join(f"{t} {n}" for t, n in layers.most_common()))


def test_latency_benchmark_quick_mode_writes_every_row(tmp_path):
    run([sys.executable, ROOT / "benchmarks" / "deploy_latency.py", "--quick", "--out", tmp_path],
        env=EXPORT_ENV, cwd=tmp_path)
    text = (tmp_path / "deploy_latency-quick.md").read_text()
    assert "```bash\npython benchmarks/deploy_latency.py --quick\n```" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert header.split("|")[1:3] == [" runtime ", " `yolo11n.yaml` ms "]
    assert [row.split("|")[1].strip() for row in rows] == ["PyTorch", "ONNX Runtime", "OpenVINO", "NCNN", "MNN",
                                                           "LiteRT", "ExecuTorch"]
    assert all(row.rstrip(" |").endswith("x") for row in rows)


def write_summary(rows):
    """The tier's results as benchmarks/results/deploy_tier.md: the command, one row per case, the versions."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _machine import describe
    from _mdtable import facts, publish, table

    versions = [(name, importlib.metadata.version(name)) for name in NEEDED]
    text = ("# Deploy tier: exports to phone and edge formats\n\n```bash\npip install '.[test,deploy]'\n"
            "pytest --deploy tests/test_deploy.py\n```\n\n"
            f"`yolo11n-repvit.yaml` and `yolo11n-mobilenetv4.yaml` trained 2 epochs at {IMGSZ} px on generated shapes, "
            "exported with `yolo export`, each runnable export loaded with `YOLO(exported)` in a process that never "
            "imports the plugin or timm. Differences are the largest absolute ones from fused PyTorch: raw box "
            "coordinates (pixels) and class scores on a fixed input, and the detections of `predict(conf=0.001)` "
            "on a validation image.\n\n"
            + table(["model", "format", "check", "result", "detail"],
                    [(model, fmt, row["check"], row["result"], row.get("detail", ""))
                     for (model, fmt), row in sorted(rows.items(), key=lambda kv: CASES.index(kv[0]))])
            + "\n## Converters and runtimes\n\n" + facts(versions)
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads())))
    publish(text, ROOT / "benchmarks" / "results" / "deploy_tier.md")

