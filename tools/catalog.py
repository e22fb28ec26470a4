"""What ships besides the package's code: the backbone each scale of a per-scale config uses, and the RepViT
facts the documentation quotes.

Data for ``tools/generate.py`` (and the tests that check what it wrote); the installed package never reads it.
"""

from dataclasses import dataclass

SCALES = "nsmlx"


@dataclass(frozen=True)
class PerScale:
    """A backbone shipped as configs ``yolo11{n,s,m,l,x}-<config>.yaml`` (and ``-<pretrained>``), a model per scale."""

    name: str  # the family as users know it (for RepViT, the row kind)
    config: str  # the configs' name part
    models: tuple  # the backbone of each scale, n to x
    weights: str = "ImageNet"  # what the pretrained configs' weights were trained on
    pretrained: str = "imagenet"  # the pretrained configs' name part: yolo11n-<config>-<pretrained>.yaml

    @property
    def by_scale(self):
        return dict(zip(SCALES, self.models))


REPVIT = PerScale("RepViT", "repvit", ("repvit_m0_6", "repvit_m0_9", "repvit_m1_1", "repvit_m1_5", "repvit_m2_3"))
TIMM = (
    PerScale("MobileNetV4", "mobilenetv4", ("mobilenetv4_conv_small", "mobilenetv4_conv_medium",
                                            "mobilenetv4_hybrid_medium", "mobilenetv4_conv_large",
                                            "mobilenetv4_hybrid_large")),
    PerScale("FastViT", "fastvit", ("fastvit_t8", "fastvit_t12", "fastvit_sa12", "fastvit_sa24", "fastvit_sa36")),
    PerScale("ConvNeXt", "convnext", ("convnext_atto", "convnext_femto", "convnext_pico", "convnext_nano",
                                      "convnext_tiny")),
    PerScale("EfficientNet", "efficientnet", ("efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
                                              "efficientnet_b3", "efficientnet_b4")),
    # Plain ViTs: a simple feature pyramid on the last map; self-supervised weights, not ImageNet's.
    PerScale("DINOv3", "dinov3", ("vit_small_patch16_dinov3", "vit_small_plus_patch16_dinov3",
                                  "vit_base_patch16_dinov3", "vit_base_patch16_dinov3", "vit_large_patch16_dinov3"),
             weights="DINOv3 LVD-1689M", pretrained="lvd1689m"),
)

# RepViT cut to YOLO11's latency on a CPU (benchmarks/results/repvit-cpu/model_selection_confirm.md): the variant of
# each scale measured, its width factor and the row's options, from scratch.
REPVIT_CPU = {"n": "repvit_m0_6"}
REPVIT_CPU_WIDTH = 0.75
REPVIT_CPU_OPTIONS = {"depth": 0.5, "act": "relu"}

# ImageNet top-1 the RepViT authors report (300 / 450 epoch distillation).
REPVIT_TOP1 = {"repvit_m0_6": "74.1", "repvit_m0_9": "78.7 / 79.1", "repvit_m1_0": "80.0 / 80.3",
               "repvit_m1_1": "80.7 / 81.2", "repvit_m1_5": "82.3 / 82.5", "repvit_m2_3": "83.3 / 83.7",
               "repvit_m1": "78.5", "repvit_m2": "80.6", "repvit_m3": "81.4"}
