"""The report's Markdown: one row per model, every measured figure with its ratio to the reference,
then what each column measures and the machine it was measured on."""

from _candidates import REFERENCE, upstream_of
from _mdtable import facts, table


def name(metric, device):
    """What a timed metric key (``eager@640``, ``onnx@320``, ``train``) stands for, e.g. ``ONNX Runtime 320``."""
    kind, _, size = metric.partition("@")
    if kind == "train":
        return "training"
    if kind == "onnx":
        return f"ONNX Runtime {size}"
    return f"PyTorch {size}{' fp16' if device.type == 'cuda' else ''}"


def label(metric, device):
    """Column title: the name and the unit of the figure shown."""
    return f"{name(metric, device)} ({'img/s' if metric == 'train' else 'ms'})"


def deployment_metric(device, sizes):
    """The latency a deployment on this device would see: ONNX Runtime on CPU, PyTorch fp16 on CUDA."""
    return f"{'onnx' if device.type == 'cpu' else 'eager'}@{max(sizes)}"


def timed_metrics(rows):
    """Timed metric keys in column order: inference by kind and size, then training."""
    found = {metric for row in rows.values() for metric in row["timings"] if metric != "train"}
    return sorted(found, key=lambda m: (m.split("@")[0] != "eager", int(m.split("@")[1]))) + ["train"]


def _ms(timing):
    ms = timing.seconds * 1000
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def _cells(row, metrics):
    timings = row["timings"]
    cells = []
    for metric in metrics:
        t = timings.get(metric)
        if t is None:
            cells.append("-")
        elif metric == "train":  # a rate: higher is better, so the ratio is the reference's time over ours
            cells.append(f"{1 / t.seconds:.2f} ({1 / t.ratio:.2f}x)")
        else:
            cells.append(f"{_ms(t)} ({t.ratio:.2f}x)")
    return cells


def markdown(rows, plan, device, run, figure):
    """The whole results file; ``run`` holds the command, device name, minutes, load (start, end), threads and
    machine facts."""
    ref = rows[REFERENCE]
    metrics = timed_metrics(rows)
    deploy = deployment_metric(device, plan.sizes)
    header = ("config", "backbone", "params (M)", "GFLOPs@640", *(label(m, device) for m in metrics),
              f"time per GFLOP vs same-scale YOLO11, {name(deploy, device)}", "peak memory (MiB)", "build (s)")
    body = []
    for cfg, row in rows.items():
        up = rows[upstream_of(cfg)]
        per_gflop = row["timings"][deploy].ratio / up["timings"][deploy].ratio * up["gflops"] / row["gflops"]
        body.append((f"`{cfg}`", row["backbone"], f"{row['params']:.2f}", f"{row['gflops']:.1f}",
                     *_cells(row, metrics), f"{per_gflop:.2f}x",
                     f"{row['memory']:.0f} ({row['memory'] / ref['memory']:.2f}x)",
                     f"{row['build'].seconds:.2f} ({row['build'].ratio:.2f}x)"))
    load = " and ".join("n/a" if v is None else f"{v:.1f}" for v in run["load"])
    return (f"# Model selection on {run['device']} ({device.type.upper()}): RepViT and timm backbones next to "
            "YOLO11\n\n"
            f"Every figure in brackets is a ratio to `{REFERENCE}` measured in the same run. Reproduce with "
            f"`{run['command']}`.\n\n"
            + table(header, body) + f"\n![latency against GFLOPs, and ratios to {REFERENCE}]({figure})\n\n"
            "## What the columns measure\n\n"
            + _notes(plan, device, deploy, run["threads"])
            + f"\nThe run took {run['minutes']:.0f} min; the 1-minute load average was {load} at its "
            "start and end (above the number of usable CPUs means other work shared the machine, which the "
            "ratios absorb better than the absolute times).\n\n## Machine\n\n" + facts(run["machine"]))


_MEMORY = {"cpu": "peak resident memory above the process's starting point (weights, activations, kernel workspace "
                  "and the library code those kernels touch)",
           "cuda": "peak allocated GPU memory of the fp16 model (weights and activations, not the CUDA context)"}


def _notes(plan, device, deploy, threads):
    cuda = device.type == "cuda"
    threads = f"{threads} thread{'s' if threads > 1 else ''}"
    lines = [
        f"Timing: every probe runs once untimed, then {plan.rounds} times ({plan.big_rounds} for models above "
        f"{plan.big_gflops} GFLOPs at 640, to keep the run short), each time right beside the same probe of "
        f"`{REFERENCE}`, which of the two goes first alternating; models take turns in a new random order each "
        "round. A cell shows the fastest run (other work on the machine only adds time) and, in brackets, that "
        "over the fastest of the reference's runs taken beside it (see `_timing.py`).",
        f"PyTorch: the fused model (backbone reparameterized, conv+BN folded), batch 1, random input, "
        f"`torch.inference_mode()`, {threads}"
        + (", fp16, 20 calls per sample, synchronised." if cuda else "."),
        "ONNX Runtime: the file `yolo export format=onnx imgsz=<size>` writes (ultralytics' exporter with "
        f"its defaults), CPUExecutionProvider, batch 1, {threads}." if not cuda else
        "ONNX Runtime is timed on CPU runs only.",
        f"Training: one optimizer step of the unfused model on a synthetic batch of {plan.train_batch} noise "
        f"images at {plan.train_size} px with 3 random boxes each: forward in training mode, ultralytics' "
        "detection loss (`DetectionModel.loss`: box, class and DFL terms, task-aligned assigner), backward, "
        f"SGD step{', under fp16 autocast with a grad scaler' if cuda else ''}; img/s = batch / fastest step "
        f"time; in brackets, throughput relative to `{REFERENCE}` (above 1 is faster). Scales timed: "
        f"{', '.join(plan.train_scales)}.",
        f"Time per GFLOP: {name(deploy, device)} time over GFLOPs, relative to the upstream YOLO11 model of the "
        "same scale (same head size); above 1 means the model gets less done per operation on this machine.",
        f"Peak memory: {_MEMORY[device.type]} of a fresh process that builds the model, fuses it and runs three "
        f"batch-1 inferences at {max(plan.sizes)} px (see `_peak_memory.py`).",
        "Build: `YOLO(cfg)` from the YAML (layers, ultralytics' stride probe and weight initialisation), on CPU, "
        f"fastest of {plan.build_rounds} builds, each beside a build of `{REFERENCE}`; timm is imported beforehand.",
        "Params: the training graph (unfused). GFLOPs: ultralytics' count (`get_flops`) for the fused model at "
        "640x640, whatever sizes were timed.",
    ]
    return "".join(f"- {line}\n" for line in lines)
