"""What the learning study and its sweep share: the schedule, the datasets, settings in words, and training.

A setting is a dict of ultralytics training arguments; the empty one is ultralytics' defaults.
Every run trains through ``yolo_repvit.compare``, one comparison folder per dataset and setting
under ``--work``, named after the setting's arguments rather than after the script that asked for
it.  So the study and the sweep, given the same ``--work``, share their runs, and a run already
there is never trained again (``compare`` keys each run by model, data, training arguments, seed
and library versions).
"""

import statistics
import tempfile
from argparse import ArgumentParser
from dataclasses import dataclass
from pathlib import Path

import _shipped
import yolo_repvit
from _scenes import make_scenes

YOLO11N, REPVIT = "yolo11n.yaml", "yolo11n-repvit.yaml"
MODELS = (YOLO11N, REPVIT)
TIMM = "yolo11n-fastvit.yaml"  # a shipped Timm config the recommendation is checked on
DATASETS = ("photo", "digits")
DATASET_WORDS = {"photo": "photo scenes (5 classes, small objects cut from photographs)",
                 "digits": "digit scenes (10 classes)"}
WORK = Path(tempfile.gettempdir()) / "yolo-repvit-learning"


@dataclass(frozen=True)
class Schedule:
    """Everything but model, dataset, seed and setting: runs compared in one table share it."""

    epochs: int = 30
    imgsz: int = 128
    batch: int = 16
    images: int = 192
    val_images: int = 48

    def words(self):
        return (f"{self.epochs} epochs at {self.imgsz} px, batch {self.batch}, {self.images} training and "
                f"{self.val_images} validation images per dataset, CPU, `deterministic=True`, no pretrained weights")

    def folder(self, kind, work):
        """Where dataset ``kind`` at this schedule's sizes lives, with one comparison folder per setting beside it."""
        return Path(work) / f"{kind}-{self.images}-{self.val_images}-{self.imgsz}px"

    def dataset(self, kind, work):
        """The ``data.yaml`` of dataset ``kind``, generated (seed 0) on first use; ``make_scenes`` writes it last."""
        root = self.folder(kind, work) / "scenes"
        if not (root / "data.yaml").is_file():
            make_scenes(kind, root, train=self.images, val=self.val_images, imgsz=self.imgsz)
        return root / "data.yaml"


QUICK = Schedule(epochs=2, imgsz=64, batch=8, images=16, val_images=8)

# The training arguments the plugin ships (chosen from results/learning_sweep.md), and the other setting at which
# yolo11n did best there (on one of the two datasets; the recommended one on the other).
RECOMMENDED = _shipped.load("repvit-scratch.yaml")
YOLO11N_BEST = {"optimizer": "AdamW", "lr0": 0.01, "momentum": 0.9}


def cells():
    """(model, recipe, training arguments) of every curve the learning study compares."""
    return [(YOLO11N, "defaults", {}), (YOLO11N, "recommended", RECOMMENDED), (YOLO11N, "AdamW lr0=0.01", YOLO11N_BEST),
            (REPVIT, "defaults", {}), (REPVIT, "recommended", RECOMMENDED)]


def label(train):
    """A setting in words, as written: what differs from ultralytics' defaults."""
    return " ".join(f"{k}={v}" for k, v in train.items()) or "defaults"


def setting_name(train):
    """A setting's comparison folder name: its arguments sorted, so equal settings written apart share runs."""
    return ",".join(f"{k}={v}" for k, v in sorted(train.items())) or "defaults"


def trained(schedule, datasets, grid, seeds, work):
    """``{(dataset, model, setting_name(train)): records of seeds 0 to seeds - 1}`` for each ``(model, train)`` of
    ``grid`` on each dataset.

    One ``yolo_repvit.compare`` per setting and dataset, of the models the grid gives that setting; settings in
    the grid's order, so a study cut short has its first settings complete on every dataset.  ``format="pytorch"``
    and one timing round: the study needs the curves, not latency.
    """
    settings = {}
    for model, train in grid:
        settings.setdefault(setting_name(train), (train, {}))[1][model] = None
    found = {}
    for name, (train, models) in settings.items():
        for kind in datasets:
            summaries = yolo_repvit.compare(
                str(schedule.dataset(kind, work)), list(models), epochs=schedule.epochs, imgsz=schedule.imgsz,
                batch=schedule.batch, seeds=seeds, cfg=dict(train), format="pytorch", latency_imgsz=schedule.imgsz,
                rounds=1, out=schedule.folder(kind, work) / name)
            found.update({(kind, s["model"], name): s["runs"] for s in summaries})
    return found


def spread(records, key="final"):
    """Mean, sample standard deviation (0 for one seed), min and max over seeds of each run's final (last epoch) or
    best mAP50-95."""
    values = [(curve[-1] if key == "final" else max(curve)) for curve in (r["epoch_map"] for r in records)]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"n": len(values), "mean": statistics.fmean(values), "std": std, "min": min(values), "max": max(values)}


def mean_std(stats):
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def min_max(stats):
    return f"{stats['min']:.3f}-{stats['max']:.3f}"


def train_time(records):
    """Mean training wall time of the runs, in whole seconds, as the tables show it."""
    return f"{statistics.fmean(r['train_seconds'] for r in records):.0f}"


def parser(description, out):
    """The command-line options the study and the sweep share; ``out`` names the report written to ``--out``."""
    options = ArgumentParser(description=description)
    options.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    options.add_argument("--quick", action="store_true", help="toy sizes, one seed, one dataset: a smoke test")
    options.add_argument("--work", type=Path, default=WORK,
                         help="datasets and comparison folders (runs), kept between the study and the sweep")
    options.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help=f"folder for {out}")
    return options
