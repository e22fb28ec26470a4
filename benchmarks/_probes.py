"""What is timed for one model: fused inference in PyTorch and ONNX Runtime, and one training step.

Each function prepares everything up front (copies, exports, sessions, synthetic inputs) and
returns a :class:`~_timing.Probe` whose ``run()`` is only the work being measured.  The model
that ``YOLO(cfg)`` built is never changed; each probe works on its own copy.
"""

import contextlib
import copy
import logging
import os
from pathlib import Path

import numpy as np
import torch

from _timing import Probe

GPU_CALLS = 20  # inferences per timed sample on CUDA, where one call is too short to time alone


def fused(model):
    """An inference copy of a DetectionModel: eval mode, RepViT reparameterised, conv+BN folded."""
    return copy.deepcopy(model).eval().fuse(verbose=False)


def inference_copy(model, device):
    """The fused copy on ``device``, in fp16 on CUDA (as ultralytics predicts there with ``half=True``)."""
    net = fused(model).to(device)
    return net.half() if device.type == "cuda" else net


def eager(net, size, device):
    """Batch-1 inference of an :func:`inference_copy` at ``size`` px."""
    half = device.type == "cuda"
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    image = image.to(device, torch.float16 if half else torch.float32)
    calls = GPU_CALLS if half else 1

    def run():
        with torch.inference_mode():
            for _ in range(calls):
                net(image)
        if half:
            torch.cuda.synchronize(device)

    return Probe(run, calls)


def onnx_runtime(yolo, size, folder, threads):
    """Batch-1 ONNX Runtime (CPU) inference of the file ``yolo export format=onnx imgsz=<size>`` writes."""
    with _quietly_in(folder):  # the exporter writes <config stem>.onnx into the working directory
        exported = Path(yolo.export(format="onnx", imgsz=size, device="cpu", verbose=False)).resolve()
    path = exported.rename(exported.with_name(f"{exported.stem}-{size}.onnx"))
    session = onnx_session(path, threads)
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random((1, 3, size, size), np.float32)}
    return Probe(lambda: session.run(None, feed))


def onnx_session(path, threads):
    """An ONNX Runtime CPU session of the file ``path`` on ``threads`` intra-op threads, one inter-op thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def training_step(model, batch, size, device, boxes_per_image=3):
    """One SGD step of the unfused model on a synthetic batch, with ultralytics' detection loss.

    Forward in training mode, ``DetectionModel.loss`` (box, class and DFL terms with the
    task-aligned assigner), backward, optimizer step; mixed precision on CUDA as ultralytics
    trains there.  The images are noise and the boxes random but fixed, so every model does the
    same work per step.
    """
    from ultralytics.cfg import get_cfg

    net = copy.deepcopy(model).to(device).train()
    net.args = get_cfg()  # the loss reads its gains (box, cls, dfl) from here, as under the trainer
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    rng = torch.Generator().manual_seed(0)
    n = batch * boxes_per_image
    centres = 0.25 + 0.5 * torch.rand(n, 2, generator=rng)
    sides = 0.1 + 0.2 * torch.rand(n, 2, generator=rng)
    data = {"img": torch.rand(batch, 3, size, size, generator=rng),
            "cls": torch.randint(0, net.model[-1].nc, (n, 1), generator=rng).float(),
            "bboxes": torch.cat((centres, sides), 1),
            "batch_idx": torch.arange(batch).repeat_interleave(boxes_per_image).float()}
    data = {k: v.to(device) for k, v in data.items()}

    def run():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.float16, enabled=amp):
            loss, _ = net.loss(data)
        scaler.scale(loss.sum()).backward()
        scaler.step(optimizer)
        scaler.update()
        if amp:
            torch.cuda.synchronize(device)

    return Probe(run, batch)


@contextlib.contextmanager
def _quietly_in(folder):
    """Run with ``folder`` as working directory and ultralytics' info logging off (one export per model and size)."""
    logger = logging.getLogger("ultralytics")
    level, previous = logger.level, os.getcwd()
    logger.setLevel(logging.WARNING)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
        logger.setLevel(level)
