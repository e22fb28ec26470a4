"""Does a trained model's ONNX Runtime latency depend on its weights?  Timed with and without flushing subnormals.

    python benchmarks/denormals.py    # after model_selection.py: times its seed-0 n exports of both datasets

The same architecture trained on the two generated datasets can run at different speeds in ONNX Runtime on an x86
CPU: when activations become subnormal (|x| < 1.2e-38), the CPU takes a slow path for every operation on them.  Each
export is timed twice, in rounds, side by side: as ultralytics runs it (one thread; the calling thread does not flush
subnormals), and with flush-to-zero set on that thread (``torch.set_flush_denormal(True)``, which sets the CPU's
FTZ/DAZ bits for the thread ONNX Runtime computes on).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from _machine import describe
from _mdtable import facts, publish, table

RESULTS = Path(__file__).parent / "results"
MODELS = ("yolo11n", "yolo26n", "yolo11n-repvit-w0.5", "yolo11n-repvit-w0.75", "yolo26n-repvit-w0.75",
          "yolo11n-repvit", "yolo11n-mobilenetv4")


def session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def fastest(sessions, image, rounds):
    """``{(name, flush): fastest ms}``: every round runs each session once without and once with flush-to-zero."""
    best = {}
    for _ in range(rounds):
        for name, s in sessions.items():
            for flush in (False, True):
                torch.set_flush_denormal(flush)
                start = time.perf_counter()
                s.run(None, {s.get_inputs()[0].name: image})
                ms = (time.perf_counter() - start) * 1000
                best[name, flush] = min(best.get((name, flush), float("inf")), ms)
    torch.set_flush_denormal(False)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "yolo-repvit-model-selection",
                        help="model_selection.py's comparison folders")
    parser.add_argument("--imgsz", type=int, default=640, help="the size the exports were made at")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS / "denormals.md")
    args = parser.parse_args(argv)
    exports = {(kind, model): path for kind in ("digits", "photo") for model in MODELS
               for path in (args.work / kind / "exports" / f"onnx-{args.imgsz}").glob(f"{model}-seed0-*.onnx")}
    if not exports:
        sys.exit(f"no seed-0 ONNX exports at {args.imgsz} px under {args.work}: "
                 "run benchmarks/model_selection.py first")
    torch.set_num_threads(1)
    image = np.random.default_rng(0).random((1, 3, args.imgsz, args.imgsz), dtype=np.float32)
    best = fastest({key: session(path) for key, path in exports.items()}, image, args.rounds)
    rows = []
    for kind, model in exports:
        plain, flushed = best[(kind, model), False], best[(kind, model), True]
        reference = best[(kind, "yolo11n"), False]
        rows.append([kind, f"`{model}`", f"{plain:.1f}", f"{flushed:.1f}", f"{plain / flushed:.2f}x",
                     f"{plain / reference:.2f}x", f"{flushed / best[(kind, 'yolo11n'), True]:.2f}x"])
    header = ("trained on", "model", "ms, as ultralytics runs it", "ms, flush-to-zero", "slowdown from subnormals",
              "vs yolo11n", "vs yolo11n, both flushed")
    command = "python benchmarks/denormals.py" + (f" --imgsz {args.imgsz}" if args.imgsz != 640 else "")
    publish(f"# Subnormal floats and ONNX Runtime latency of trained models\n\n```bash\n{command}\n"
            "```\n\nSeed-0 `best.pt` of `benchmarks/model_selection.py`, exported to ONNX at "
            f"{args.imgsz} px, batch 1, one thread, a random image; fastest of "
            f"{args.rounds} rounds, every model timed with and without flush-to-zero in each round.\n\n"
            + table(header, rows) + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), 1)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
