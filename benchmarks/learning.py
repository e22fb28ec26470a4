"""Learning study: yolo11n and yolo11n-repvit from scratch, with ultralytics' defaults and with the recommended recipe.

    python benchmarks/learning.py --jobs 2      # CPU; writes benchmarks/results/learning.md and learning.png
    python benchmarks/learning.py --quick --store FILE --out DIR  # toy sizes, one seed, one dataset: the CI smoke test

Each model trains on each generated dataset (``_scenes``: photo scenes and digit scenes) with
several training seeds per recipe: ultralytics' defaults, and the recommended from-scratch recipe,
the training arguments of ``repvit-scratch.yaml``; yolo11n also at its best setting in
``learning_sweep.py``.  Both RepViT recipes train the model the plugin builds, whose from-scratch
RepViT blocks start active, where timm starts them as identities (the knob ``zero_gamma``, ``_knobs``).
Runs come from the shared run store (``_runs``), so runs the sweep already made are not repeated.
The report gives mean, standard deviation and range over seeds, and the ratios the study is
judged by: RepViT's recommended recipe against yolo11n at its best and against RepViT with
ultralytics' defaults.
"""

import sys
from pathlib import Path

import torch

from _machine import describe
from _mdtable import facts, publish, table
from _plot import learning_curves
from _runs import ensure
from _study import (
    DATASET_WORDS,
    QUICK,
    REPVIT,
    YOLO11N,
    Schedule,
    cells,
    label,
    mean_std,
    min_max,
    outcomes,
    parser,
    spread,
)


def goal_rows(results, datasets):
    """Per dataset: RepViT recommended against yolo11n at its best, and against RepViT's defaults."""
    mean = {key: spread(records)["mean"] for key, records in results.items()}
    rows = []
    for data in datasets:
        repvit = mean[data, REPVIT, "recommended"]
        tuned = [recipe for d, model, recipe in mean if (d, model) == (data, YOLO11N) and recipe != "defaults"]
        yolo_recipe = max(tuned, key=lambda recipe: mean[data, YOLO11N, recipe])
        yolo = mean[data, YOLO11N, yolo_recipe]
        defaults = mean[data, REPVIT, "defaults"]
        rows.append([data, f"{repvit:.3f}", f"{yolo:.3f} ({yolo_recipe})", _ratio(repvit, yolo), f"{defaults:.3f}",
                     _ratio(repvit, defaults)])
    return rows


def _ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a (denominator 0)"


def summary(results, schedule, datasets, seeds, command):
    rows = []
    for (data, model, recipe), records in results.items():
        final, best = spread(records), spread(records, "best")
        rows.append((data, f"`{model}`", recipe, final["n"], mean_std(final), min_max(final), mean_std(best),
                     min_max(best), f"{sum(r['seconds'] for r in records) / len(records):.0f}"))
    recipes = "".join(f"- `{model}` **{recipe}**: `{label(train, knobs)}`\n" for model, recipe, train, knobs in cells())
    goal_header = ["dataset", "yolo11n-repvit recommended", "yolo11n at its best", "ratio (goal >= 1)",
                   "yolo11n-repvit defaults", "ratio (goal >= 2)"]
    return (f"# Learning study: yolo11n and yolo11n-repvit from scratch\n\n```bash\n{command}\n```\n\n"
            f"{schedule.words()}; training seeds {', '.join(map(str, seeds))} for every cell, the datasets generated "
            "once (seed 0): " + "; ".join(DATASET_WORDS[d] for d in datasets) + ". mAP50-95 is ultralytics' "
            "validation after each epoch: *final* is the last epoch's, *best* the highest of the run.\n\n"
            "Recipes, as ultralytics train arguments (`defaults` is `optimizer=auto`; *recommended* is "
            f"`cfg=repvit-scratch.yaml`):\n\n{recipes}\n"
            + table(("dataset", "model", "recipe", "seeds", "final mAP50-95 (mean ± std)", "final min-max",
                     "best mAP50-95 (mean ± std)", "best min-max", "train time (s)"), rows)
            + "\nThe goal, on mean final mAP50-95 over seeds at equal epochs: yolo11n-repvit with the recommended "
            "recipe at least matches yolo11n at its best, and at least doubles yolo11n-repvit with ultralytics' "
            "defaults.\n\n" + table(goal_header, goal_rows(results, datasets))
            + "\n![mAP50-95 per epoch, mean and min-max over seeds](learning.png)\n\n"
            "Train times are wall times including the validation after every epoch, of runs that may have shared "
            "the machine with other runs; the benchmark report measures training speed.\n\nMeasured on:\n\n"
            + facts(describe(torch.device("cpu"), torch.get_num_threads())))


def main(argv=None):
    options = parser(__doc__.splitlines()[0], "learning.md and learning.png")
    options.add_argument("--seeds", type=int, default=3, help="training seeds per model, recipe and dataset")
    args = options.parse_args(argv)
    schedule = QUICK if args.quick else Schedule()
    datasets, seeds = (args.datasets[:1], range(1)) if args.quick else (args.datasets, range(args.seeds))
    plan = [(data, *cell) for data in datasets for cell in cells()]
    ensure([schedule.run(model, data, seed, train, knobs) for seed in seeds for data, model, _, train, knobs in plan],
           args.store, args.work, args.jobs)
    results = {(data, model, recipe): outcomes(schedule, model, data, seeds, train, knobs, args.store, args.work)
               for data, model, recipe, train, knobs in plan}
    panels = {DATASET_WORDS[data]: {} for data in datasets}
    for (data, model, recipe), records in results.items():
        panels[DATASET_WORDS[data]][f"{Path(model).stem} {recipe}"] = [r["map"] for r in records]
    args.out.mkdir(parents=True, exist_ok=True)
    title = f"From scratch, {schedule.epochs} epochs at {schedule.imgsz} px: mean and min-max over seeds"
    learning_curves(panels, args.out / "learning.png", title)
    command = "python benchmarks/learning.py" + (" --quick" if args.quick else f" --seeds {args.seeds}")
    publish(summary(results, schedule, datasets, seeds, command), args.out / "learning.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
