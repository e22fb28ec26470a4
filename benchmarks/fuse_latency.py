"""What reparameterisation buys: CPU latency of RepViT backbones and detectors, unfused vs fused.

    python benchmarks/fuse_latency.py                    # writes benchmarks/results/fuse_latency.md
    python benchmarks/fuse_latency.py --quick --out DIR  # one variant, 320 px, 3 rounds: DIR/fuse_latency-quick.md

Batch 1, PyTorch eager (no grad) and ONNX Runtime (CPU provider, opset 17), at 320 and 640 px.
Fused and unfused runs are taken side by side and the fastest of each kept (``_timing.race``).
"""

import argparse
import io
import sys
from pathlib import Path

from _machine import describe
from _mdtable import facts, publish, table
from _timing import Probe, race

import onnxruntime
import torch

import yolo_repvit  # noqa: F401
from ultralytics import YOLO
from ultralytics.nn import tasks

RESULTS = Path(__file__).parent / "results"


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


def probes(net, x):
    """One probe per runtime, each running ``net`` once on ``x``."""
    session = onnx_session(net, x)
    feed = {session.get_inputs()[0].name: x.numpy()}

    def eager():
        with torch.no_grad():
            net(x)

    return {"PyTorch": Probe(eager), "ONNX Runtime": Probe(lambda: session.run(None, feed))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="repvit_m0_6 at 320 px only, 3 repetitions")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for fuse_latency.md (-quick.md)")
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
                timed = race({"unfused": probes(plain[part], x), "fused": probes(fused[part], x)},
                             {"fused": repeats}, reference="unfused")
                for runtime, after in timed["fused"].items():
                    before = timed["unfused"][runtime].seconds
                    rows.append((variant, part, size, runtime, before * 1e3, after.seconds * 1e3, 1 / after.ratio))
            print(f"done {variant} {size}px", file=sys.stderr)

    command = "python benchmarks/fuse_latency.py" + (" --quick" if args.quick else "")
    text = (f"# Fused against unfused RepViT, CPU latency\n\n```bash\n{command}\n```\n\n"
            f"Fastest of {repeats} runs each, taken side by side, batch 1, ms.\n\n"
            + table(["variant", "network", "size", "runtime", "unfused ms", "fused ms", "speed-up"],
                    [(v, p, s, r, f"{b:.1f}", f"{a:.1f}", f"{k:.2f}x") for v, p, s, r, b, a, k in rows])
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads())))
    args.out.mkdir(parents=True, exist_ok=True)
    publish(text, args.out / f"fuse_latency{'-quick' if args.quick else ''}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
