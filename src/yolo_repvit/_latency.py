"""Batch-1 latency of exported models, timed side by side in one process pinned to a fixed number of cores.

Runs as its own interpreter (``python -m yolo_repvit._latency``), started by :func:`measure` with
the thread variables set and its CPU affinity cut to ``threads`` cores before any runtime loads,
so every runtime ultralytics can export to (ONNX Runtime, OpenVINO, TorchScript, NCNN, ...)
works on the same cores whatever its own thread defaults.  Each model is loaded through
``ultralytics.YOLO``, as a user would, and timed by ultralytics' own inference timer: the
forward pass of its backend, without pre- and post-processing.

The machines this runs on may be shared and noisy, and other work only ever adds time, so
models are timed in rounds, each round visiting every model in turn (the order rotating), and
each model keeps its fastest call.  Ratios between models taken this way hold up when absolute
times do not.
"""

import json
import os
import subprocess
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def measure(paths, imgsz, threads=1, rounds=5, calls=5):
    """``{path: fastest inference ms}`` for the exported models ``paths``, timed side by side at ``imgsz``."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads)), "YOLO_VERBOSE": "False"}
    job = json.dumps({"paths": [str(p) for p in paths], "imgsz": imgsz, "threads": threads, "rounds": rounds,
                      "calls": calls})
    done = subprocess.run([sys.executable, "-m", __name__, job], env=env, capture_output=True, text=True)
    if done.returncode:
        from ._errors import RepViTError

        how = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        raise RepViTError(f"timing the exported models failed ({how}); the trained runs are kept, so running the same "
                          f"comparison again only times them.\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time(job):
    cores = sorted(os.sched_getaffinity(0))[: job["threads"]] if hasattr(os, "sched_setaffinity") else []
    if cores:
        os.sched_setaffinity(0, cores)
    import numpy as np
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(job["threads"])
    image = np.random.default_rng(0).integers(0, 256, (job["imgsz"], job["imgsz"], 3), dtype=np.uint8)
    models = {path: YOLO(path, task="detect") for path in job["paths"]}
    fastest = dict.fromkeys(models, float("inf"))
    for model in models.values():  # warm-up: first calls allocate and compile
        model.predict(image, imgsz=job["imgsz"], device="cpu", verbose=False)
    for r in range(job["rounds"]):
        order = list(models)[r % len(models):] + list(models)[: r % len(models)]
        for path in order:
            for _ in range(job["calls"]):
                result = models[path].predict(image, imgsz=job["imgsz"], device="cpu", verbose=False)[0]
                fastest[path] = min(fastest[path], result.speed["inference"])
    return fastest


if __name__ == "__main__":
    print(json.dumps(_time(json.loads(sys.argv[1]))))
