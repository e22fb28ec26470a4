"""Learning study: yolo11n and yolo11n-repvit from scratch, with ultralytics' defaults and with the recommended recipe.

    python benchmarks/learning.py               # CPU; writes benchmarks/results/learning.md and learning.png
    python benchmarks/learning.py --quick --work DIR --out DIR  # toy sizes, one seed, one dataset: the smoke test

Each model trains on each generated dataset (``_scenes``: photo scenes and digit scenes) with
several training seeds per recipe: ultralytics' defaults, and the recommended from-scratch recipe,
the training arguments of ``repvit-scratch.yaml``; yolo11n also at its best setting in
``learning_sweep.py``.  Every run trains through ``yolo_repvit.compare`` (``_study.trained``), so
runs the sweep already made in the same ``--work`` are not repeated.  The report gives mean,
standard deviation and range over seeds, and the ratios the study is judged by: RepViT's
recommended recipe against yolo11n at its best and against RepViT with ultralytics' defaults.
"""

import sys
from pathlib import Path

import torch

from _machine import describe
from _mdtable import facts, publish, table
from _plot import learning_curves
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
    parser,
    setting_name,
    spread,
    train_time,
    trained,
)


def measured(schedule, datasets, seeds, work):
    """``{(dataset, model, recipe): records}`` in the order of the report's table: dataset, then cell."""
    found = trained(schedule, datasets, [(model, train) for model, _, train in cells()], seeds, work)
    return {(data, model, recipe): found[data, model, setting_name(train)]
            for data in datasets for model, recipe, train in cells()}


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


def summary(results, schedule, datasets, seeds, command, figure):
    rows = []
    for (data, model, recipe), records in results.items():
        final, best = spread(records), spread(records, "best")
        rows.append((data, f"`{model}`", recipe, final["n"], mean_std(final), min_max(final), mean_std(best),
                     min_max(best), train_time(records)))
    recipes = "".join(f"- `{model}` **{recipe}**: `{label(train)}`\n" for model, recipe, train in cells())
    goal_header = ["dataset", "yolo11n-repvit recommended", "yolo11n at its best", "ratio (goal >= 1)",
                   "yolo11n-repvit defaults", "ratio (goal >= 2)"]
    return (f"# Learning study: yolo11n and yolo11n-repvit from scratch\n\n```bash\n{command}\n```\n\n"
            f"{schedule.words()}; training seeds {', '.join(map(str, seeds))} for every cell, the datasets generated "
            "once (seed 0): " + "; ".join(DATASET_WORDS[d] for d in datasets) + ". Every run trained by "
            "`yolo_repvit.compare`, one comparison per dataset and recipe. mAP50-95 is ultralytics' validation "
            "after each epoch: *final* is the last epoch's, *best* the highest of the run.\n\n"
            "Recipes, as ultralytics train arguments (`defaults` is `optimizer=auto`; *recommended* is "
            f"`cfg=repvit-scratch.yaml`):\n\n{recipes}\n"
            + table(("dataset", "model", "recipe", "seeds", "final mAP50-95 (mean ± std)", "final min-max",
                     "best mAP50-95 (mean ± std)", "best min-max", "train time (s)"), rows)
            + "\nThe goal, on mean final mAP50-95 over seeds at equal epochs: yolo11n-repvit with the recommended "
            "recipe at least matches yolo11n at its best, and at least doubles yolo11n-repvit with ultralytics' "
            "defaults.\n\n" + table(goal_header, goal_rows(results, datasets))
            + f"\n![mAP50-95 per epoch, mean and min-max over seeds]({figure})\n\n"
            "Train times are wall times including the validation after every epoch, on a machine that may have been "
            "running other work; the benchmark report measures training speed.\n\nMeasured on:\n\n"
            + facts(describe(torch.device("cpu"), torch.get_num_threads())))


def plot(results, schedule, path):
    """One panel per dataset, one curve per model and recipe: the mean over seeds, with its min-max band."""
    panels = {}
    for (data, model, recipe), records in results.items():
        panels.setdefault(DATASET_WORDS[data], {})[f"{Path(model).stem} {recipe}"] = [r["epoch_map"] for r in records]
    title = f"From scratch, {schedule.epochs} epochs at {schedule.imgsz} px: mean and min-max over seeds"
    learning_curves(panels, path, title)


def main(argv=None):
    options = parser(__doc__.splitlines()[0], "learning.md and learning.png")
    options.add_argument("--seeds", type=int, default=3, help="training seeds per model, recipe and dataset")
    args = options.parse_args(argv)
    schedule = QUICK if args.quick else Schedule()
    datasets, seeds = (args.datasets[:1], 1) if args.quick else (args.datasets, args.seeds)
    results = measured(schedule, datasets, seeds, args.work)
    name = "learning-quick" if args.quick else "learning"
    args.out.mkdir(parents=True, exist_ok=True)
    plot(results, schedule, args.out / f"{name}.png")
    command = "python benchmarks/learning.py" + (" --quick" if args.quick else f" --seeds {args.seeds}")
    publish(summary(results, schedule, datasets, range(seeds), command, f"{name}.png"), args.out / f"{name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
