"""Training runs of ``yolo-repvit compare``: each trained once, recorded, and reused when asked for again.

A run is one model trained on one dataset with one seed and one set of training arguments.  Its
record, one line of ``<out>/runs.jsonl``, holds what training gives (mAP of ``best.pt`` after
every epoch and at the end, training time, where ``best.pt`` is) under a key made from everything
that can change the outcome: the model's YAML (or weight file), the data YAML, the training
arguments, the seed, and the versions of yolo-repvit, ultralytics, timm and torch.  So a stopped
comparison, run again, trains only what it had not finished, and a changed library never reuses
an old record.  What depends on the deployment target (export, size at the timed image size,
latency) is done by the comparing process, not here.

:func:`train` runs in a process of its own (a fresh interpreter locally, a Ray worker on a
cluster), so nothing leaks from one run into the next; it returns the record, and only the
process that started the runs writes the store.
"""

import csv
import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

MAP, MAP50 = "metrics/mAP50-95(B)", "metrics/mAP50(B)"


@dataclass(frozen=True)
class Run:
    """One training run; ``train`` holds ultralytics training arguments applied to every model alike."""

    model: str
    data: str
    seed: int
    epochs: int
    imgsz: int
    batch: int
    train: dict = field(default_factory=dict)

    def __hash__(self):  # the dict field makes the generated hash fail; equal runs have equal JSON
        return hash(json.dumps(asdict(self), sort_keys=True))

    @property
    def label(self):
        return f"{Path(self.model).name} seed {self.seed}"


def versions():
    """The libraries a run's outcome depends on; the plugin's version is the running code's (Ray may ship the
    plugin to a worker where it is not installed)."""
    from importlib.metadata import version

    import yolo_repvit

    return {"yolo-repvit": yolo_repvit.__version__, **{lib: version(lib) for lib in ("ultralytics", "timm", "torch")}}


def key(run, model_text, data_text):
    """The run's key: the model's file name and the seed to read, then a hash of all that shapes the outcome."""
    identity = {**asdict(run), "model": model_text, "data": data_text, "versions": versions()}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return f"{Path(run.model).stem}-seed{run.seed}-{digest}"


class Store:
    """The records of one comparison folder, a JSON Lines file that only the comparing process appends to."""

    def __init__(self, path):
        self.path = Path(path)

    def records(self):
        lines = self.path.read_text().splitlines() if self.path.is_file() else []
        return {record["key"]: record for record in map(json.loads, lines)}

    def add(self, record):
        """Append ``record`` as one line in one write, so a stopped comparison never leaves half a record."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
        finally:
            os.close(fd)


def train(run, run_key, folder, device="cpu", log=None, parent=None):
    """Train ``run`` into ``folder/<run_key>`` and validate its ``best.pt``; return the run's record.

    ``log``: a file that receives ultralytics' output (a worker's console would interleave with others).
    ``parent``: the process id of the comparison that started this worker; the worker stops when that process is
    gone (killed rather than interrupted, it cleans nothing up), instead of training on for hours unwatched.
    """
    if parent is not None:
        threading.Thread(target=_exit_without, args=(parent,), daemon=True).start()
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as f:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
    from ultralytics import YOLO

    import yolo_repvit  # noqa: F401  the worker may be a fresh interpreter without the startup hook

    project = Path(folder)
    started = time.perf_counter()
    model = YOLO(run.model)
    model.train(data=run.data, epochs=run.epochs, imgsz=run.imgsz, batch=run.batch, seed=run.seed, device=device,
                deterministic=True, plots=False, project=str(project), name=run_key, exist_ok=True, workers=0,
                **run.train)
    seconds = time.perf_counter() - started
    weights = project / run_key / "weights" / "best.pt"
    trained = YOLO(str(weights))
    metrics = trained.val(data=run.data, imgsz=run.imgsz, batch=run.batch, device=device, plots=False, verbose=False,
                          project=str(project / run_key), name="val", exist_ok=True)
    with open(project / run_key / "results.csv") as f:
        epochs = list(csv.DictReader(f, skipinitialspace=True))
    return {"key": run_key, "run": asdict(run), "versions": versions(), "map": float(metrics.box.map),
            "map50": float(metrics.box.map50), "train_seconds": round(seconds, 1),
            "weights": str(weights.relative_to(project)),
            "epoch_map": [float(row[MAP]) for row in epochs], "epoch_map50": [float(row[MAP50]) for row in epochs]}


def _exit_without(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)
