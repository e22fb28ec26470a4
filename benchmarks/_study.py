"""What the learning study and its sweep share: the schedule, settings in words, and reading the run store.

A setting is a pair of dicts: ultralytics train arguments and model knobs (``_knobs``); the empty
pair is ultralytics' defaults.  Reports aggregate whatever the store holds for the schedule asked
for, measured with the libraries and plugin of this environment (records of other versions, or of
a model that builds differently, are ignored), so partial studies report what they have.
"""

from argparse import ArgumentParser
from dataclasses import asdict, dataclass
from pathlib import Path

import _shipped
from _runs import STORE, WORK, Run, load, records, summarise

YOLO11N, REPVIT = "yolo11n.yaml", "yolo11n-repvit.yaml"
MODELS = (YOLO11N, REPVIT)
TIMM = "yolo11n-fastvit.yaml"  # a shipped Timm config the recommendation is checked on
DATASETS = ("photo", "digits")
DATASET_WORDS = {"photo": "photo scenes (5 classes, small objects cut from photographs)",
                 "digits": "digit scenes (10 classes)"}


@dataclass(frozen=True)
class Schedule:
    """Everything but model, dataset, seed and setting: runs compared in one table share it."""

    epochs: int = 30
    imgsz: int = 128
    batch: int = 16
    images: int = 192
    val_images: int = 48

    def run(self, model, data, seed, train=None, knobs=None):
        return Run(model, data, seed, dict(train or {}), dict(knobs or {}), **asdict(self))

    def words(self):
        return (f"{self.epochs} epochs at {self.imgsz} px, batch {self.batch}, {self.images} training and "
                f"{self.val_images} validation images per dataset, CPU, `deterministic=True`, no pretrained weights")


QUICK = Schedule(epochs=2, imgsz=64, batch=8, images=16, val_images=8)

# The training arguments the plugin ships (chosen from results/learning_sweep.md), and the other setting at which
# yolo11n did best there (on one of the two datasets; the recommended one on the other).
RECOMMENDED = _shipped.load("repvit-scratch.yaml")
YOLO11N_BEST = {"optimizer": "AdamW", "lr0": 0.01, "momentum": 0.9}


def cells():
    """(model, recipe, train arguments, model knobs) of every curve the learning study compares."""
    return [(YOLO11N, "defaults", {}, {}), (YOLO11N, "recommended", RECOMMENDED, {}),
            (YOLO11N, "AdamW lr0=0.01", YOLO11N_BEST, {}), (REPVIT, "defaults", {}, {}),
            (REPVIT, "recommended", RECOMMENDED, {})]


def label(train, knobs):
    """A setting in words: what differs from ultralytics' defaults and the plugin's model."""
    items = [f"{k}={v}" for k, v in {**train, **knobs}.items()]
    return " ".join(items) if items else "defaults"


def outcomes(schedule, model, data, seeds, train, knobs, store, work):
    """The recorded curves of one setting, one per seed that has been trained."""
    records = (load(schedule.run(model, data, seed, train, knobs), store, work) for seed in seeds)
    return [record for record in records if record]


def spread(records, key="final"):
    """Summary over seeds of each run's final (last epoch) or best mAP50-95."""
    pick = (lambda curve: curve[-1]) if key == "final" else max
    return summarise([pick(record["map"]) for record in records])


def mean_std(stats):
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def min_max(stats):
    return f"{stats['min']:.3f}-{stats['max']:.3f}"


def setting_of(record):
    """``(train, knobs)`` of a record, as the sweep writes it."""
    return record["run"]["train"], record["run"]["knobs"]


def recorded(store, schedule):
    """Every record in ``store`` made with ``schedule`` (any model, dataset, seed or setting).

    In key order, so that a report does not depend on the order in which runs finished.
    """
    wanted = asdict(schedule)
    return [r for _, r in sorted(records(store).items()) if all(r["run"][k] == v for k, v in wanted.items())]


def parser(description, out):
    """The command-line options the study and the sweep share; ``out`` names the report written to ``--out``."""
    options = ArgumentParser(description=description)
    options.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    options.add_argument("--jobs", type=int, default=1, help="trainings at once (one CPU thread each)")
    options.add_argument("--quick", action="store_true", help="toy sizes, one seed, one dataset: a smoke test")
    options.add_argument("--store", type=Path, default=STORE, help="run store: a JSON Lines file")
    options.add_argument("--work", type=Path, default=WORK, help="datasets and logs")
    options.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help=f"folder for {out}")
    return options
