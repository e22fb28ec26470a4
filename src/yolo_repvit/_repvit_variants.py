"""The RepViT variants this plugin builds, as plain data (no torch, no timm): the one source for
their widths, depths and weight tags.

Widths and depths are in timm's convention (a stage = an optional downsample unit plus
``depth`` blocks); ``tests/test_build.py`` checks them against timm's registered models so
this table cannot drift.  ``m0_6`` is not registered in timm; its numbers reproduce the official
RepViT-M0.6 exactly, built by the builder of a registered variant (:attr:`Variant.timm_name`).
"""

import difflib
import math
from dataclasses import dataclass

from ._errors import RepViTError

FACTOR_RANGE = (0.1, 4.0)  # of a row's width and depth factors
# A RepViT row's activation, as timm's activation factory names it: GELU is RepViT's own (its ImageNet weights were
# trained with it); ReLU is what yolo11-repvit-cpu.yaml uses to fit under yolo11n's latency.
ACTIVATIONS = ("gelu", "relu")


@dataclass(frozen=True)
class Variant:
    name: str
    widths: tuple  # output channels of the four stages at width factor 1.0
    depths: tuple
    legacy: bool = False  # the paper's v1 models (m1/m2/m3) use a different RepVGG depthwise block
    tags: tuple = ()  # ImageNet weights, default first
    hub: bool = True  # timm registers and hosts them (else: the authors' release files)

    @property
    def timm_name(self):
        """The timm model whose builder makes this variant, given its widths and depths: itself where timm
        registers it; for m0_6, which timm lacks, the smallest registered one of its kind."""
        return self.name if self.hub else "repvit_m0_9"


_NEW = ("dist_300e_in1k", "dist_450e_in1k")
_OLD = ("dist_in1k",)

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("repvit_m0_6", (40, 80, 160, 320), (1, 1, 8, 1), tags=("dist_300e_in1k",), hub=False),
        Variant("repvit_m0_9", (48, 96, 192, 384), (2, 2, 14, 2), tags=_NEW),
        Variant("repvit_m1_0", (56, 112, 224, 448), (2, 2, 14, 2), tags=_NEW),
        Variant("repvit_m1_1", (64, 128, 256, 512), (2, 2, 12, 2), tags=_NEW),
        Variant("repvit_m1_5", (64, 128, 256, 512), (4, 4, 24, 4), tags=_NEW),
        Variant("repvit_m2_3", (80, 160, 320, 640), (6, 6, 34, 2), tags=_NEW),
        Variant("repvit_m1", (48, 96, 192, 384), (2, 2, 14, 2), legacy=True, tags=_OLD),
        Variant("repvit_m2", (64, 128, 256, 512), (2, 2, 12, 2), legacy=True, tags=_OLD),
        Variant("repvit_m3", (64, 128, 256, 512), (4, 4, 18, 2), legacy=True, tags=_OLD),
    )
}


def scaled_widths(variant, width):
    """Stage widths for a width factor, rounded up to a multiple of 8 as the recipe does."""
    return tuple(-(-int(c * width) // 8) * 8 for c in VARIANTS[variant].widths)


def scaled_depths(variant, depth):
    """Blocks per stage for a depth factor, rounded up (at least one per stage)."""
    return tuple(max(1, math.ceil(d * depth)) for d in VARIANTS[variant].depths)


def check_variant(name, where="RepViT"):
    """``name`` if it is a variant, else an error suggesting the closest one."""
    if name in VARIANTS:
        return name
    normal = str(name).lower().replace(".", "_").replace("-", "_")
    close = [normal] if normal in VARIANTS else difflib.get_close_matches(normal, list(VARIANTS), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise RepViTError(f"{where}: unknown RepViT variant {name!r}.{hint} Valid variants: {', '.join(VARIANTS)}.")


def check_width(value, where="RepViT"):
    return _factor(value, "width", "It scales every stage width (0.25, 0.5, 1.0, 1.5 in the recipe); ImageNet weights "
                   "need 1.0.", where)


def check_depth(value, where="RepViT"):
    return _factor(value, "depth", "It scales the blocks of every stage, rounded up, at least one (0.5 halves them); "
                   "ImageNet weights need 1.0.", where)


def _factor(value, what, meaning, where):
    low, high = FACTOR_RANGE
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise RepViTError(f"{where}: {what} factor {value!r} is not a number from {low} to {high}. {meaning}")
    return float(number)


def check_act(value, where="RepViT"):
    if value not in ACTIVATIONS:
        raise RepViTError(f"{where}: activation {value!r} is not one a RepViT row takes; use one of "
                          f"{', '.join(ACTIVATIONS)} (gelu, RepViT's own, is the default; ImageNet weights need it).")
    return value
