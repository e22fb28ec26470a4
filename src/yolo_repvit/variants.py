"""The RepViT variants this plugin builds, as plain data (no torch, no timm).

Widths and depths are in timm's convention (a stage = an optional downsample unit plus
``depth`` blocks); ``tests/test_variants.py`` checks them against timm's registered models so
this table cannot drift.  ``m0_6`` is not registered in timm; its numbers reproduce the official
RepViT-M0.6 exactly.
"""

from dataclasses import dataclass

STRIDES = (4, 4, 8, 16, 32)  # output stride of the stem and of each of the four stages


@dataclass(frozen=True)
class Variant:
    name: str
    widths: tuple  # output channels of the four stages at width factor 1.0
    depths: tuple
    legacy: bool = False  # the paper's v1 models (m1/m2/m3) use a different RepVGG depthwise block
    tags: tuple = ()  # ImageNet weights, default first
    hub: bool = True  # timm hosts them (else: the authors' release files)

    @property
    def default_tag(self):
        return self.tags[0] if self.tags else None


_NEW = ("dist_300e_in1k", "dist_450e_in1k")
_OLD = ("dist_in1k",)

VARIANTS = {
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
