"""``yolo-repvit compare``: which detector is better for its cost on your data and your device.

Every model trains on the same data with the same training arguments and seeds, ``best.pt`` is
validated and exported, and the exported models are timed side by side on the machine that runs
the comparison (the deployment target), whichever machines trained them.  Inputs are checked
before anything trains; finished runs are recorded in ``<out>/runs.jsonl`` and reused when the
same comparison runs again (``_runs``).  Training runs go one after another in fresh
interpreters, or, given a Ray address, as Ray tasks spread over a cluster (``_ray_runs``).
"""

import difflib
import os
import platform
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

import yaml

from . import _compare_report, _exports, _latency, _runs
from ._errors import RepViTError

# Training arguments the comparison sets itself, per model and seed; a --cfg file may not set them.
DECIDED = ("model", "data", "epochs", "imgsz", "batch", "seed", "device", "project", "name", "exist_ok", "resume",
           "mode", "task", "cfg")
NOT_TIMED = {"engine": "needs an NVIDIA GPU", "coreml": "runs on macOS only", "coreai": "runs on Apple devices only"}


def compare(data, models, epochs=30, imgsz=640, batch=16, seeds=1, cfg=None, format="onnx", latency_imgsz=640,
            device="cpu", out="compare", threads=1, rounds=5, ray=None, command=None):
    """Train, validate, export and time ``models`` on ``data``; write ``out``/compare.csv, compare.md, pareto.png.

    ``cfg``: training arguments for every model alike, a YAML file (or shipped name such as ``repvit-scratch.yaml``)
    or a dict.  Returns one summary per model, in ``models`` order: means over seeds, spread, latency, size, whether
    it is on the accuracy-latency front, and under ``"runs"`` the record of each seed's run (with its mAP after every
    epoch, ``"epoch_map"``).
    """
    out = Path(out).resolve()
    identities, train_args = check_inputs(data, models, epochs, imgsz, batch, seeds, cfg, threads, rounds)
    data = str(Path(data).resolve())
    plan = [_runs.Run(_model_path(m), data, seed, epochs, imgsz, batch, train_args)
            for m in models for seed in range(seeds)]
    check_format(plan[0].model, format, out)
    if not ray:  # on Ray, Ray places each run
        check_device(device)
    identity = dict(zip(dict.fromkeys(run.model for run in plan), identities))
    keys = {run: _runs.key(run, identity[run.model], Path(data).read_text()) for run in plan}
    records = trained(plan, keys, out, device, ray)
    measured = deployed(records, format, latency_imgsz, threads, rounds, out)
    settings = {"command": command or f"yolo_repvit.compare({data!r}, {models!r}, ...)", "data": data,
                "epochs": epochs, "imgsz": imgsz, "batch": batch, "train": train_args, "format": format,
                "latency_imgsz": latency_imgsz, "threads": threads, "rounds": rounds, "machine": _machine()}
    found = _compare_report.write(out, _compare_report.rows(records, models, measured), models, settings)
    for summary in found:
        summary["runs"] = records[:seeds]
        records = records[seeds:]
    print(f"[yolo-repvit] wrote {out / 'compare.md'}, {out / 'compare.csv'} and {out / 'pareto.png'}", flush=True)
    return found


def trained(plan, keys, out, device, ray):
    """The record of every run of ``plan``: those already in ``out/runs.jsonl``, the others trained now."""
    store = _runs.Store(out / "runs.jsonl")
    done = {k: r for k, r in store.records().items() if (out / "runs" / r["weights"]).exists()}
    missing = [run for run in plan if keys[run] not in done]
    print(f"[yolo-repvit] {len(plan)} runs: {len(plan) - len(missing)} already done in {store.path}, training "
          f"{len(missing)}" + (f" on Ray ({ray})" if ray else f" here (logs in {out / 'logs'})"), flush=True)
    if missing:
        for record in (_on_ray if ray else _locally)(missing, keys, out, device, ray):  # as each run finishes
            store.add(record)
            done[record["key"]] = record
    return [done[keys[run]] for run in plan]


