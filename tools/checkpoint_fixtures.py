"""Write the checkpoint fixtures of the installed yolo-repvit release to ``tests/data/checkpoints/<version>/``.

Checkpoints pickle whole modules, so a class that changes its name, place or attributes can break
every ``best.pt`` users have.  Each fixture is a real ``best.pt`` written by that release's training
(one epoch on generated data), with every tensor zeroed so that it costs a few kilobytes, and
``expected.json`` holds what each model's head reads once :func:`refill` has filled its tensors.
``tests/test_checkpoints.py`` loads every release's fixtures with today's code and requires that
output, unfused and fused.  Run it once per release, with that release installed::

    python tools/checkpoint_fixtures.py
"""

import gzip
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "checkpoints"
# One model per kind of pickled layer: a RepViT config, the recipe's YAML, two timm feature-extractor classes.
MODELS = {"yolo11n-repvit": "yolo11n-repvit.yaml", "recipe": str(ROOT / "tests" / "data" / "yolo11-RepViT.yaml"),
          "yolo11n-mobilenetv4": "yolo11n-mobilenetv4.yaml", "yolo11n-fastvit": "yolo11n-fastvit.yaml"}
SAMPLES = 64  # output values recorded per model


@torch.no_grad()
def refill(model, seed=0):
    """Fill every floating tensor of ``model`` with values that depend only on its names, shapes and ``seed``."""
    g = torch.Generator().manual_seed(seed)
    for name, tensor in sorted(model.state_dict().items()):
        if not tensor.is_floating_point():
            continue
        if tensor.dim() > 1:  # weights: unit gain, so activations neither vanish nor blow up through the layers
            values = torch.randn(tensor.shape, generator=g) / math.sqrt(tensor[0].numel())
        elif name.endswith(("running_var", ".weight")):
            values = torch.rand(tensor.shape, generator=g) + 0.5
        else:
            values = (torch.rand(tensor.shape, generator=g) - 0.5) * 0.2
        tensor.copy_(values)
    return model


def test_input(imgsz=64):
    """A fixed, non-constant image batch."""
    return (torch.arange(3 * imgsz * imgsz, dtype=torch.float32).reshape(1, 3, imgsz, imgsz) % 251) / 251


@torch.no_grad()
def head_inputs(model):
    """A sample of the maps the detection head reads (what the backbone and neck computed), in eval mode.

    The head itself is upstream's, and what it returns differs between ultralytics releases; its inputs do not.
    """
    seen = []
    hook = model.model[-1].register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    try:
        model.eval()(test_input())
    finally:
        hook.remove()
    flat = torch.cat([t.flatten() for t in seen[0]])
    return flat[:: max(1, flat.numel() // SAMPLES)][:SAMPLES].tolist()


def write(out_dir):
    from ultralytics import YOLO

    import yolo_repvit

    out_dir.mkdir(parents=True, exist_ok=True)
    expected = {}
    with tempfile.TemporaryDirectory() as work:
        data = yolo_repvit.make_dataset("detect", Path(work) / "data", train=16, val=8, imgsz=64)
        for name, config in MODELS.items():
            model = YOLO(config)
            model.train(data=str(data), epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                        project=work, name=name, verbose=False)
            checkpoint = torch.load(model.trainer.best, map_location="cpu", weights_only=False)
            with torch.no_grad():
                for tensor in checkpoint["model"].state_dict().values():
                    tensor.zero_()
            zeroed = Path(work) / f"{name}.pt"
            torch.save(checkpoint, zeroed)
            with open(zeroed, "rb") as src, gzip.open(out_dir / f"{name}.pt.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            expected[name] = head_inputs(refill(checkpoint["model"].float()))
    (out_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    import yolo_repvit

    write(FIXTURES / yolo_repvit.__version__)
    sys.exit(0)
