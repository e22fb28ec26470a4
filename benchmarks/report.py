"""Model-selection report: size, speed, memory and training throughput of every shipped detection
config next to upstream YOLO11 n to x, each figure also a ratio against yolo11n from the same run.

    python benchmarks/report.py                   # CPU baseline -> benchmarks/results/cpu.md, cpu.png
    python benchmarks/report.py --device 0        # CUDA GPU 0  -> benchmarks/results/cuda.md, cuda.png
    python benchmarks/report.py --quick --out DIR # three configs at toy sizes, a smoke test (CI runs it)
    python benchmarks/report.py --models yolo11n-repvit.yaml yolo11n-convnext.yaml  # these beside YOLO11 only
                                                  # -> benchmarks/results/cpu-selection.md, cpu-selection.png

Every timing is paired with the same timing of yolo11n taken right beside it (see ``_timing.py``),
so ratios hold up on a busy machine.  The Markdown file says what each column measures and which
machine it came from.
"""

import argparse
import gc
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import _candidates
import _peak_memory
import _probes
import yolo_repvit  # noqa: F401  activates the plugin before ultralytics builds anything
from _machine import describe, device_name, load_average
from _mdtable import publish
from _plot import report_figure
from _render import markdown
from _timing import Probe, race

RESULTS = Path(__file__).parent / "results"
GROUP = 8  # models whose timed probes are held in memory at once, beside the reference's


@dataclass(frozen=True)
class Plan:
    sizes: tuple  # square input sizes for batch-1 inference
    train_batch: int
    train_size: int
    rounds: int  # paired timings with the reference (after one warm-up run) per model...
    big_rounds: int  # ...and for models above big_gflops at 640, to keep the run short
    build_rounds: int
    train_scales: str  # model scales whose training step is timed
    big_gflops: float = 30


PLANS = {
    "cpu": Plan(sizes=(320, 640), train_batch=2, train_size=256, rounds=7, big_rounds=3, build_rounds=3,
                train_scales="nsmlx"),
    "cuda": Plan(sizes=(320, 640), train_batch=16, train_size=640, rounds=10, big_rounds=10, build_rounds=3,
                 train_scales="ns"),
    "quick": Plan(sizes=(64,), train_batch=2, train_size=64, rounds=1, big_rounds=1, build_rounds=1,
                  train_scales="nsmlx"),
}


def build_all(models, rounds):
    """Build every model ``rounds`` times beside the reference; return the last builds and the build timings."""
    from ultralytics import YOLO

    built = {}

    def build(cfg):
        return Probe(lambda: built.__setitem__(cfg, YOLO(cfg)))

    timings = race({cfg: {"build": build(cfg)} for cfg in models}, dict.fromkeys(models, rounds),
                   _candidates.REFERENCE, warmup=0)
    return built, {cfg: t["build"] for cfg, t in timings.items()}


def describe_model(yolo):
    """Backbone name, parameters (training graph) and ultralytics' GFLOPs at 640 for the fused model."""
    from ultralytics.utils.torch_utils import get_flops

    model = yolo.model
    first = model.model[0]
    return {"backbone": getattr(first, "variant", None) or getattr(first, "model", None) or "YOLO11",
            "family": _candidates.family_of(yolo.model.yaml.get("yaml_file", "")),
            "params": sum(p.numel() for p in model.parameters()) / 1e6,
            "gflops": get_flops(_probes.fused(model), 640)}


def prepare(cfg, yolo, plan, device, threads, folder):
    """Every probe of one model: eager inference per size, ONNX Runtime per size on CPU, a training step."""
    net = _probes.inference_copy(yolo.model, device)
    found = {f"eager@{size}": _probes.eager(net, size, device) for size in plan.sizes}
    if device.type == "cpu":
        found.update({f"onnx@{size}": _probes.onnx_runtime(yolo, size, folder, threads) for size in plan.sizes})
    if _candidates.scale_of(cfg) in plan.train_scales:
        found["train"] = _probes.training_step(yolo.model, plan.train_batch, plan.train_size, device)
    return found


