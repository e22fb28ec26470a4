"""Sweep of what matters when yolo11n and yolo11n-repvit train from scratch in short runs.

    python benchmarks/learning_sweep.py --stage screen --jobs 2    # trains what is missing, then reports
    python benchmarks/learning_sweep.py --stage confirm --jobs 2   # more seeds for the settings that matter
    python benchmarks/learning_sweep.py --stage timm --jobs 2      # the recommendation on a shipped Timm config
    python benchmarks/learning_sweep.py                            # the report from the runs recorded so far
    python benchmarks/learning_sweep.py --quick --store FILE --out DIR  # toy sizes: the CI smoke test

Both models get the same training-level grid (optimizer, learning rate, ``warmup_bias_lr``,
warmup); the RepViT model also gets the model-level knobs of its backbone (BatchNorm constants,
initialisation, weight decay), tried at one good training setting.  Every run is recorded in the
run store (``_runs``); the report, ``results/learning_sweep.md``, lists every setting the store
holds for this schedule, with mean, standard deviation and range over seeds.  The training seed
varies between runs; each dataset is generated once, from seed 0.
"""

import sys

import torch

from _machine import describe
from _mdtable import facts, publish, table
from _runs import ensure
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
    outcomes,
    parser,
    recorded,
    setting_of,
    spread,
)


def adamw(lr0, **more):
    """AdamW with the momentum (beta1) ``optimizer=auto`` uses, so only the named settings differ from auto."""
    return {"optimizer": "AdamW", "lr0": lr0, "momentum": 0.9, **more}


# With an explicit optimizer ultralytics keeps warmup_bias_lr=0.1 where auto sets 0.0: the grid has AdamW both ways,
# to tell the learning rate from the bias warmup.  Most telling first, so a stage cut short is still useful.
TRAINING = ({}, adamw(0.003, warmup_bias_lr=0.0), adamw(0.003), adamw(0.006, warmup_bias_lr=0.0), adamw(0.006),
            {"optimizer": "SGD", "lr0": 0.01}, adamw(0.01))
KNOB_BASE = adamw(0.003)
ZERO_GAMMA = {"init": "zero_gamma"}  # timm's start of RepViT blocks, the plugin's own before the screen
KNOBS = ({"bn_momentum": 0.1, "bn_eps": 1e-5}, ZERO_GAMMA, {"init": "kaiming"}, {"backbone_weight_decay": 0.05})
# Around the best of the first screen: the plugin's start of RepViT blocks at other learning rates and without the
# bias warmup, and the length of the warmup for both models.
FOLLOW_UP = ([(REPVIT, t, {}) for t in (adamw(0.006), adamw(0.01))]
             + [(m, adamw(0.006, warmup_epochs=e), {}) for e in (1, 5) for m in MODELS])

STAGES = {
    # one seed, every setting: which changes are large enough to follow up (results/learning_sweep_screen.md)
    "screen": ((0,), [(m, t, {}) for t in TRAINING for m in MODELS] + [(REPVIT, KNOB_BASE, k) for k in KNOBS]
               + FOLLOW_UP),
    # three seeds: the defaults and the finalists of both models; RepViT with and without timm's zero start
    "confirm": ((0, 1, 2), [(REPVIT, {}, {}), (REPVIT, adamw(0.006), {}), (YOLO11N, {}, {}),
                            (YOLO11N, adamw(0.006), {}), (REPVIT, {}, ZERO_GAMMA), (REPVIT, adamw(0.006), ZERO_GAMMA),
                            (YOLO11N, adamw(0.01), {}), (YOLO11N, adamw(0.006, warmup_epochs=5), {}),
                            (REPVIT, adamw(0.006, warmup_epochs=5), {})]),
    # does the recommendation hold for a shipped Timm config? ultralytics' defaults against it, one seed
    "timm": ((0,), [(TIMM, {}, {}), (TIMM, RECOMMENDED, {})]),
}
# What learning.py --quick trains, plus one model knob.
QUICK_STAGE = ((0,), [(model, train, knobs) for model, _, train, knobs in cells()]
               + [(REPVIT, {}, {"bn_momentum": 0.1, "bn_eps": 1e-5})])