def deployed(records, fmt, imgsz, threads, rounds, out):
    """``{key: (latency ms, parameters, GFLOPs)}`` of each record's ``best.pt`` exported to ``fmt``, all timed side
    by side on this machine."""
    exported = {}
    for record in records:
        weights = out / "runs" / record["weights"]
        exported[record["key"]] = (str(_exports.export(weights, record["key"], fmt, imgsz, out / "exports")),
                                   *_exports.size(weights, imgsz))
    print(f"[yolo-repvit] timing {len(exported)} {fmt} models side by side at {imgsz} px, {threads} thread(s), "
          f"{rounds} rounds", flush=True)
    timed = _latency.measure([path for path, _, _ in exported.values()], imgsz, threads, rounds)
    return {key: (timed[path], params, gflops) for key, (path, params, gflops) in exported.items()}


def check_inputs(data, models, epochs, imgsz, batch, seeds, cfg, threads, rounds):
    """Refuse what cannot work before anything trains; return what identifies each model (:func:`_identity`) and
    the training arguments of ``cfg``."""
    from ultralytics import YOLO

    for name, value, low in (("epochs", epochs, 1), ("batch", batch, 1), ("seeds", seeds, 1), ("threads", threads, 1),
                             ("rounds", rounds, 1), ("imgsz", imgsz, 32)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise RepViTError(f"compare: {name} is {value!r}; it must be a whole number of at least {low}.")
    if not models:
        raise RepViTError("compare: no models given; name at least one, e.g. --models yolo11n.yaml yolo11n-repvit.yaml")
    if len(set(models)) != len(models):
        raise RepViTError(f"compare: models {models} name one model twice; give each once.")
    _check_data(data)
    identities = []
    for model in models:
        try:
            built = YOLO(model)
        except (FileNotFoundError, KeyError, ValueError, SyntaxError) as error:
            raise RepViTError(f"compare: model {model!r} cannot be built ({type(error).__name__}: {error}). Give a "
                              "model YAML (a shipped name such as yolo11n-repvit.yaml, upstream's yolo11n.yaml, or a "
                              "path) or a .pt file; `yolo-repvit configs` lists the shipped ones.") from error
        if built.task != "detect":
            raise RepViTError(f"compare: model {model!r} is a {built.task} model; the comparison reports box mAP, so "
                              "give detection models.")
        identities.append(_identity(model, built))
    return identities, _training_arguments(cfg)


def check_device(device):
    """Refuse a training device this machine lacks before anything trains, by ultralytics' own check.  Some releases'
    check also sets CUDA_VISIBLE_DEVICES; it is put back, so each training process makes the choice itself."""
    from ultralytics.utils.torch_utils import select_device

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        select_device(device, verbose=False)
    except ValueError as error:
        raise RepViTError(f"compare: device {device!r} is not available here ({str(error).strip().splitlines()[0]}). "
                          "Give --device cpu, or the index of a GPU this machine has (0, or 0,1 for two).") from error
    finally:
        if visible is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = visible


def _check_data(data):
    from ultralytics.data.utils import check_det_dataset

    if not Path(str(data)).is_file():
        raise RepViTError(f"compare: data file {data!r} not found. Give the path of a dataset YAML (train:, val:, "
                          "names:), e.g. one written by yolo_repvit.write_data_yaml.")
    try:
        check_det_dataset(str(data), autodownload=False)
    except Exception as error:  # noqa: BLE001  ultralytics reports a bad dataset in many ways
        raise RepViTError(f"compare: data {data!r} is not a usable detection dataset ({type(error).__name__}: "
                          f"{str(error).strip().splitlines()[-1][:300]}).") from error


def _training_arguments(cfg):
    """The training arguments of ``cfg``: a dict, or a YAML file (a path, or a shipped name such as
    repvit-scratch.yaml)."""
    if cfg is None:
        return {}
    from ultralytics.cfg import DEFAULT_CFG_DICT
    from ultralytics.utils.checks import check_yaml

    try:
        args = dict(cfg) if isinstance(cfg, dict) else yaml.safe_load(Path(check_yaml(cfg)).read_text()) or {}
    except (FileNotFoundError, AssertionError) as error:  # check_yaml asserts the suffix
        raise RepViTError(f"compare: training arguments file {cfg!r} not found or not a YAML file ({error}); give "
                          "the path of a .yaml file, or a shipped name such as repvit-scratch.yaml.") from error
    if not isinstance(args, dict):
        raise RepViTError(f"compare: {cfg} holds {type(args).__name__}, not training arguments (key: value lines).")
    for key in args:
        if key in DECIDED:
            raise RepViTError(f"compare: {cfg} sets {key!r}, which the comparison sets itself for every model; remove "
                              f"it (use --{key} where the command has it).")
        if key not in DEFAULT_CFG_DICT:
            close = difflib.get_close_matches(key, list(DEFAULT_CFG_DICT), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise RepViTError(f"compare: {cfg} sets {key!r}, which is no ultralytics training argument.{hint}")
    return args


def check_format(model, fmt, out):
    """Export an untrained copy of ``model`` to ``fmt`` and run it once, so that a format this machine cannot export
    to or run fails now, not after hours of training."""
    from ultralytics import YOLO
    from ultralytics.engine.exporter import export_formats

    formats = export_formats()
    known = [f for f, cpu in zip(formats["Argument"], formats["CPU"]) if f != "-" and cpu and f not in NOT_TIMED]
    if fmt in NOT_TIMED:
        raise RepViTError(f"compare: format {fmt!r} {NOT_TIMED[fmt]}, so it cannot be timed here. "
                          f"Formats this comparison times: pytorch, {', '.join(known)}.")
    if fmt == _exports.PYTORCH:
        return
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        weights = Path(scratch) / "preflight.pt"
        YOLO(model).save(weights)
        try:
            exported = YOLO(str(weights)).export(format=fmt, imgsz=64, device="cpu")
            _latency.measure([exported], 64, rounds=1, calls=1)
        except (RepViTError, ValueError, ImportError, RuntimeError, SystemExit, OSError) as error:
            reason = f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}"
            raise RepViTError(f"compare: cannot export to or run format {fmt!r} here ({reason}). Formats this "
                              f"comparison times: pytorch, {', '.join(known)}; each needs its runtime installed "
                              "(ultralytics says which).") from error


def _model_path(model):
    """A model YAML or weight file as the runs refer to it: a path if it is a file here, else the (shipped) name."""
    return str(Path(model).resolve()) if Path(model).is_file() else model


def _identity(model, built):
    """What identifies a model for reuse: the model dict its YAML gave (scale included), or its weight file's hash."""
    import hashlib
    import json

    if str(model).endswith((".yaml", ".yml")):
        return json.dumps(built.model.yaml, sort_keys=True, default=str)
    return hashlib.sha256(Path(model).read_bytes()).hexdigest()


def _locally(missing, keys, out, device, _address):
    """Train the runs one after another, each in a fresh interpreter (ultralytics' output in ``out/logs``); yield
    each record as it is done."""
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), max_tasks_per_child=1)
    try:
        futures = {pool.submit(_runs.train, run, keys[run], str(out / "runs"), device,
                               str(out / "logs" / f"{keys[run]}.log"), os.getpid()): run for run in missing}
        yield from _collect(futures, as_completed(futures), f"its log is in {out / 'logs'}")
    finally:
        pool.shutdown(cancel_futures=True)  # a failed or stopped comparison trains nothing more


