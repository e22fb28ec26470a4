"""Which detector is better for its cost: every shipped n and s config beside YOLO11, on the two generated datasets.

    python benchmarks/model_selection.py --stage screen     # one seed for every candidate (hours on a CPU)
    python benchmarks/model_selection.py --stage screen --dataset photo  # one dataset (run both at once on 2+ cores)
    python benchmarks/model_selection.py --stage confirm    # three seeds for the contenders
    python benchmarks/model_selection.py --stage screen --models yolo11n-repvit-w0.5.yaml  # some candidates
    python benchmarks/model_selection.py --stage confirm --models yolo11s-repghostnet_200.yaml  # three seeds for some
    python benchmarks/model_selection.py --stage confirm --models yolo11n-repvit-cpu.yaml --seeds 5  # a tie, closer
    python benchmarks/model_selection.py --stage confirm --models yolo11n-repvit-cpu.yaml --images 384  # more data
    python benchmarks/model_selection.py --quick --out DIR  # toy sizes: the smoke test

Every number comes from ``yolo_repvit.compare``, the engine behind ``yolo-repvit compare``: each
dataset is one comparison folder (``--work``), so the stages share their runs and a stage cut
short goes on where it stopped.  Training: 30 epochs at 128 px, ``cfg=repvit-scratch.yaml`` for
every model alike (from scratch; nothing is downloaded).  Latency: batch 1 at 640 px, one thread,
in ONNX Runtime and in OpenVINO, timed side by side on this machine.  Each stage's report
(model_selection_screen.md or model_selection_confirm.md in results/, with its figure) gives per
dataset and model the mean mAP50-95 over the seeds run, its spread, and the latency ratio to the
YOLO11 of the same scale.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

import torch

import yolo_repvit
from _candidates import scale_of
from _machine import describe
from _mdtable import facts, publish, table
from _plot import selection_figure
from _scenes import make_scenes
from _shipped import folder

RESULTS = Path(__file__).parent / "results"
SCALES = {"n": "yolo11n.yaml", "s": "yolo11s.yaml"}  # the reference of each scale
SHIPPED = ("repvit", "mobilenetv4", "fastvit", "convnext", "efficientnet")
CUT = {"n": "yolo11n-repvit-cpu.yaml"}  # RepViT cut to YOLO11's latency (depth 0.5, ReLU), at the scales it ships
# timm models without a shipped config, tried because a latency probe of the untrained models put them at or under
# the ONNX Runtime latency of the YOLO11 of the scale: RepGhostNet (reparameterized like RepViT) and PP-LCNet (built
# for x86 CPUs)
UNSHIPPED = {"n": ("repghostnet_111", "repghostnet_130", "lcnet_150"), "s": ("repghostnet_200",)}
# the latency a cheap backbone saves, spent on the YOLO11 layers after it (SPPF, C2PSA, neck, head): twice as deep
# (``-d1.0``: depth factor 1.0) or wider (``-h0.625``: width factor 0.625); RepGhostNet s costs 0.77x yolo11s
RESCALED = {"yolo11s-repghostnet_200.yaml": {"d1.0": (1.0, 0.5), "h0.625": (0.5, 0.625)}}
# RepViT narrower than its shipped config (width 1.0), per head: YOLO26's head costs less than YOLO11's, which leaves
# RepViT n at width 0.75 at yolo11n's latency (YOLO11's head: 1.2x)
WIDTHS = {("yolo11", "n"): (0.5, 0.75), ("yolo11", "s"): (0.75,), ("yolo26", "n"): (0.75,), ("yolo26", "s"): (0.75,)}
# YOLO11-headed candidates also tried with reg_max 1 (``-reg1``): YOLO11's box branch with DFL's 16 bins per side is
# about a third of yolo11n's latency at 640 px, and without them it is a quarter as wide
DFL_FREE = ("yolo11n.yaml", "yolo11n-repvit-w0.75.yaml", "yolo11s.yaml", "yolo11s-repvit.yaml")
# from the screen: RepViT at each scale's YOLO11 latency or nearest above it, and at full width at n
CONTENDERS = ("yolo11n.yaml", "yolo11n-repvit-w0.75.yaml", "yolo11n-repvit.yaml", "yolo11n-repvit-cpu.yaml",
              "yolo11s.yaml", "yolo11s-repvit-w0.75.yaml")
RUNTIMES = ("onnx", "openvino")
DATASETS = ("digits", "photo")
FULL = {"epochs": 30, "imgsz": 128, "batch": 16, "images": 192, "val_images": 48, "latency_imgsz": 640, "rounds": 5}
QUICK = {"epochs": 1, "imgsz": 64, "batch": 8, "images": 16, "val_images": 8, "latency_imgsz": 64, "rounds": 1}


def reference_of(model):
    """The YOLO11 config of the scale in ``model``'s file name (``yolo26s-repvit.yaml``: ``yolo11s.yaml``)."""
    return SCALES[scale_of(Path(model).name)]