def stage_runs(schedule, seeds, grid, datasets):
    """Seed by seed, each in the grid's order, on every dataset: a stage cut short has the first settings complete."""
    return [schedule.run(model, data, seed, train, knobs)
            for seed in seeds for model, train, knobs in grid for data in datasets]


def report(schedule, datasets, store, work, command):
    """The sweep's Markdown: per dataset, every recorded setting of both models with its spread over seeds."""
    found = recorded(store, schedule)
    text = (f"# Learning sweep: yolo11n and yolo11n-repvit from scratch\n\n```bash\n{command}\n```\n\n"
            f"{schedule.words()}. Each row is one setting over training seeds; the dataset is the same for every "
            "seed. A setting lists what differs from ultralytics' defaults: train arguments, and model knobs that "
            "the benchmark applies to the backbone (layers 0-4) before the optimizer is built (`_knobs.py`: "
            "`bn_momentum`, `bn_eps`, `init`, `backbone_weight_decay`). `defaults` is ultralytics' "
            "`optimizer=auto`, which here picks AdamW with lr0 = 0.002 * 5 / (4 + classes), momentum 0.9 and "
            "warmup_bias_lr 0; an explicit optimizer keeps warmup_bias_lr 0.1. mAP50-95 is ultralytics' validation "
            "after each epoch: *final* is the last epoch's, *best* the highest of the run.\n\n")
    for data in datasets:
        rows = []
        for model in [*MODELS, *sorted({r["run"]["model"] for r in found} - set(MODELS))]:
            settings = {label(*setting_of(r)): setting_of(r) for r in found
                        if r["run"]["model"] == model and r["run"]["data"] == data}
            seeds = sorted({r["run"]["seed"] for r in found})
            defaults = outcomes(schedule, model, data, seeds, {}, {}, store, work)
            base = spread(defaults)["mean"] if defaults else None
            measured = [(name, outcomes(schedule, model, data, seeds, *setting, store, work))
                        for name, setting in settings.items()]
            measured = sorted(((n, r) for n, r in measured if r), key=lambda item: -spread(item[1])["mean"])
            for name, records in measured:
                final, best = spread(records), spread(records, "best")
                ratio = f"{final['mean'] / base:.2f}x" if base else "n/a"
                rows.append((f"`{model}`", f"`{name}`", final["n"], mean_std(final), min_max(final), mean_std(best),
                             ratio, f"{sum(r['seconds'] for r in records) / len(records):.0f}"))
        text += (f"## {DATASET_WORDS[data]}\n\n"
                 + table(("model", "setting", "seeds", "final mAP50-95 (mean ± std)", "final min-max",
                          "best mAP50-95 (mean ± std)", "final vs defaults", "train time (s)"), rows) + "\n")
    return text + "Measured on:\n\n" + facts(describe(torch.device("cpu"), torch.get_num_threads()))


def main(argv=None):
    options = parser(__doc__.splitlines()[0], "learning_sweep.md")
    options.add_argument("--stage", nargs="+", choices=list(STAGES), default=[],
                         help="train these stages' missing runs first, in the order given")
    args = options.parse_args(argv)
    schedule = QUICK if args.quick else Schedule()
    datasets = args.datasets[:1] if args.quick else args.datasets
    if args.quick:
        ensure(stage_runs(schedule, *QUICK_STAGE, datasets), args.store, args.work, args.jobs)
    else:
        runs = [run for stage in args.stage for run in stage_runs(schedule, *STAGES[stage], datasets)]
        ensure(runs, args.store, args.work, args.jobs)
    command = "python benchmarks/learning_sweep.py" + (" --quick" if args.quick else "")
    publish(report(schedule, datasets, args.store, args.work, command), args.out / "learning_sweep.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
