"""What reparameterisation buys: CPU latency of RepViT backbones and detectors, unfused vs fused.

    python benchmarks/fuse_latency.py          # writes benchmarks/results/fuse_latency.md
    python benchmarks/fuse_latency.py --quick  # one variant, 320 px, few repetitions

Batch 1, PyTorch eager (no grad) and ONNX Runtime (CPU provider, opset 17), at 320 and 640 px.
Candidates are timed round-robin in the same loop, so machine noise hits all of them alike;
each figure is a median, and the ratio column compares fused with unfused in the same run.
"""

import argparse
import io
import platform
import statistics
import sys
import time
from pathlib import Path

from machine import cpu_name
from mdtable import publish, table

import onnxruntime
import torch
import ultralytics

import yolo_repvit  # noqa: F401
from ultralytics import YOLO
from ultralytics.nn import tasks

OUT = Path(__file__).parent / "results" / "fuse_latency.md"


def networks(variant, fused):
    """The backbone alone (layers 0-4) and the whole YOLO11n-head detector, in eval mode."""
    backbone = getattr(tasks, variant)(1.0).eval()
    detector = YOLO(f"yolo11n-repvit-{variant.removeprefix('repvit_')}.yaml").model.eval()
    if fused:
        for layer in backbone:
            layer.fuse()
        detector.fuse(verbose=False)
    return {"backbone": backbone, "detector": detector}


def onnx_session(net, x):
    buffer = io.BytesIO()
    torch.onnx.export(net, x, buffer, opset_version=17, dynamo=False)
    return onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])


def runners(net, x):
    """One callable per runtime, each running ``net`` once on ``x``."""
    session = onnx_session(net, x)
    feed = {session.get_inputs()[0].name: x.numpy()}

    def eager():
        with torch.no_grad():
            net(x)

    return {"PyTorch": eager, "ONNX Runtime": lambda: session.run(None, feed)}


def median_ms(candidates, repeats):
    """Median latency in ms of each candidate, timing them in turn within every round."""
    for run in candidates.values():
        run()  # warm-up
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="repvit_m0_6 at 320 px only, 3 repetitions")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    variants = ["repvit_m0_6"] if args.quick else ["repvit_m0_6", "repvit_m0_9", "repvit_m1_1"]
    sizes = [320] if args.quick else [320, 640]
    repeats = 3 if args.quick else 15

    rows = []
    for variant in variants:
        plain, fused = networks(variant, False), networks(variant, True)
        for size in sizes:
            x = torch.rand(1, 3, size, size)
            for part in ("backbone", "detector"):
                candidates = {}
                for label, nets in (("unfused", plain), ("fused", fused)):
                    for runtime, run in runners(nets[part], x).items():
                        candidates[label, runtime] = run
                ms = median_ms(candidates, repeats)
                for runtime in ("PyTorch", "ONNX Runtime"):
                    before, after = ms["unfused", runtime], ms["fused", runtime]
                    rows.append((variant, part, size, runtime, before, after, before / after))
            print(f"done {variant} {size}px", file=sys.stderr)

    machine = (f"{cpu_name()}, {torch.get_num_threads()} torch threads; Python {platform.python_version()}, "
               f"torch {torch.__version__}, ultralytics {ultralytics.__version__}, onnxruntime {onnxruntime.__version__}")
    text = f"Machine: {machine}. Median of {repeats} runs, batch 1, ms.\n\n" + table(
        ["variant", "network", "size", "runtime", "unfused ms", "fused ms", "speed-up"],
        [(v, p, s, r, f"{b:.1f}", f"{a:.1f}", f"{k:.2f}x") for v, p, s, r, b, a, k in rows])
    publish(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
