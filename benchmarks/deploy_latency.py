"""Latency in each deploy runtime: yolo11n-repvit and yolo11n-mobilenetv4 beside yolo11n, on this CPU.

    python benchmarks/deploy_latency.py                    # writes benchmarks/results/deploy_latency.md
    python benchmarks/deploy_latency.py --quick --out DIR  # 64 px, 2 rounds: DIR/deploy_latency-quick.md

Needs ``pip install '.[benchmarks,deploy]'``.  Each model is built from its shipped YAML (untrained: weights
do not change the time), saved, exported with ultralytics' own ``export`` to every format that runs on
Linux, and each export is run in its own runtime through that runtime's Python API, with every runtime
held to ``THREADS`` threads, batch 1, FP32.  All models are timed side by side in one process
(``_timing.race``: alternating rounds, fastest run kept), so a ratio to yolo11n holds up when the
machine's load does not.  CoreML is not timed: it runs on Apple devices only.
"""

import argparse
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from ultralytics import YOLO

import yolo_repvit  # noqa: F401  makes ultralytics resolve the shipped YAMLs and build their backbones
from _machine import describe
from _mdtable import facts, publish, table
from _probes import onnx_session
from _timing import Probe, race

RESULTS = Path(__file__).parent / "results"
MODELS = ("yolo11n.yaml", "yolo11n-repvit.yaml", "yolo11n-mobilenetv4.yaml")  # the first is the reference
THREADS = 1  # per runtime: a shared machine's other work makes parallel kernels wait on their slowest thread
# Runtime: (ultralytics' format, the modules its export and runtime need)
RUNTIMES = {"PyTorch": (None, ()), "ONNX Runtime": ("onnx", ("onnxruntime",)), "OpenVINO": ("openvino", ("openvino",)),
            "NCNN": ("ncnn", ("pnnx", "ncnn")), "MNN": ("mnn", ("MNN",)),
            "LiteRT": ("litert", ("litert_torch", "ai_edge_litert")), "ExecuTorch": ("executorch", ("executorch",))}


def pytorch(model, x):
    net = YOLO(model).model.fuse(verbose=False).eval()
    tensor = torch.from_numpy(x)

    def forward():
        with torch.no_grad():
            net(tensor)

    return forward


def onnx_runtime(exported, x):
    session = onnx_session(exported, THREADS)
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)


def openvino(exported, x):
    import openvino as ov

    config = {"INFERENCE_NUM_THREADS": THREADS, "INFERENCE_PRECISION_HINT": "f32"}  # f32: not bf16 where it could
    compiled = ov.Core().compile_model(str(next(Path(exported).glob("*.xml"))), "CPU", config)
    return lambda: compiled(x)


def ncnn_runtime(exported, x):
    import ncnn

    net = ncnn.Net()
    net.opt.num_threads, net.opt.use_vulkan_compute = THREADS, False
    net.load_param(str(Path(exported) / "model.ncnn.param"))
    net.load_model(str(Path(exported) / "model.ncnn.bin"))
    image = ncnn.Mat(x[0])

    def forward():
        with net.create_extractor() as extractor:
            extractor.input(net.input_names()[0], image)
            return extractor.extract(net.output_names()[0])

    return forward


def mnn(exported, x):
    import MNN

    manager = MNN.nn.create_runtime_manager(({"backend": "CPU", "numThread": THREADS, "precision": "normal"},))
    net = MNN.nn.load_module_from_file(str(exported), [], [], runtime_manager=manager, rearrange=True)
    return lambda: net.onForward([MNN.expr.const(x, list(x.shape))])[0].read()


def litert(exported, x):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported), num_threads=THREADS)
    interpreter.allocate_tensors()
    source, result = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]

    def forward():
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return interpreter.get_tensor(result)

    return forward


