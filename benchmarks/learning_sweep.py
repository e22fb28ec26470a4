"""Sweep of the training arguments that matter when yolo11n and yolo11n-repvit train from scratch in short runs.

    python benchmarks/learning_sweep.py                   # every stage (hours on a CPU), then the report
    python benchmarks/learning_sweep.py --stage screen    # one seed for every setting
    python benchmarks/learning_sweep.py --quick --work DIR --out DIR  # toy sizes: the smoke test

Both models get the same grid of training arguments (optimizer, learning rate, ``warmup_bias_lr``,
warmup).  Every run trains through ``yolo_repvit.compare`` (``_study.trained``), so stages, and
the learning study given the same ``--work``, share their runs and a stage cut short goes on where
it stopped.  The report, ``results/learning_sweep.md``, lists every setting of the stages asked
for, per dataset and model, with mean, standard deviation and range over seeds (a setting in two
stages with the seeds of the larger).  The training seed varies between runs; each dataset is
generated once, from seed 0.
"""

import sys

import torch

from _machine import describe
from _mdtable import facts, publish, table
from _study import (
    DATASET_WORDS,
    MODELS,
    QUICK,
    RECOMMENDED,
    REPVIT,
    TIMM,
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


def adamw(lr0, **more):
    """AdamW with the momentum (beta1) ``optimizer=auto`` uses, so only the named settings differ from auto."""
    return {"optimizer": "AdamW", "lr0": lr0, "momentum": 0.9, **more}


# With an explicit optimizer ultralytics keeps warmup_bias_lr=0.1 where auto sets 0.0: the grid has AdamW both ways,
# to tell the learning rate from the bias warmup.  Most telling first, so a stage cut short is still useful.
TRAINING = ({}, adamw(0.003, warmup_bias_lr=0.0), adamw(0.003), adamw(0.006, warmup_bias_lr=0.0), adamw(0.006),
            {"optimizer": "SGD", "lr0": 0.01}, adamw(0.01))
WARMUP = [(m, adamw(0.006, warmup_epochs=e)) for e in (1, 5) for m in MODELS]  # around the best of the grid

STAGES = {  # name: (training seeds, grid of (model, training arguments))
    # one seed, every setting: which changes are large enough to follow up
    "screen": (1, [(m, t) for t in TRAINING for m in MODELS] + WARMUP),
    # three seeds: the defaults and the finalists of both models
    "confirm": (3, [(REPVIT, {}), (REPVIT, adamw(0.006)), (YOLO11N, {}), (YOLO11N, adamw(0.006)),
                    (YOLO11N, adamw(0.01)), (YOLO11N, adamw(0.006, warmup_epochs=5)),
                    (REPVIT, adamw(0.006, warmup_epochs=5))]),
    # does the recommendation hold for a shipped Timm config? ultralytics' defaults against it, one seed
    "timm": (1, [(TIMM, {}), (TIMM, RECOMMENDED)]),
}
QUICK_STAGE = (1, [(model, train) for model, _, train in cells()])  # what learning.py --quick trains


def measured(schedule, datasets, stages, work):
    """``{(dataset, model, setting name): (training arguments, records)}`` of every setting of ``stages``, each
    with the records of the stage that gave it the most seeds."""
    found = {}
    for seeds, grid in stages:
        arguments = {setting_name(train): train for _, train in grid}
        for (data, model, name), records in trained(schedule, datasets, grid, seeds, work).items():
            key = data, model, name
            if key not in found or len(records) > len(found[key][1]):
                found[key] = arguments[name], records
    return found


def dataset_rows(found, data):
    """The table rows of one dataset: per model, its settings best first, each against that model's defaults."""
    rows = []
    models = [*MODELS, *sorted({m for d, m, _ in found if d == data} - set(MODELS))]
    for model in models:
        mine = {name: setting for (d, m, name), setting in found.items() if (d, m) == (data, model)}
        base = spread(mine["defaults"][1])["mean"] if "defaults" in mine else None
        for train, records in sorted(mine.values(), key=lambda setting: -spread(setting[1])["mean"]):
            final, best = spread(records), spread(records, "best")
            ratio = f"{final['mean'] / base:.2f}x" if base else "n/a"
            rows.append((f"`{model}`", f"`{label(train)}`", final["n"], mean_std(final), min_max(final),
                         mean_std(best), ratio, train_time(records)))
    return rows


def report(found, schedule, datasets, command):
    """The sweep's Markdown: per dataset, every setting measured of every model with its spread over seeds."""
    text = (f"# Learning sweep: yolo11n and yolo11n-repvit from scratch\n\n```bash\n{command}\n```\n\n"
            f"{schedule.words()}. Each row is one setting over training seeds; the dataset is the same for every "
            "seed. A setting lists the training arguments that differ from ultralytics' defaults. `defaults` is "
            "ultralytics' `optimizer=auto`, which here picks AdamW with lr0 = 0.002 * 5 / (4 + classes), momentum "
            "0.9 and warmup_bias_lr 0; an explicit optimizer keeps warmup_bias_lr 0.1. Every run trained by "
            "`yolo_repvit.compare`, one comparison per dataset and setting. mAP50-95 is ultralytics' validation "
            "after each epoch: *final* is the last epoch's, *best* the highest of the run.\n\n")
    header = ("model", "setting", "seeds", "final mAP50-95 (mean ± std)", "final min-max", "best mAP50-95 (mean ± std)",
              "final vs defaults", "train time (s)")
    for data in datasets:
        text += f"## {DATASET_WORDS[data]}\n\n" + table(header, dataset_rows(found, data)) + "\n"
    return text + "Measured on:\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads()))


def main(argv=None):
    options = parser(__doc__.splitlines()[0], "learning_sweep.md")
    options.add_argument("--stage", nargs="+", choices=list(STAGES), default=list(STAGES),
                         help="the stages to train (what is missing) and report, in the order given")
    args = options.parse_args(argv)
    schedule = QUICK if args.quick else Schedule()
    datasets = args.datasets[:1] if args.quick else args.datasets
    stages = [QUICK_STAGE] if args.quick else [STAGES[stage] for stage in args.stage]
    found = measured(schedule, datasets, stages, args.work)
    command = "python benchmarks/learning_sweep.py" + (" --quick" if args.quick else f" --stage {' '.join(args.stage)}")
    name = "learning_sweep-quick.md" if args.quick else "learning_sweep.md"
    publish(report(found, schedule, datasets, command), args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