def candidates(work, quick):
    """Model YAMLs to screen, each scale's YOLO11 first; derived ones (RepViT widths, timm backbones without a shipped
    config, a deeper or wider head, ``reg_max: 1``) are written into ``work``."""
    if quick:
        return [SCALES["n"], narrower("yolo11", "n", 0.5, work), on_timm("n", UNSHIPPED["n"][-1], work), CUT["n"]]
    found = []
    for scale, reference in SCALES.items():
        found += [reference, f"yolo26{scale}.yaml"]
        found += [narrower(head, scale, width, work) for (head, at), widths in WIDTHS.items() if at == scale
                  for width in widths]
        found += [f"yolo11{scale}-{name}.yaml" for name in SHIPPED] + ([CUT[scale]] if scale in CUT else [])
        found += [on_timm(scale, name, work) for name in UNSHIPPED.get(scale, ())]
    found += [rescaled(model, suffix, *factors, work) for model in found
              for suffix, factors in RESCALED.get(Path(model).name, {}).items()]
    return found + [without_dfl(model, work) for model in found if Path(model).name in DFL_FREE]


def narrower(head, scale, width, work):
    """The shipped RepViT config of ``head`` (yolo11, yolo26) and ``scale`` with every stage ``width`` times as wide:
    a YAML written into ``work``."""
    return with_backbone(f"{head}-repvit.yaml", "RepViT", lambda row: row.replace("}, 1.0]]", f"}}, {width}]]"),
                         work, f"{head}{scale}-repvit-w{width}.yaml")


def on_timm(scale, name, work):
    """The shipped YOLO11 MobileNetV4 config with timm's ``name`` in its backbone row (from scratch) at ``scale``:
    a YAML written into ``work``."""
    return with_backbone("yolo11-mobilenetv4.yaml", "Timm", lambda row: f"  - [-1, 1, Timm, [{name}]] # 0-4",
                         work, f"yolo11{scale}-{name}.yaml")


def with_backbone(config, module, new_row, work, name):
    """Shipped ``config`` with its per-scale ``module`` row (RepViT or Timm) replaced by ``new_row(row)``: YAML
    ``name`` written into ``work``."""
    text = (folder() / config).read_text()
    row = next(line for line in text.splitlines() if f"{module}, [{{" in line)
    return written(work, name, text.replace(row, new_row(row)))


def rescaled(model, suffix, depth, width, work):
    """``model`` (a YAML in ``work``) with the depth and width factors of its scale set to ``depth`` and ``width``:
    YAML ``<model>-<suffix>.yaml`` written into ``work``."""
    path = Path(model)
    scale = scale_of(path.name)
    text = re.sub(rf"\n  {scale}: \[[^,]+, [^,]+,", f"\n  {scale}: [{depth:.2f}, {width},", path.read_text(), count=1)
    return written(work, path.name.replace(".yaml", f"-{suffix}.yaml"), text)


def without_dfl(model, work):
    """``model`` with ``reg_max: 1``: four box sides regressed directly instead of DFL's distribution over 16 bins each
    (YOLO26's choice; the key is read by ultralytics >= 8.4.0); a YAML written into ``work``."""
    from ultralytics.utils.checks import check_yaml

    name = Path(model).name
    source = Path(model) if Path(model).is_file() else Path(check_yaml(re.sub(r"^(yolo11)[ns]", r"\1", name)))
    text = source.read_text().replace("\nscales:", "\nreg_max: 1 # boxes without distribution bins\nscales:", 1)
    return written(work, name.replace(".yaml", "-reg1.yaml"), text)


def written(work, name, text):
    """The path of model YAML ``name``, holding ``text``, in ``work``'s configs folder."""
    path = Path(work) / "configs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def dataset(kind, work, sizes):
    """The generated dataset ``kind`` at ``sizes``, made once in ``work``; each size other than the default has a
    folder of its own, so runs on different sizes never share a dataset."""
    root = Path(work) / "data" / (kind if sizes["images"] == FULL["images"] else f"{kind}-{sizes['images']}")
    if not (root / "data.yaml").is_file():
        make_scenes(kind, root, train=sizes["images"], val=sizes["val_images"], imgsz=sizes["imgsz"])
    return root / "data.yaml"


def run(kind, models, seeds, runtime, work, sizes):
    """One comparison of ``models`` on dataset ``kind``; runs already made are reused."""
    return yolo_repvit.compare(str(dataset(kind, work, sizes)), models, epochs=sizes["epochs"], imgsz=sizes["imgsz"],
                               batch=sizes["batch"], seeds=seeds, cfg="repvit-scratch.yaml", format=runtime,
                               latency_imgsz=sizes["latency_imgsz"], threads=1, rounds=sizes["rounds"],
                               out=Path(work) / kind)