def executorch(exported, x):
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    portable_lib._unsafe_reset_threadpool(THREADS)  # XNNPACK's pool is sized to the cores otherwise
    method = Runtime.get().load_program(str(next(Path(exported).glob("*.pte")))).load_method("forward")
    tensor = torch.from_numpy(x)
    return lambda: method.execute([tensor])


RUNNERS = {"ONNX Runtime": onnx_runtime, "OpenVINO": openvino, "NCNN": ncnn_runtime, "MNN": mnn, "LiteRT": litert,
           "ExecuTorch": executorch}


def check_installed():
    """Fail before any export if a runtime is missing: ultralytics would otherwise try to pip-install it."""
    modules = [module for _, needed in RUNTIMES.values() for module in needed]
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise SystemExit(f"deploy_latency.py needs {', '.join(missing)}, not installed here; "
                         "install the benchmarks and deploy extras: pip install '.[benchmarks,deploy]'")


def probes(config, work, x, imgsz):
    """``{runtime: Probe}`` for the model of ``config``, exported to every format into ``work``."""
    model = YOLO(config)
    weights = work / (Path(config).stem + ".pt")
    model.save(weights)  # exports are written beside their source: here, not beside the shipped YAML
    found = {"PyTorch": Probe(pytorch(weights, x))}
    for runtime, (fmt, _) in list(RUNTIMES.items())[1:]:
        exported = YOLO(weights).export(format=fmt, imgsz=imgsz, device="cpu")
        found[runtime] = Probe(RUNNERS[runtime](exported, x))
        found[runtime].run()  # fails here, naming the runtime, if the export does not run
        print(f"exported {config} to {runtime}", file=sys.stderr, flush=True)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 px and 2 rounds: a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for deploy_latency.md (-quick.md)")
    args = parser.parse_args(argv)
    check_installed()
    # MNN 3.6.1's converter runs `pip install -U aliyun-log-python-sdk` (its usage logging) on first import,
    # which would downgrade protobuf here; keeping pip off the index makes that install fail harmlessly.
    os.environ["PIP_NO_INDEX"] = "1"
    torch.set_num_threads(THREADS)
    imgsz, rounds = (64, 2) if args.quick else (320, 20)
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    with tempfile.TemporaryDirectory() as work:
        timed = race({config: probes(config, Path(work), x, imgsz) for config in MODELS},
                     {config: rounds for config in MODELS[1:]}, reference=MODELS[0])

    reference, others = MODELS[0], MODELS[1:]
    header = ["runtime", f"`{reference}` ms"] + [cell for c in others for cell in (f"`{c}` ms", "vs yolo11n")]
    rows = [[runtime, f"{timed[reference][runtime].seconds * 1e3:.1f}"]
            + [cell for c in others for cell in (f"{timed[c][runtime].seconds * 1e3:.1f}",
                                                 f"{timed[c][runtime].ratio:.2f}x")]
            for runtime in RUNTIMES]
    command = "python benchmarks/deploy_latency.py" + (" --quick" if args.quick else "")
    versions = [(module, importlib.metadata.version(name)) for module, name in
                (("ncnn", "ncnn"), ("pnnx", "pnnx"), ("MNN", "MNN"), ("litert-torch", "litert-torch"),
                 ("ai-edge-litert", "ai-edge-litert"), ("executorch", "executorch"), ("openvino", "openvino"))]
    text = (f"# Deploy formats: CPU latency beside yolo11n\n\n```bash\n{command}\n```\n\n"
            f"Batch 1, {imgsz} px, FP32, {THREADS} thread per runtime; fastest of {rounds} runs, each taken beside a "
            "run of yolo11n in the same runtime (the ratio is to that). Untrained models built from the shipped "
            "YAMLs, exported with ultralytics' `export` and run through each runtime's own Python API "
            "(LiteRT and ExecuTorch with their XNNPACK delegate).\n\n" + table(header, rows)
            + "\n## Runtimes\n\n" + facts(versions)
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), THREADS)))
    publish(text, args.out / f"deploy_latency{'-quick' if args.quick else ''}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
