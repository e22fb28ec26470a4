"""Trained ``best.pt`` files as the deployment target runs them: exported to one format at the timed image size.

Exports are made by the comparing process, on the machine whose latency is measured, whichever
machine trained the model.  Each is kept in ``<out>/exports/<format>-<imgsz>/`` under the run's
key, so comparing the same runs in another format or at another size trains nothing again.
"""

import shutil
from pathlib import Path

PYTORCH = "pytorch"  # best.pt itself, fused by ultralytics when it loads it


def export(weights, key, fmt, imgsz, folder):
    """The file (or folder) ``fmt`` makes of ``weights`` at ``imgsz``, exported once into ``folder``."""
    from ultralytics import YOLO

    folder = Path(folder) / f"{fmt}-{imgsz}"
    source = folder / f"{key}.pt"
    made = [p for p in folder.glob(f"{key}[._]*") if p != source] if folder.is_dir() else []
    if fmt == PYTORCH or made:
        return Path(weights) if fmt == PYTORCH else made[0]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, source)  # exported files are named after their weights
    exported = Path(YOLO(str(source)).export(format=fmt, imgsz=imgsz, device="cpu"))
    source.unlink()
    return exported


def size(weights, imgsz):
    """Parameters and GFLOPs at ``imgsz`` of the model as it is deployed: fused, in eval mode."""
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import get_flops

    net = YOLO(str(weights)).model.fuse(verbose=False).eval()
    return sum(p.numel() for p in net.parameters()), round(get_flops(net, imgsz), 2)