def report(results, sizes, command, figure):
    """Markdown of ``results[(dataset, runtime)]`` (compare's summaries): one row per dataset and model."""
    rows = []
    for kind in DATASETS:
        if (kind, RUNTIMES[0]) not in results:
            continue
        summaries = {Path(s["model"]).name: s for s in results[kind, RUNTIMES[0]]}
        second = {Path(s["model"]).name: s for s in results.get((kind, RUNTIMES[1]), [])}
        for name, s in summaries.items():
            reference = summaries[reference_of(name)]
            cells = [kind, f"`{name}`", s["seeds"], f"{s['map']:.3f} ± {s['std']:.3f}",
                     f"{s['map'] - reference['map']:+.3f}", f"{s['latency'] / reference['latency']:.2f}x"]
            cells.append(f"{second[name]['latency'] / second[reference_of(name)]['latency']:.2f}x" if name in second
                         else "")
            rows.append([*cells, f"{s['params'] / 1e6:.2f}", f"{s['gflops']:.1f}", f"{s['train_s']:.0f}"])
    header = ("dataset", "model", "seeds", "mAP50-95 mean ± std", "vs YOLO11 of its scale", "latency, ONNX Runtime",
              "latency, OpenVINO", "params (M)", "GFLOPs", "train s")
    return (f"# Model selection: shipped configs beside YOLO11 on two generated datasets\n\n```bash\n{command}\n```\n\n"
            f"Every model trained with `cfg=repvit-scratch.yaml`, {sizes['epochs']} epochs at {sizes['imgsz']} px, "
            f"batch {sizes['batch']}, {sizes['images']} training and {sizes['val_images']} validation images per "
            "dataset, from scratch; mAP50-95 of `best.pt` on the validation images. Latency: batch 1 at "
            f"{sizes['latency_imgsz']} px, one thread, as a ratio to the YOLO11 of the same scale timed beside it "
            "(`yolo-repvit compare`). `-w0.5`: the shipped RepViT config with every stage at half width "
            "(`yolo26n-repvit-w0.75`: the shipped YOLO26-headed one at 0.75); `-reg1`: the same model with "
            "`reg_max: 1`, boxes without DFL's distribution bins; `yolo11n-lcnet_150` and the like: a timm model "
            "without a shipped config in the backbone row of the shipped MobileNetV4 config; `-d1.0`, `-h0.625`: that "
            "model with the YOLO11 layers after its backbone at depth factor 1.0 or width factor 0.625.\n\n"
            + table(header, rows) + f"\n![mAP50-95 against ONNX Runtime latency]({figure})\n\n## Machine\n\n"
            + facts(describe(torch.device("cpu"), 1)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("screen", "confirm"), default="screen",
                        help="screen: one seed for every candidate; confirm: three for the contenders")
    parser.add_argument("--dataset", choices=DATASETS, help="only this dataset (its own process trains in parallel)")
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="only these candidates, at either stage (file names; the YOLO11 of their scales are "
                             "always included)")
    parser.add_argument("--quick", action="store_true", help="toy sizes, one dataset: a smoke test")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "yolo-repvit-model-selection",
                        help="the comparison folders (runs, exports), kept between stages")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report is written")
    parser.add_argument("--seeds", type=int, help="seeds per model instead of the stage's (more separate a tie)")
    parser.add_argument("--images", type=int, help="training images per dataset instead of 192 (validation images: a "
                                                   "quarter as many, at least one); more shrink the spread over seeds")
    args = parser.parse_args(argv)
    for name in ("seeds", "images"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)}: give a whole number of at least 1")
    sizes, datasets = (QUICK, DATASETS[:1]) if args.quick else (FULL, [args.dataset] if args.dataset else DATASETS)
    if args.images is not None:
        sizes = {**sizes, "images": args.images, "val_images": max(1, args.images // 4)}
    models = candidates(args.work, args.quick)
    if args.models:
        unknown = set(args.models) - {Path(m).name for m in models}
        if unknown:
            parser.error(f"--models {sorted(unknown)}: not candidates; choose from {[Path(m).name for m in models]}")
        wanted = set(args.models) | {reference_of(name) for name in args.models}
        models = [m for m in models if Path(m).name in wanted]
    elif args.stage == "confirm":
        models = [m for m in models if Path(m).name in CONTENDERS]
    seeds = {"screen": 1, "confirm": 3}[args.stage] if args.seeds is None else args.seeds
    results = {}
    for kind in datasets:
        for runtime in RUNTIMES:
            results[kind, runtime] = run(kind, models, seeds, runtime, args.work, sizes)
    name = f"model_selection_{args.stage}" + ("-quick" if args.quick else "")
    command = (f"python benchmarks/model_selection.py --stage {args.stage}" + (" --quick" if args.quick else "")
               + (f" --models {' '.join(args.models)}" if args.models else "")
               + (f" --seeds {args.seeds}" if args.seeds else "") + (f" --images {args.images}" if args.images else "")
               + (f" --out {args.out.as_posix()}" if args.out != RESULTS else ""))
    publish(report(results, sizes, command, f"{name}.png"), args.out / f"{name}.md")
    selection_figure(results, RUNTIMES[0], reference_of, args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
