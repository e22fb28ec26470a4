"""``yolo-repvit``: the demo, the comparison, the shipped configs and the backbones a row can take.

The demo trains a RepViT YOLO11n on generated data (no downloads); ``compare`` trains several
detectors on your data and times them on this machine; ``configs`` lists the shipped YAMLs;
``backbones`` reports the timm families the tests cover, or checks timm model names.

Training, validation, prediction and export go through ultralytics' own ``yolo`` command,
which sees RepViT configs once this package is installed.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path


def demo(out="repvit-demo", model="yolo11n-repvit.yaml", epochs=20, imgsz=128, images=128, batch=16, device="cpu"):
    """Generate the shapes dataset, train, validate, predict one image; return the metrics dict.

    Training takes the shipped from-scratch training arguments (``cfg/repvit-scratch.yaml``), as the README advises.
    """
    from ultralytics import YOLO

    import yolo_repvit  # noqa: F401  activates the plugin before ultralytics builds anything

    from ._data import make_detection_dataset

    out = Path(out).resolve()
    started = time.time()
    data = make_detection_dataset(out / "dataset", train=images, val=max(images // 4, 8), imgsz=imgsz)
    print(f"[yolo-repvit] dataset: {data.parent} ({images} train images, 3 classes, {imgsz} px)")
    trainer_model = YOLO(model)
    trainer_model.train(cfg="repvit-scratch.yaml", data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, workers=0,
                        device=device, project=str(out / "runs"), name="train", exist_ok=True, seed=0,
                        deterministic=True, plots=False)
    best = Path(trainer_model.trainer.best)
    trained = YOLO(str(best))
    metrics = trained.val(data=str(data), imgsz=imgsz, batch=batch, device=device, project=str(out / "runs"),
                          name="val", exist_ok=True, plots=False, verbose=False)
    sample = sorted((data.parent / "val" / "images").glob("*.jpg"))[0]
    result = trained.predict(str(sample), imgsz=imgsz, device=device, verbose=False)[0]
    annotated = out / "prediction.png"
    result.save(filename=str(annotated))
    box = metrics.box
    summary = {"mAP50": float(box.map50), "mAP50-95": float(box.map), "precision": float(box.mp),
               "recall": float(box.mr)}
    print(f"\n[yolo-repvit] demo finished in {time.time() - started:.0f} s")
    print("  metrics:    " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()))
    print(f"  weights:    {best}  (and last.pt beside it)")
    print(f"  training:   {best.parent.parent}  (results.csv, args.yaml)")
    print(f"  prediction: {annotated}  ({len(result.boxes)} boxes on {sample.name})")
    print(f"  next:       yolo predict model={best} source={sample.parent}")
    return summary


def list_backbones(names):
    """Print what each backbone is, or why it is refused; exit status 1 if any given name is refused."""
    from ._backbone_report import check, families, table

    checks = [("", None, check(name)) for name in names] if names else families()
    if not names:
        print("# the families the tests cover (each built from scratch: its smallest model), then the refused ones")
    print("\n".join(table(checks)))
    return int(bool(names) and not all(c.ok for _, _, c in checks))


def add_compare(commands):
    compare = commands.add_parser("compare", help="train detectors on your data and time them on this machine: which "
                                                  "is better for its cost", description="Train every model on --data "
                                                  "with the same arguments and seeds, validate best.pt, export it to "
                                                  "--format and time every model side by side on this machine. Writes "
                                                  "compare.csv, compare.md and pareto.png to --out; rerunning reuses "
                                                  "finished runs.")
    compare.add_argument("--data", required=True, help="dataset YAML (train:, val:, names:)")
    compare.add_argument("--models", required=True, nargs="+", help="model YAMLs or .pt files; the first is the "
                                                                    "reference of the latency ratios")
    compare.add_argument("--epochs", type=int, default=30)
    compare.add_argument("--imgsz", type=int, default=640, help="training and validation image size")
    compare.add_argument("--batch", type=int, default=16)
    compare.add_argument("--seeds", type=int, default=1, help="training seeds per model (0, 1, ...)")
    compare.add_argument("--cfg", help="training arguments for every model alike, e.g. repvit-scratch.yaml")
    compare.add_argument("--format", default="onnx", help="export format timed: onnx, openvino, torchscript, ncnn, "
                                                          "... or pytorch (best.pt itself)")
    compare.add_argument("--latency-imgsz", type=int, default=640, help="image size of the latency measurement")
    compare.add_argument("--threads", type=int, default=1, help="CPU cores the latency measurement is pinned to")
    compare.add_argument("--rounds", type=int, default=5, help="timing rounds; each model keeps its fastest call")
    compare.add_argument("--device", default="cpu", help="training device for local runs: cpu, 0, ...")
    compare.add_argument("--ray", metavar="ADDRESS", help="train as Ray tasks on this cluster (auto: the running one)")
    compare.add_argument("--out", default="compare", help="folder for runs, logs and results")


def run_compare(args, argv):
    from ._compare import compare
    from ._errors import RepViTError

    try:
        compare(args.data, args.models, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, seeds=args.seeds,
                cfg=args.cfg, format=args.format, latency_imgsz=args.latency_imgsz, device=args.device, out=args.out,
                threads=args.threads, rounds=args.rounds, ray=args.ray,
                command=shlex.join(["yolo-repvit", *(sys.argv[1:] if argv is None else argv)]))
    except RepViTError as error:
        print(f"yolo-repvit {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="yolo-repvit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="train a RepViT YOLO11n on generated shapes (CPU, no downloads)")
    run.add_argument("--out", default="repvit-demo", help="folder for the dataset, runs and prediction")
    run.add_argument("--model", default="yolo11n-repvit.yaml", help="model YAML (shipped name or path)")
    run.add_argument("--epochs", type=int, default=20)
    run.add_argument("--imgsz", type=int, default=128)
    run.add_argument("--images", type=int, default=128, help="training images to generate")
    run.add_argument("--device", default="cpu")
    add_compare(commands)
    commands.add_parser("configs", help="list the shipped model configs")
    backbones = commands.add_parser("backbones", help="the timm families the tests cover, or check timm model names "
                                                      "(strides, channels, fusing, weight tags; nothing downloaded)")
    backbones.add_argument("names", nargs="*", help="timm model names (or RepViT variants) to check")
    args = parser.parse_args(argv)
    if args.command == "compare":
        return run_compare(args, argv)
    if args.command == "backbones":
        return list_backbones(args.names)
    if args.command == "configs":
        from ._configs import CONFIG_DIR, shipped_configs

        models = [name for name in shipped_configs() if name.startswith("yolo")]
        print(f"# model configs in {CONFIG_DIR}; use with a scale letter after the version, e.g. yolo11s-repvit.yaml, "
              "yolo11n-convnext.yaml, yolo26s-repvit.yaml")
        print("\n".join(models))
        print("# training arguments, used as cfg=<name>")
        print("\n".join(name for name in shipped_configs() if name not in models))
        return 0
    demo(args.out, args.model, args.epochs, args.imgsz, args.images, device=args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
