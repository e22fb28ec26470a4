"""Learning study: train yolo11n and the RepViT n config from scratch on generated shapes, same recipe.

    python benchmarks/learning.py        # CPU; writes benchmarks/results/learning.md and learning.png
    python benchmarks/learning.py --out DIR --train optimizer=AdamW lr0=0.003   # another recipe

Both models see the same generated dataset (``yolo_repvit.data``), seed and training arguments
(ultralytics' defaults unless ``--train`` changes them); only the model YAML differs.  Training
is deterministic, so the curves repeat run to run; the wall times do not (the models train one
after the other on a possibly busy machine), which is why the benchmark report, not this study,
is the place for speed ratios.
"""

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

import yolo_repvit  # noqa: F401  activates the plugin before ultralytics builds anything
from _machine import describe
from _mdtable import facts, publish, table
from _plot import learning_curves
from yolo_repvit.data import make_detection_dataset

RESULTS = Path(__file__).parent / "results"
MODELS = ("yolo11n.yaml", "yolo11n-repvit.yaml")
MAP = "metrics/mAP50-95(B)"


def train(cfg, data, project, args):
    """Train one config; return its mAP50-95 per epoch and the wall time of ``train()``."""
    from ultralytics import YOLO

    model = YOLO(cfg)
    started = time.perf_counter()
    model.train(data=str(data), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=0, device="cpu",
                seed=0, deterministic=True, plots=False, verbose=False, project=str(project), name=Path(cfg).stem,
                exist_ok=True, **args.train)
    seconds = time.perf_counter() - started
    with open(Path(model.trainer.save_dir) / "results.csv") as f:
        curve = [float(row[MAP]) for row in csv.DictReader(f, skipinitialspace=True)]
    return curve, seconds


def summary(curves, seconds, args, command):
    """The Markdown file: the command, the outcome per model, a few epochs of each curve, the machine."""
    first = next(iter(curves))
    rows = [(f"`{cfg}`", f"{curve[-1]:.3f}", f"{max(curve):.3f} (epoch {curve.index(max(curve)) + 1})",
             f"{seconds[cfg]:.0f}", f"{seconds[cfg] / seconds[first]:.2f}x") for cfg, curve in curves.items()]
    marks = sorted({*range(args.epochs // 6 or 1, args.epochs + 1, args.epochs // 6 or 1), args.epochs})
    per_epoch = [(f"`{cfg}`", *(f"{curve[e - 1]:.3f}" for e in marks)) for cfg, curve in curves.items()]
    return (f"# Learning study: {' vs '.join(curves)} from scratch\n\n"
            f"```bash\n{command}\n```\n\n"
            f"{args.epochs} epochs at {args.imgsz} px, batch {args.batch}, on {args.images} generated training "
            f"images and {val_images(args)} validation images (3 shape classes), CPU, seed 0, deterministic, "
            f"{recipe(args.train)}, no pretrained weights. mAP50-95 is ultralytics' validation after each epoch.\n\n"
            + table(("config", "mAP50-95 last epoch", "best mAP50-95", "train time (s)", f"time vs {first}"), rows)
            + "\nmAP50-95 by epoch:\n\n" + table(("config", *(f"ep {e}" for e in marks)), per_epoch)
            + "\n![mAP50-95 per epoch](learning.png)\n\n"
            "Train times are sequential wall times including the per-epoch validation; the benchmark "
            "report measures training throughput side by side.\n\nMeasured on:\n\n"
            + facts(describe(torch.device("cpu"), torch.get_num_threads())))


def recipe(changes):
    """How the training recipe differs from ultralytics' defaults, in words."""
    if not changes:
        return "ultralytics' default recipe (`optimizer=auto`, `close_mosaic=10`)"
    return "ultralytics' default recipe except " + ", ".join(f"`{k}={v}`" for k, v in changes.items())


def override(item):
    """``lr0=0.003`` -> ``("lr0", 0.003)``: values read as YAML, the way ``yolo train`` reads them."""
    key, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"--train takes KEY=VALUE items, got {item!r}")
    return key, yaml.safe_load(value)


def val_images(args):
    return max(args.images // 4, 8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=MODELS, help="model YAMLs, the first is the reference")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--images", type=int, default=128, help="training images to generate")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--train", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more ultralytics train arguments for every model, e.g. optimizer=AdamW lr0=0.003")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md and .png")
    args = parser.parse_args(argv)
    command = " ".join(["python benchmarks/learning.py", *args.models, f"--epochs {args.epochs}",
                        f"--imgsz {args.imgsz}", f"--images {args.images}", f"--batch {args.batch}",
                        *(["--train", *args.train] if args.train else [])])
    args.train = dict(override(item) for item in args.train)
    with tempfile.TemporaryDirectory() as work:
        data = make_detection_dataset(Path(work) / "data", train=args.images, val=val_images(args), imgsz=args.imgsz)
        curves, seconds = {}, {}
        for cfg in args.models:
            curves[cfg], seconds[cfg] = train(cfg, data, Path(work) / "runs", args)
    args.out.mkdir(parents=True, exist_ok=True)
    learning_curves(curves, args.out / "learning.png")
    text = summary(curves, seconds, args, command)
    publish(text, args.out / "learning.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
