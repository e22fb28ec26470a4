"""Training runs of the learning study, each recorded once in a run store and never repeated.

A run is (model config, dataset, seed, training arguments, model knobs, schedule).  Its record is
one line of the store, a JSON Lines file (``results/runs.jsonl``), holding the mAP50-95 and mAP50
after every epoch and the wall time under a key made from a hash of everything that can change the
outcome: the run itself, the versions of ultralytics, timm and torch, and a fingerprint of the
freshly built model (its initial weights and BatchNorm constants), so a changed plugin or library
never reuses an old record.  Reports read the store and aggregate over seeds; asking for a run
already recorded costs nothing.

Runs train on the CPU in worker processes (one run per process, so nothing leaks between runs),
``jobs`` at a time.  ``deterministic=True`` with a fixed ``seed`` repeats a run exactly on the CPU:
seeds, not repetition, measure the spread.  Workers return their records and the parent process
alone appends them, so runs finishing at once never write the store together.
"""

import csv
import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import cache
from multiprocessing import get_context
from pathlib import Path

from _scenes import make_scenes

STORE = Path(__file__).parent / "results" / "runs.jsonl"
WORK = Path(tempfile.gettempdir()) / "yolo-repvit-learning"
MAP, MAP50 = "metrics/mAP50-95(B)", "metrics/mAP50(B)"


@dataclass(frozen=True)
class Run:
    """One training run. ``train`` holds ultralytics train arguments, ``knobs`` the model-level ones (``_knobs``)."""

    model: str
    data: str
    seed: int
    train: dict
    knobs: dict
    epochs: int
    imgsz: int
    batch: int
    images: int
    val_images: int
    data_seed: int = 0

    def __hash__(self):  # the dict fields make the generated hash fail; equal runs have equal JSON
        return hash(json.dumps(asdict(self), sort_keys=True))

    def dataset_name(self):
        return f"{self.data}-{self.images}-{self.val_images}-{self.imgsz}px-seed{self.data_seed}"


def record_key(run, work=WORK):
    """The run's key in the store: readable names first, then the hash of all that shapes the outcome."""
    identity = {**asdict(run), "versions": _versions(), "model_fingerprint": _fingerprint(run.model),
                "data_fingerprint": _data_fingerprint(Path(work), run)}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return f"{Path(run.model).stem}-{run.data}-seed{run.seed}-{digest}"


def records(store=STORE):
    """Every record in the store by key (the last, should a run have been recorded twice); none if there is no store."""
    store = Path(store)
    lines = store.read_text().splitlines() if store.is_file() else []
    return {record["key"]: record for record in map(json.loads, lines)}


def load(run, store=STORE, work=WORK):
    """The recorded outcome of ``run``, or None if it has not been trained."""
    return records(store).get(record_key(run, work))


def ensure(runs, store=STORE, work=WORK, jobs=1):
    """Train every run not yet in the store, ``jobs`` at a time; return the records of all ``runs`` in order."""
    runs = list(dict.fromkeys(runs))
    recorded = records(store)
    missing = [run for run in runs if record_key(run, work) not in recorded]
    print(f"{len(runs) - len(missing)} of {len(runs)} runs already recorded; training {len(missing)}", flush=True)
    if missing:
        context = get_context("spawn")  # a clean interpreter per run: no state carried between trainings
        with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
            futures = {pool.submit(_train_in_worker, run, str(work)): run for run in missing}
            failed = []
            for done, future in enumerate(as_completed(futures), 1):
                try:
                    record = future.result()
                except Exception as error:  # noqa: BLE001  one broken run must not cost the others in a long study
                    failed.append(error)
                    print(f"[{done}/{len(missing)}] {error}", flush=True)
                    continue
                _append(Path(store), record)
                print(f"[{done}/{len(missing)}] {_describe(futures[future])}: final {record['map'][-1]:.3f}, "
                      f"{record['seconds']:.0f} s", flush=True)
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(missing)} runs failed") from failed[0]
    recorded = records(store)
    return [recorded[record_key(run, work)] for run in runs]


