"""The RepViT variants this plugin builds, as plain data (no torch, no timm): the one source for
their widths, depths, weight tags, and the variant each scale of the shipped configs uses.

Widths and depths are in timm's convention (a stage = an optional downsample unit plus
``depth`` blocks); ``tests/test_build.py`` checks them against timm's registered models so
this table cannot drift.  ``m0_6`` is not registered in timm; its numbers reproduce the official
RepViT-M0.6 exactly.
"""

import difflib
import math
from dataclasses import dataclass

from ._errors import RepViTError

STRIDES = (4, 4, 8, 16, 32)  # output stride of the stem and of each of the four stages
WIDTH_RANGE = (0.1, 4.0)


@dataclass(frozen=True)
class Variant:
    name: str
    widths: tuple  # output channels of the four stages at width factor 1.0
    depths: tuple
    legacy: bool = False  # the paper's v1 models (m1/m2/m3) use a different RepVGG depthwise block
    tags: tuple = ()  # ImageNet weights, default first
    hub: bool = True  # timm hosts them (else: the authors' release files)
    top1: str = ""  # ImageNet top-1 the RepViT authors report (300 / 450 epoch distillation)

    @property
    def default_tag(self):
        return self.tags[0]

    @property
    def short(self):
        """``repvit_m0_9`` -> ``m0_9``, as in the per-variant config names."""
        return self.name.removeprefix("repvit_")


_NEW = ("dist_300e_in1k", "dist_450e_in1k")
_OLD = ("dist_in1k",)

VARIANTS = {
    v.name: v
    for v in (
        Variant("repvit_m0_6", (40, 80, 160, 320), (1, 1, 8, 1), tags=("dist_300e_in1k",), hub=False, top1="74.1"),
        Variant("repvit_m0_9", (48, 96, 192, 384), (2, 2, 14, 2), tags=_NEW, top1="78.7 / 79.1"),
        Variant("repvit_m1_0", (56, 112, 224, 448), (2, 2, 14, 2), tags=_NEW, top1="80.0 / 80.3"),
        Variant("repvit_m1_1", (64, 128, 256, 512), (2, 2, 12, 2), tags=_NEW, top1="80.7 / 81.2"),
        Variant("repvit_m1_5", (64, 128, 256, 512), (4, 4, 24, 4), tags=_NEW, top1="82.3 / 82.5"),
        Variant("repvit_m2_3", (80, 160, 320, 640), (6, 6, 34, 2), tags=_NEW, top1="83.3 / 83.7"),
        Variant("repvit_m1", (48, 96, 192, 384), (2, 2, 14, 2), legacy=True, tags=_OLD, top1="78.5"),
        Variant("repvit_m2", (64, 128, 256, 512), (2, 2, 12, 2), legacy=True, tags=_OLD, top1="80.6"),
        Variant("repvit_m3", (64, 128, 256, 512), (4, 4, 18, 2), legacy=True, tags=_OLD, top1="81.4"),
    )
}

# The backbone of each scale in the shipped per-scale configs (yolo11n-repvit.yaml ... yolo11x-repvit.yaml).
SCALE_VARIANTS = {"n": "repvit_m0_6", "s": "repvit_m0_9", "m": "repvit_m1_1", "l": "repvit_m1_5", "x": "repvit_m2_3"}


def scaled_widths(variant, width):
    """Stage widths for a width factor, rounded up to a multiple of 8 as the recipe does."""
    return tuple(-(-int(c * width) // 8) * 8 for c in VARIANTS[variant].widths)


def check_variant(name, where="RepViT"):
    """``name`` if it is a variant, else an error suggesting the closest one."""
    if name in VARIANTS:
        return name
    normal = str(name).lower().replace(".", "_").replace("-", "_")
    close = [normal] if normal in VARIANTS else difflib.get_close_matches(normal, list(VARIANTS), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise RepViTError(f"{where}: unknown RepViT variant {name!r}.{hint} Valid variants: {', '.join(VARIANTS)}.")


def check_width(value, where="RepViT"):
    low, high = WIDTH_RANGE
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise RepViTError(f"{where}: width factor {value!r} is not a number from {low} to {high}. It scales "
                          "every stage width (0.25, 0.5, 1.0, 1.5 in the recipe); ImageNet weights need 1.0.")
    return float(number)
