"""What reparameterization buys: CPU latency of backbones and detectors, unfused vs fused.

    python benchmarks/fuse_latency.py                    # writes benchmarks/results/fuse_latency.md
    python benchmarks/fuse_latency.py --quick --out DIR  # two backbones, 320 px, 3 rounds: DIR/fuse_latency-quick.md

Measured for three RepViT variants and for the smallest model of every tested timm family whose
``fuse()`` has something to reparameterize (``TIMM``).  Batch 1, one thread, PyTorch eager (no
grad) and ONNX Runtime (CPU provider, opset 17), at 320 and 640 px.
Fused and unfused runs are taken side by side and the fastest of each kept (``_timing.race``).
"""

import argparse
import io
import sys
from pathlib import Path

import onnxruntime
import torch
from ultralytics.nn.tasks import DetectionModel

import _shipped
import yolo_repvit
from _machine import describe
from _mdtable import facts, publish, table
from _timing import Probe, race

RESULTS = Path(__file__).parent / "results"
REPVIT = ("repvit_m0_6", "repvit_m0_9", "repvit_m1_1")
# Smallest model of each tested timm family whose fuse() reparameterizes, as `yolo-repvit backbones` reports them
TIMM = ("fastvit_t8", "mobileone_s0", "repvgg_a0", "repghostnet_050", "tiny_vit_5m_224")
THREADS = 1  # per runtime: a shared machine's other work makes parallel kernels wait on their slowest thread


def row(name):
    """The backbone row's module and arguments for ``name``: a RepViT variant at width 1.0, or a Timm row."""
    return (name, [1.0]) if name.startswith("repvit_") else ("Timm", [name])


def backbone(name):
    module, args = row(name)
    return yolo_repvit.backbone(module, *args)


def networks(name, fused):
    """The backbone alone (layers 0-4) and the whole YOLO11n-head detector, in eval mode."""
    d = _shipped.load("yolo11-repvit.yaml")
    d["backbone"][0], d["scale"] = [-1, 1, *row(name)], "n"
    nets = {"backbone": backbone(name).eval(), "detector": DetectionModel(d, verbose=False).eval()}
    if fused:
        nets["backbone"].fuse()
        nets["detector"].fuse(verbose=False)
    return nets


def onnx_session(net, x):
    buffer = io.BytesIO()
    torch.onnx.export(net, x, buffer, opset_version=17, dynamo=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = THREADS
    return onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])


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
    parser.add_argument("--quick", action="store_true", help="repvit_m0_6 and fastvit_t8 at 320 px, 3 repetitions")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for fuse_latency.md (-quick.md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    names = ["repvit_m0_6", "fastvit_t8"] if args.quick else [*REPVIT, *TIMM]
    sizes = [320] if args.quick else [320, 640]
    repeats = 3 if args.quick else 15

    rows = []
    for name in names:
        plain, fused = networks(name, False), networks(name, True)
        for size in sizes:
            x = torch.rand(1, 3, size, size)
            for part in ("backbone", "detector"):
                timed = race({"unfused": probes(plain[part], x), "fused": probes(fused[part], x)},
                             {"fused": repeats}, reference="unfused")
                for runtime, after in timed["fused"].items():
                    before = timed["unfused"][runtime].seconds
                    rows.append((name, part, size, runtime, before * 1e3, after.seconds * 1e3, 1 / after.ratio))
            print(f"done {name} {size}px", file=sys.stderr)

    command = "python benchmarks/fuse_latency.py" + (" --quick" if args.quick else "")
    text = (f"# Fused against unfused backbones, CPU latency\n\n```bash\n{command}\n```\n\n"
            f"Fastest of {repeats} runs each, taken side by side, batch 1, ms. Backbones: RepViT variants at width "
            "1.0, and the smallest model of every tested timm family that fuse() reparameterizes; detector: that "
            "backbone under the YOLO11n head. One thread per runtime.\n\n"
            + table(["backbone", "network", "size", "runtime", "unfused ms", "fused ms", "speed-up"],
                    [(v, p, s, r, f"{b:.1f}", f"{a:.1f}", f"{k:.2f}x") for v, p, s, r, b, a, k in rows])
            + "\n## Machine\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads())))
    args.out.mkdir(parents=True, exist_ok=True)
    publish(text, args.out / f"fuse_latency{'-quick' if args.quick else ''}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