def _on_ray(missing, keys, out, device, address):
    from . import _ray_runs

    futures = _ray_runs.submit(missing, keys, out, device, address)
    yield from _collect(futures, _ray_runs.as_completed(futures), "its output is in Ray's worker logs")


def _collect(futures, finished, logs):
    """Records of ``futures`` in the order ``finished`` gives them; the first failure stops the comparison."""
    for count, future in enumerate(finished, 1):
        run = futures[future]
        try:
            record = future.result()
        except BrokenProcessPool as error:
            raise RepViTError(f"compare: the process training {run.label} ended before it reported ({error}). Either "
                              "it was killed (out of memory: give a smaller batch) or compare() was called from a "
                              "script outside `if __name__ == \"__main__\":`. Each run trains in a new Python process "
                              "that imports the calling script, so the call must sit under that guard. Finished runs "
                              "are kept: run the same command again to go on.") from error
        except Exception as error:  # noqa: BLE001  say which run failed and where its output is, then stop
            raise RepViTError(f"compare: training {run.label} failed ({type(error).__name__}: {error}); {logs}. "
                              "Finished runs are kept: run the same command again to go on.") from error
        print(f"[yolo-repvit] [{count}/{len(futures)}] {run.label}: mAP50-95 {record['map']:.3f}, "
              f"{record['train_seconds']:.0f} s", flush=True)
        yield record


def _machine():
    versions = ", ".join(f"{k} {v}" for k, v in _runs.versions().items())
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {versions}")
