"""Does INT8 keep accuracy: OpenVINO INT8 (NNCF) and LiteRT INT8 of yolo11n-repvit beside yolo11n, on images nobody
calibrated on.

    python benchmarks/int8.py            # both generated datasets, both formats; reuses model_selection.py's runs
    python benchmarks/int8.py --formats openvino  # one format (LiteRT needs the deploy extra)
    python benchmarks/int8.py --formats litert-w8a16  # LiteRT with INT8 weights and INT16 activations
    python benchmarks/int8.py --quick --formats openvino --out DIR   # toy sizes: the smoke test

The models are model_selection.py's runs (trained through ``yolo_repvit.compare`` with the same
``--work``, so nothing trains twice): 30 epochs at 128 px with ``cfg=repvit-scratch.yaml``.  Each
``best.pt`` is exported with ultralytics' own ``export`` to every format asked for twice: FP32, and INT8
(``int8=True``; for ``litert-w8a16``, ``quantize="w8a16"``), whose calibration reads the training images
(``split=train``): NNCF for OpenVINO, ai-edge-quantizer's static recipes for LiteRT.  Every model (PyTorch, and each
format's FP32 and INT8) is validated on held-back images: a new draw of the dataset's validation scenes
(seed 1), which neither training, model selection nor calibration saw.  Retention is INT8 mAP50-95 over
the same format's FP32 mAP50-95, next to yolo11n's.

Needs ``pip install '.[benchmarks]'``, and for LiteRT also ``pip install '.[deploy]'``: a format whose
packages are missing stops the script before anything trains, since ultralytics would otherwise try to
pip-install them.
"""

import argparse
import importlib.metadata
import importlib.util
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from ultralytics import YOLO

from _machine import describe
from _mdtable import facts, publish, table
from _scenes import make_scenes
from model_selection import DATASETS, FULL, QUICK, dataset, run

RESULTS = Path(__file__).parent / "results"
MODELS = ("yolo11n.yaml", "yolo11n-repvit.yaml")
HELD_BACK = 96  # validation scenes of seed 1


@dataclass(frozen=True)
class Format:
    """One quantized export measured beside the FP32 export of the same ultralytics format."""

    name: str  # in the report
    export: str  # ultralytics' format
    quantized: dict  # the export arguments of the quantized model
    label: str  # what the quantized model is called in the report's columns
    how: str  # the report's sentence on how it is made
    modules: tuple  # what its export and runtime import
    extra: str  # the extra that installs them
    distributions: tuple  # whose versions the report records


LITERT = (("litert_torch", "ai_edge_litert", "ai_edge_quantizer"), "deploy",
          ("litert-torch", "ai-edge-litert", "ai-edge-quantizer"))
FORMATS = {
    "openvino": Format("OpenVINO", "openvino", {"int8": True}, "INT8",
                       "`export(format=\"openvino\", int8=True)` quantizes with NNCF", ("openvino", "nncf"),
                       "benchmarks", ("openvino", "nncf")),
    "litert": Format("LiteRT", "litert", {"int8": True}, "INT8",
                     "`export(format=\"litert\", int8=True)` writes `best_int8.tflite`, INT8 weights and activations "
                     "(ai-edge-quantizer's static recipe) with FP32 input and output", *LITERT),
    "litert-w8a16": Format("LiteRT", "litert", {"quantize": "w8a16"}, "w8a16",
                           "`export(format=\"litert\", quantize=\"w8a16\")` (ultralytics 8.4) keeps INT8 weights "
                           "but INT16 activations", *LITERT),
}


def check_installed(formats):
    """Fail before any training if a format's packages are missing, naming the extra that installs them."""
    for fmt in formats:
        missing = [module for module in FORMATS[fmt].modules if importlib.util.find_spec(module) is None]
        if missing:
            others = " ".join(f for f in formats if FORMATS[f].extra != FORMATS[fmt].extra)
            instead = f", or measure --formats {others} alone" if others else ""
            raise SystemExit(f"int8.py: {FORMATS[fmt].name} needs {', '.join(missing)}, not installed here; install "
                             f"the {FORMATS[fmt].extra} extra: pip install '.[{FORMATS[fmt].extra}]'{instead}")


def held_back(kind, work, sizes):
    """A data.yaml whose validation images are a new draw (seed 1) of dataset ``kind``'s validation scenes."""
    root = Path(work) / "held-back" / kind
    if not (root / "data.yaml").is_file():
        make_scenes(kind, root, train=0, val=sizes["held_back"], imgsz=sizes["imgsz"], seed=1)
    return root / "data.yaml"


