"""The timm model families the tests cover, as plain data (no torch, no timm).

One source for ``yolo-repvit backbones``, the family test matrix and the family table of
docs/rows.md.  What timm says about each (strides, channels, whether ``fuse()`` reparameterizes
it) is read from the installed timm, never written here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str  # as users know it
    pattern: str  # timm model names of the family (fnmatch pattern, as timm.list_models takes)
    tested: str  # the family's smallest model: what the tests build, train, fuse and export


FAMILIES = (
    Family("MobileNetV4", "mobilenetv4_*", "mobilenetv4_conv_small"),
    Family("FastViT", "fastvit_*", "fastvit_t8"),
    Family("ConvNeXt", "convnext_*", "convnext_atto"),
    Family("EfficientNet", "efficientnet_*", "efficientnet_b0"),
    Family("MobileNetV3", "mobilenetv3_*", "mobilenetv3_small_050"),
    Family("MobileOne", "mobileone_*", "mobileone_s0"),
    Family("RepVGG", "repvgg_*", "repvgg_a0"),
    Family("RepGhostNet", "repghostnet_*", "repghostnet_050"),
    Family("GhostNetV2", "ghostnetv2_*", "ghostnetv2_100"),
    Family("ResNet", "resnet[0-9]*", "resnet10t"),
    Family("RegNet", "regnet[xyz]_*", "regnetx_002"),
    Family("HGNetV2", "hgnetv2_*", "hgnetv2_b0"),
    Family("EfficientViT (MIT)", "efficientvit_b*", "efficientvit_b0"),
    Family("StarNet", "starnet_*", "starnet_s050"),
    Family("FasterNet", "fasternet_*", "fasternet_t0"),
    Family("EdgeNeXt", "edgenext_*", "edgenext_xx_small"),
    Family("TinyViT", "tiny_vit_*", "tiny_vit_5m_224"),
    Family("MambaOut", "mambaout_*", "mambaout_femto"),
    Family("Swin", "swin_*", "swin_tiny_patch4_window7_224"),
    # Plain ViTs (one map): a simple feature pyramid on the last map
    Family("DINOv3 ViT", "vit_*_dinov3*", "vit_small_patch16_dinov3"),
    Family("DINOv2 ViT", "vit_*_dinov2*", "vit_small_patch14_dinov2"),
    Family("DeiT", "deit_*", "deit_tiny_patch16_224"),
)

# Families a Timm row refuses, each with the model the tests show the refusal on.
REFUSED = (
    Family("LeViT", "levit_*", "levit_128s"),  # strides 16/32/64
    Family("SHViT", "shvit_*", "shvit_s1"),  # strides 16/32/64
    Family("EfficientFormerV2", "efficientformerv2_*", "efficientformerv2_s0"),  # runs at 224x224 only
)