def run(models, plan, device, threads):
    """Measure everything; return the per-model rows and facts about the run."""
    import timm.models.repvit  # noqa: F401  imported before timing builds, so no build pays for it

    started, load_before = time.perf_counter(), load_average()
    say(f"building {len(models)} models, {plan.build_rounds} rounds")
    built, build_times = build_all(models, plan.build_rounds)
    rows = {cfg: {**describe_model(built[cfg]), "build": build_times[cfg]} for cfg in models}
    say("peak memory, one fresh process per model")
    memory = _peak_memory.measure(models, max(plan.sizes), device, threads)
    rounds = {cfg: plan.big_rounds if rows[cfg]["gflops"] > plan.big_gflops else plan.rounds for cfg in models}
    timings = {}
    with tempfile.TemporaryDirectory() as folder:
        reference = prepare(_candidates.REFERENCE, built[_candidates.REFERENCE], plan, device, threads, folder)
        others = [cfg for cfg in models if cfg != _candidates.REFERENCE]
        for start in range(0, len(others), GROUP):
            group = others[start:start + GROUP]
            say(f"models {start + 1}-{start + len(group)} of {len(others)}: preparing the timed probes "
                "(fused copies, ONNX exports, training copies), then timing them beside the reference")
            timed = {_candidates.REFERENCE: reference, **{cfg: prepare(cfg, built[cfg], plan, device, threads, folder)
                                                           for cfg in group}}
            torch.set_num_threads(threads)  # ultralytics' exporter resets it
            timings = {**race(timed, rounds, _candidates.REFERENCE), **timings}  # the reference's from the first group
            del timed  # the next group's probes replace these: all models' at once need more memory than a PC has
            gc.collect()
    for cfg, row in rows.items():
        row.update(memory=memory[cfg], timings=timings[cfg])
    return rows, {"minutes": (time.perf_counter() - started) / 60, "load": (load_before, load_average()),
                  "threads": threads, "machine": describe(device, threads), "device": device_name(device)}


def say(message):
    print(f"[report] {message}", file=sys.stderr, flush=True)


def main(argv=None):
    from ultralytics.utils import NUM_THREADS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, or a CUDA device: 0, cuda:1")
    parser.add_argument("--quick", action="store_true", help="three configs at toy sizes, one round: a smoke test")
    parser.add_argument("--models", nargs="+", help="measure these configs (beside YOLO11 of their scales) only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md and .png")
    args = parser.parse_args(argv)
    device = torch.device(f"cuda:{args.device}" if args.device.isdigit() else args.device)
    plan = PLANS["quick" if args.quick else device.type]
    threads = NUM_THREADS  # what ultralytics itself uses on CPU: cores - 1, at most 8
    torch.set_num_threads(threads)
    models = list(_candidates.QUICK if args.quick else _candidates.all_models())
    if args.models:  # each beside the upstream model of its scale, as in the full report
        beside = (m for name in args.models for m in (_candidates.upstream_of(name), name))
        models = list(dict.fromkeys([_candidates.REFERENCE, *beside]))
    rows, run_facts = run(models, plan, device, threads)
    run_facts["command"] = " ".join(["python benchmarks/report.py", *(["--quick"] if args.quick else []),
                                     *([] if device.type == "cpu" else ["--device", args.device]),
                                     *(["--models", *args.models] if args.models else [])])
    stem = device.type + ("-quick" if args.quick else "") + ("-selection" if args.models else "")
    args.out.mkdir(parents=True, exist_ok=True)
    report_figure(rows, plan, device, run_facts["device"], args.out / f"{stem}.png")
    text = markdown(rows, plan, device, run_facts, f"{stem}.png")
    publish(text, args.out / f"{stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
