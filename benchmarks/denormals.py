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
from pathlib import Path

import numpy as np
import torch

from _machine import describe
from _mdtable import facts, publish, table
from _probes import onnx_session
from _timing import Probe, race

RESULTS = Path(__file__).parent / "results"
MODELS = ("yolo11n", "yolo26n", "yolo11n-repvit-w0.5", "yolo11n-repvit-w0.75", "yolo26n-repvit-w0.75",
          "yolo11n-repvit", "yolo11n-mobilenetv4")


def probes(path, image):
    """``{"plain": Probe, "flushed": Probe}``: one inference of the export ``path``, without and with flush-to-zero."""
    session = onnx_session(path, 1)
    feed = {session.get_inputs()[0].name: image}

    def run(flush):
        torch.set_flush_denormal(flush)
        return session.run(None, feed)

    return {"plain": Probe(lambda: run(False)), "flushed": Probe(lambda: run(True))}


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
    rows = []
    for kind in dict.fromkeys(kind for kind, _ in exports):  # each beside the yolo11n trained on the same data
        models = {model: probes(path, image) for (k, model), path in exports.items() if k == kind}
        timed = race(models, dict.fromkeys(models, args.rounds), reference="yolo11n")
        torch.set_flush_denormal(False)
        for model, t in timed.items():
            plain, flushed = t["plain"], t["flushed"]
            rows.append([kind, f"`{model}`", f"{plain.seconds * 1e3:.1f}", f"{flushed.seconds * 1e3:.1f}",
                         f"{plain.seconds / flushed.seconds:.2f}x", f"{plain.ratio:.2f}x", f"{flushed.ratio:.2f}x"])
    header = ("trained on", "model", "ms, as ultralytics runs it", "ms, flush-to-zero", "slowdown from subnormals",
              "vs yolo11n", "vs yolo11n, both flushed")
    command = "python benchmarks/denormals.py" + (f" --imgsz {args.imgsz}" if args.imgsz != 640 else "")
    publish(f"# Subnormal floats and ONNX Runtime latency of trained models\n\n```bash\n{command}\n"
            "```\n\nSeed-0 `best.pt` of `benchmarks/model_selection.py`, exported to ONNX at "
            f"{args.imgsz} px, batch 1, one thread, a random image; fastest of {args.rounds} rounds, each run taken "
            "beside one of the yolo11n trained on the same data (the ratios are to those), without and with "
            "flush-to-zero.\n\n"
            + table(header, rows) + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), 1)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
