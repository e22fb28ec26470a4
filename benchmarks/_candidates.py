"""Which models the report measures: every shipped detection config, next to upstream YOLO11.

The list is read from the folder of shipped configs (``_shipped``), so a config the plugin adds
is measured without touching the benchmark.  A config that picks its backbone per scale
(``yolo11-repvit.yaml``) is measured at every scale it lists; a config that fixes the backbone
(``yolo11-repvit-m0_9.yaml``) at scale n, since its scale letter only sizes the head.
"""

import re
from pathlib import Path

import _shipped

REFERENCE = "yolo11n.yaml"  # every ratio in the report is against this model, timed in the same rounds
UPSTREAM = (REFERENCE, "yolo11s.yaml", "yolo11m.yaml", "yolo11l.yaml", "yolo11x.yaml")
QUICK = (REFERENCE, "yolo11n-repvit.yaml", "yolo11n-convnext.yaml")
SCALES = "nsmlx"


def detection_configs():
    """Shipped detection configs as buildable names: those choosing the backbone per scale, the others.

    Only the YOLO11 head, so that rows differ in their backbone alone; configs with ImageNet weights are
    left out: they cost what their from-scratch twins cost, and their weights would have to be downloaded.
    """
    per_scale, fixed = [], []
    for file in _shipped.names():
        d = _shipped.load(file)
        yolo11_head = file.startswith("yolo11-") and not file.endswith("-p2.yaml") and d["head"][-1][2] == "Detect"
        if not yolo11_head or any(arg is True for arg in d["backbone"][0][3]):
            continue
        if isinstance(d["backbone"][0][3][0], dict):  # the row maps scale -> backbone
            per_scale += [with_scale(file, scale) for scale in d["scales"]]
        else:
            fixed.append(with_scale(file, "n"))
    return per_scale, fixed


def with_scale(file, scale):
    """``yolo11-repvit.yaml`` at scale ``s`` is built as ``yolo11s-repvit.yaml``: the letter follows the family."""
    return re.sub(r"^([a-z]+\d+)", rf"\g<1>{scale}", file, count=1)


def all_models():
    """The report's rows: each scale's upstream model beside our config of that scale, then the rest."""
    per_scale, fixed = detection_configs()
    return sorted([*UPSTREAM, *per_scale], key=lambda name: SCALES.index(scale_of(name))) + fixed


def upstream_of(name):
    """The upstream YOLO11 model of the same scale as a buildable name."""
    return next(up for up in UPSTREAM if scale_of(up) == scale_of(name))


def family_of(name):
    """The backbone family a config name says: ``yolo11n-convnext.yaml`` -> ``convnext``; YOLO11 for upstream's."""
    parts = Path(name).stem.split("-")
    return parts[1] if len(parts) > 1 else "YOLO11"


def scale_of(name):
    """The scale letter of a buildable name: ``yolo11s-repvit.yaml`` -> ``s``."""
    return re.match(r"^[a-z]+\d+([a-z])", name).group(1)