def summarise(values):
    """Mean, sample standard deviation (0 for one value), min and max."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"n": len(values), "mean": statistics.fmean(values), "std": std, "min": min(values), "max": max(values)}


def _describe(run):
    changes = {**run.train, **run.knobs}
    return f"{run.model} {run.data} seed {run.seed} " + (" ".join(f"{k}={v}" for k, v in changes.items()) or "defaults")


def _dataset(work, run):
    """The ``data.yaml`` of ``run``'s dataset, generated on first use (``data.yaml`` is written last)."""
    root = work / "datasets" / run.dataset_name()
    if not (root / "data.yaml").is_file():
        make_scenes(run.data, root, train=run.images, val=run.val_images, imgsz=run.imgsz, seed=run.data_seed)
    return root / "data.yaml"


def _data_fingerprint(work, run):
    """A hash of every image and label of ``run``'s dataset: a changed generator never reuses an old record."""
    return _folder_fingerprint(_dataset(work, run).parent)


@cache
def _folder_fingerprint(root):
    digest = hashlib.sha256()
    for path in sorted(p for split in ("train", "val") for p in (root / split).rglob("*") if p.is_file()):
        if path.suffix in (".jpg", ".txt"):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _train_in_worker(run, work):
    """Worker process: train ``run`` with its output in a log file; return its record, its key first."""
    work = Path(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    key = record_key(run, work)
    log = work / "logs" / f"{key}.log"
    with open(log, "w") as f:  # ultralytics writes to the process's streams; keep them out of the console
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    try:
        return {"key": key, **_train(run, work)}
    except Exception as error:
        raise RuntimeError(f"{_describe(run)} failed; log: {log}") from error


def _append(store, record):
    """Add ``record`` to the store as one line in a single write to a file opened for appending.

    With ``O_APPEND`` each write lands at the end of the file, and a local file system does not
    interleave two writes, so two studies sharing a store (each appending from its own process)
    still add whole lines.
    """
    store.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _train(run, work):
    from ultralytics import YOLO

    import yolo_repvit  # noqa: F401  activates the plugin in this fresh process
    from _knobs import attach

    data = _dataset(work, run)
    project = Path(tempfile.mkdtemp(dir=work))
    try:
        model = YOLO(run.model)
        attach(model, run.knobs)
        started = time.perf_counter()
        model.train(data=str(data), epochs=run.epochs, imgsz=run.imgsz, batch=run.batch, seed=run.seed, workers=0,
                    device="cpu", deterministic=True, plots=False, verbose=False, project=str(project), name="run",
                    exist_ok=True, **run.train)
        seconds = time.perf_counter() - started
        with open(project / "run" / "results.csv") as f:
            rows = list(csv.DictReader(f, skipinitialspace=True))
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return {"run": asdict(run), "versions": _versions(), "model_fingerprint": _fingerprint(run.model),
            "data_fingerprint": _data_fingerprint(work, run), "seconds": round(seconds, 1),
            "map": [_rounded(row[MAP]) for row in rows], "map50": [_rounded(row[MAP50]) for row in rows]}


def _rounded(value):
    value = float(value)
    return round(value, 5) if math.isfinite(value) else 0.0


@cache
def _versions():
    import timm
    import torch
    import ultralytics

    return {"ultralytics": ultralytics.__version__, "timm": timm.__version__, "torch": torch.__version__.split("+")[0],
            "python": ".".join(map(str, sys.version_info[:2]))}


@cache
def _fingerprint(cfg):
    """A hash of the model ``cfg`` builds from a fixed seed: its initial weights, statistics and BatchNorm constants."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    import yolo_repvit  # noqa: F401

    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        model = DetectionModel(cfg, verbose=False)
    finally:
        torch.random.set_rng_state(state)
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            digest.update(f"{m.eps} {m.momentum}".encode())
    return digest.hexdigest()[:12]
