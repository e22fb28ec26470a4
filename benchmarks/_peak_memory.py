"""Peak memory one model costs for inference, measured in its own process so nothing else is counted.

Each model gets a new process, forked from a server that has already imported torch, timm and
ultralytics (so a process starts in a moment, and library code is not counted as the model's).
The process notes where it stands, then does what a deployment does: builds the model, fuses it
and runs three batch-1 inferences.  The figure is the peak above that starting point:

- CPU: peak resident set size (``ru_maxrss``) minus the resident size at the start: weights
  (unfused while building, then fused), activations and the kernels' workspace;
- CUDA: PyTorch's peak allocated GPU memory for the fp16 model (weights and activations; the
  CUDA context and cached-but-free blocks are not counted).
"""

import multiprocessing
import resource
import sys

MIB = 2**20
PRELOAD = ["torch", "timm.models.repvit", "yolo_repvit", "ultralytics"]


def measure(models, size, device, threads):
    """``{cfg: MiB}`` for every model, one fresh process each, one at a time."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with context.Pool(1, maxtasksperchild=1) as pool:
        jobs = [(cfg, size, str(device), threads) for cfg in models]
        return dict(zip(models, pool.starmap(_peak, jobs, chunksize=1)))  # one model per process


def _peak(cfg, size, device, threads):
    import psutil
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(threads)
    device = torch.device(device)
    cuda = device.type == "cuda"
    start = torch.cuda.memory_allocated(device) if cuda else psutil.Process().memory_info().rss
    model = YOLO(cfg).model.eval().fuse(verbose=False)
    model = model.half().to(device) if cuda else model
    image = torch.rand(1, 3, size, size).to(device, torch.float16 if cuda else torch.float32)
    with torch.inference_mode():
        for _ in range(3):
            model(image)
    if cuda:
        peak = torch.cuda.max_memory_allocated(device)
    else:  # ru_maxrss is in KiB on Linux, bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return (peak - start) / MIB
