"""Does INT8 keep accuracy: OpenVINO INT8 (NNCF) of yolo11n-repvit beside yolo11n, on images nobody calibrated on.

    python benchmarks/int8.py            # both generated datasets; reuses model_selection.py's trained runs
    python benchmarks/int8.py --quick --out DIR   # toy sizes: the smoke test

The models are model_selection.py's runs (trained through ``yolo_repvit.compare`` with the same
``--work``, so nothing trains twice): 30 epochs at 128 px with ``cfg=repvit-scratch.yaml``.  Each
``best.pt`` is exported to OpenVINO twice with ultralytics' own ``export``: FP32, and INT8
(``int8=True``), whose NNCF calibration reads the training images (``split=train``).  All three
(PyTorch, FP32, INT8) are validated on held-back images: a new draw of the dataset's validation
scenes (seed 1), which neither training, model selection nor calibration saw.  Retention is INT8
mAP50-95 over FP32 mAP50-95, next to yolo11n's.
"""

import argparse
import sys
import tempfile
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


def held_back(kind, work, sizes):
    """A data.yaml whose validation images are a new draw (seed 1) of dataset ``kind``'s validation scenes."""
    root = Path(work) / "held-back" / kind
    if not (root / "data.yaml").is_file():
        make_scenes(kind, root, train=0, val=sizes["held_back"], imgsz=sizes["imgsz"], seed=1)
    return root / "data.yaml"


def scores(weights, data, calibration, imgsz):
    """mAP50-95 on ``data`` of ``weights`` in PyTorch, OpenVINO FP32 and OpenVINO INT8 (calibrated on
    ``calibration``'s training images)."""
    found = {}
    for name, model in (("pytorch", weights),
                        ("fp32", YOLO(weights).export(format="openvino", imgsz=imgsz, device="cpu")),
                        ("int8", YOLO(weights).export(format="openvino", imgsz=imgsz, int8=True, data=str(calibration),
                                                      split="train", device="cpu"))):
        metrics = YOLO(model, task="detect").val(data=str(data), imgsz=imgsz, batch=1, device="cpu", plots=False,
                                                 verbose=False)
        found[name] = metrics.box.map
    return found


def report(rows, sizes, command):
    header = ("dataset", "model", "PyTorch", "OpenVINO FP32", "OpenVINO INT8", "INT8 / FP32")
    cells = [[kind, f"`{model}`", f"{s['pytorch']:.3f}", f"{s['fp32']:.3f}", f"{s['int8']:.3f}",
              f"{s['int8'] / s['fp32']:.3f}" if s["fp32"] else "n/a (FP32 found nothing)"] for kind, model, s in rows]
    return (f"# INT8 retention: OpenVINO INT8 (NNCF) beside FP32\n\n```bash\n{command}\n```\n\n"
            f"mAP50-95 on {sizes['held_back']} held-back images per dataset (validation scenes drawn with seed 1, seen "
            f"by no training, selection or calibration) of `best.pt` trained {sizes['epochs']} epochs at "
            f"{sizes['imgsz']} px with `cfg=repvit-scratch.yaml` (`benchmarks/model_selection.py`'s runs, seed 0), "
            "exported with ultralytics' `export(format=\"openvino\")` and, for INT8, `int8=True` calibrated on the "
            f"{sizes['images']} training images (`split=\"train\"`).\n\n" + table(header, cells)
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads())))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="toy sizes, one dataset: a smoke test")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "yolo-repvit-model-selection",
                        help="model_selection.py's comparison folders, whose runs are reused")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report is written")
    args = parser.parse_args(argv)
    sizes = {**(QUICK if args.quick else FULL), "held_back": 8 if args.quick else HELD_BACK}
    rows = []
    for kind in DATASETS[:1] if args.quick else DATASETS:
        for summary in run(kind, list(MODELS), 1, "onnx", args.work, sizes):
            weights = Path(args.work) / kind / "runs" / summary["runs"][0]["weights"]
            rows.append((kind, Path(summary["model"]).name,
                         scores(str(weights), held_back(kind, args.work, sizes), dataset(kind, args.work, sizes),
                                sizes["imgsz"])))
    name = "int8" + ("-quick" if args.quick else "")
    publish(report(rows, sizes, "python benchmarks/int8.py" + (" --quick" if args.quick else "")),
            args.out / f"{name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