def scores(weights, data, calibration, imgsz, formats):
    """mAP50-95 on ``data`` of ``weights`` in PyTorch (key ``"pytorch"``) and, per format, FP32 and INT8
    (keys ``(format, "fp32")``, ``(format, "int8")``), INT8 calibrated on ``calibration``'s training images."""
    models, fp32 = {"pytorch": weights}, {}
    for fmt in formats:
        export = FORMATS[fmt].export
        fp32.setdefault(export, YOLO(weights).export(format=export, imgsz=imgsz, device="cpu"))
        models[fmt, "fp32"] = fp32[export]
        models[fmt, "int8"] = YOLO(weights).export(format=export, imgsz=imgsz, data=str(calibration), split="train",
                                                   device="cpu", **FORMATS[fmt].quantized)
    found = {}
    for model in models.values():
        if model not in found:  # one FP32 export serves every quantization of its format
            found[model] = YOLO(model, task="detect").val(data=str(data), imgsz=imgsz, batch=1, device="cpu",
                                                          plots=False, verbose=False).box.map
    return {key: found[model] for key, model in models.items()}


def retention(s, fmt):
    """INT8 over FP32 of one format: a ratio to the same format's FP32 separates quantization from export."""
    return f"{s[fmt, 'int8'] / s[fmt, 'fp32']:.3f}" if s[fmt, "fp32"] else "n/a (FP32 found nothing)"


def report(rows, sizes, formats, command):
    names = [FORMATS[fmt].name for fmt in formats]
    first = {next(f for f in formats if FORMATS[f].export == FORMATS[fmt].export) for fmt in formats}  # FP32 once
    header = ["dataset", "model", "PyTorch"] + [
        col for fmt in formats for f in [FORMATS[fmt]]
        for col in ([f"{f.name} FP32"] if fmt in first else []) + [f"{f.name} {f.label}", f"{f.name} {f.label} / FP32"]]
    cells = [[kind, f"`{model}`", f"{s['pytorch']:.3f}"]
             + [cell for fmt in formats
                for cell in ([f"{s[fmt, 'fp32']:.3f}"] if fmt in first else []) + [f"{s[fmt, 'int8']:.3f}",
                                                                                    retention(s, fmt)]]
             for kind, model, s in rows]
    versions = [(dist, importlib.metadata.version(dist))
                for dist in dict.fromkeys(d for fmt in formats for d in FORMATS[fmt].distributions)]
    return (f"# INT8 retention: {' and '.join(dict.fromkeys(names))} INT8 beside FP32\n\n```bash\n{command}\n```\n\n"
            f"mAP50-95 on {sizes['held_back']} held-back images per dataset (validation scenes drawn with seed 1, seen "
            f"by no training, selection or calibration) of `best.pt` trained {sizes['epochs']} epochs at "
            f"{sizes['imgsz']} px with `cfg=repvit-scratch.yaml` (`benchmarks/model_selection.py`'s runs, seed 0), "
            f"exported with ultralytics' `export` at {sizes['imgsz']} px, FP32 and INT8; INT8 is calibrated on the "
            f"{sizes['images']} training images (`split=\"train\"`): "
            + "; ".join(FORMATS[fmt].how for fmt in formats) + ".\n\n" + table(header, cells)
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads()) + versions))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="toy sizes, one dataset: a smoke test")
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS),
                        help="export formats to quantize (default: all; litert needs pip install '.[deploy]')")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "yolo-repvit-model-selection",
                        help="model_selection.py's comparison folders, whose runs are reused")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report is written")
    args = parser.parse_args(argv)
    formats = [fmt for fmt in FORMATS if fmt in args.formats]  # one order, whatever the command line's
    check_installed(formats)
    sizes = {**(QUICK if args.quick else FULL), "held_back": 8 if args.quick else HELD_BACK}
    rows = []
    for kind in DATASETS[:1] if args.quick else DATASETS:
        for summary in run(kind, list(MODELS), 1, "onnx", args.work, sizes):
            weights = Path(args.work) / kind / "runs" / summary["runs"][0]["weights"]
            rows.append((kind, Path(summary["model"]).name,
                         scores(str(weights), held_back(kind, args.work, sizes), dataset(kind, args.work, sizes),
                                sizes["imgsz"], formats)))
    command = ("python benchmarks/int8.py" + (" --quick" if args.quick else "")
               + ("" if formats == list(FORMATS) else " --formats " + " ".join(formats)))
    publish(report(rows, sizes, formats, command), args.out / ("int8" + ("-quick" if args.quick else "") + ".md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
