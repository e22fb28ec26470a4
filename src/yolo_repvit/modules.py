"""The layers a backbone row becomes, and the container :func:`yolo_repvit.backbone` returns.

Every class here ends up pickled in checkpoints, so each import path
``yolo_repvit.modules.<Name>`` is permanent: renaming one breaks users' ``.pt`` files.

- A RepViT row becomes five :class:`RepViTLayer`: the stem (layer 0), then one per stage
  (layers 1-4), each a slice of one timm ``RepVit``.
- A Timm row becomes one :class:`TimmBackbone` (layer 0: the whole timm feature extractor,
  returning its stride 4/8/16/32 maps as a list) and four :class:`TimmFeature` (layers 1-4, each
  reading layer 0 and picking one map).  timm's feature extractors cannot be cut into stages in
  general, so the graph reads them whole.
- A Timm row of a plain ViT (one map, at stride 16 or 14) becomes a :class:`ViTBackbone` (layer 0:
  the ViT and a :class:`SimplePyramid` making the four maps from its last one) and the same four
  :class:`TimmFeature`.
"""

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ._rows import STRIDES

_REPARAMETERIZE = ("fuse", "reparameterize", "switch_to_deploy")  # what timm.utils.reparameterize_model calls

# The objects besides modules that our layers' checkpoints hold (timm's feature extractors keep a
# FeatureInfo and their output Format).  Restricted loading (ULTRALYTICS_SAFE_LOAD=1) accepts
# these and the module classes of timm and of this file, nothing else.
DATA_CLASSES = ("timm.layers.format.Format", "timm.models._features.FeatureInfo")


class _BackboneLayer(nn.Module):
    """What every backbone layer shares: frozen means frozen statistics too, holding the timm model for the row's
    first epochs, and fusing with timm's machinery.

    Layers that hold timm modules keep them in ``body``.
    """

    held = False  # while true in training, ``body`` gets no gradient and keeps its statistics (row's freeze_epochs)

    def train(self, mode=True):
        """A layer whose parameters are all frozen (``freeze=``) keeps its BatchNorm statistics frozen too.

        This is how the RepViT authors fine-tune detectors on a frozen backbone; unfrozen layers train as usual.
        A held layer keeps its timm model in inference mode.
        """
        super().train(mode)
        params = list(self.parameters())
        if mode and params and not any(p.requires_grad for p in params):
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        if mode and self.held:
            self.body.eval()
        return self

    def holding(self):
        """Where the timm model runs: without gradient while held in training (DDP lets its parameters go unused)."""
        return torch.no_grad() if self.held and self.training else contextlib.nullcontext()

    @property
    def fused(self):
        """True once fused, or from the start where timm has nothing to reparameterize (ConvNeXt, ResNet...).

        Read with ``getattr``: layers unpickled from checkpoints of older releases lack the flag.
        """
        return getattr(self, "reparameterized", False) or not any(
            callable(getattr(m, name, None)) for m in self.body.modules() for name in _REPARAMETERIZE)

    @torch.no_grad()
    def fuse(self):
        """Reparameterize every block timm knows how to (RepViT, MobileOne, RepVGG, FastViT, ...), in place.

        RepVGG branches merge and conv+BN pairs fold.  Like ultralytics' own fused convs, the result is for
        inference: its parameters need no grad.
        """
        from timm.utils import reparameterize_model

        reparameterize_model(self.body, inplace=True)
        self.body.requires_grad_(False)
        self.reparameterized = True
        return self


class RepViTLayer(_BackboneLayer):
    """One slice of a timm RepViT (the stem, or one stage) occupying one ultralytics layer index.

    Splitting the backbone this way keeps the standard layer graph: ``model.model[i]``,
    ``freeze=5``, ``embed=[2, 3, 4]`` and upstream's own forward loop all just work.
    """

    def __init__(self, body, variant, stage, out_channels):
        super().__init__()
        self.body = body
        self.variant = variant
        self.stage = stage  # 0 is the stem, 1-4 the RepViT stages
        self.out_channels = out_channels
        self.stride = (STRIDES[0], *STRIDES)[stage]  # the stem already works at stride 4

    def forward(self, x):
        with self.holding():
            return self.body(x)

    def extra_repr(self):
        return f"{self.variant}, stage={self.stage}, out_channels={self.out_channels}, stride={self.stride}"


class TimmBackbone(_BackboneLayer):
    """Layer 0 of a Timm row: a timm feature extractor whose stride 4/8/16/32 maps it returns as a list.

    ``taps`` index timm's outputs (some models also give a stride 2 map first); models that compute
    channels-last maps (Swin, MambaOut) are turned to channels-first, as every YOLO layer expects.
    """

    def __init__(self, body, model, taps, channels, channels_last=False):
        super().__init__()
        self.body = body
        self.model = model
        self.taps = tuple(taps)
        self.channels = tuple(channels)
        self.channels_last = channels_last
        self.out_channels = self.channels[0]
        self.stride = STRIDES[0]
        self.reparameterized = False

    def forward(self, x):
        with self.holding():
            maps = self.body(x)
        maps = [maps[i] for i in self.taps]
        return [m.permute(0, 3, 1, 2) for m in maps] if self.channels_last else maps

    def extra_repr(self):
        return f"{self.model}, channels={self.channels}, strides={STRIDES}"


class SimplePyramid(nn.Module):
    """Stride 4/8/16/32 maps from one stride 16 map of ``channels``, the way ViTDet feeds a detector from a plain ViT.

    Two transposed convolutions make stride 4 (``channels / 4`` wide), one makes stride 8 (``channels / 2``), the
    map itself is stride 16 and a max-pool makes stride 32.  All of it is new (no ImageNet or DINO weights).
    """

    def __init__(self, channels):
        super().__init__()
        half, quarter = channels // 2, channels // 4
        self.to_stride4 = nn.Sequential(nn.ConvTranspose2d(channels, half, 2, 2), nn.BatchNorm2d(half), nn.GELU(),
                                        nn.ConvTranspose2d(half, quarter, 2, 2))
        self.to_stride8 = nn.ConvTranspose2d(channels, half, 2, 2)
        self.to_stride32 = nn.MaxPool2d(2)
        self.channels = (quarter, half, channels, channels)

    def forward(self, x):
        return [self.to_stride4(x), self.to_stride8(x), x, self.to_stride32(x)]


class ViTBackbone(TimmBackbone):
    """Layer 0 of a Timm row of a plain ViT: the ViT's last map (normalized, class and register tokens left out),
    then a :class:`SimplePyramid`.

    ``body`` is timm's whole ViT with its classifier pruned; its patch size ``patch`` (16, or 14 for DINOv2)
    sets its one stride.  A patch 14 model sees the image resized by 14/16, so that its map is exactly at
    stride 16 (``H/16 x W/16``) at every multiple of 32, and the pyramid's maps line up with the head's.
    """

    def __init__(self, body, model, patch, channels):
        pyramid = SimplePyramid(channels)
        super().__init__(body, model, taps=range(4), channels=pyramid.channels)
        self.patch = patch
        self.pyramid = pyramid

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            from ._onnx import support_antialiased_resize

            support_antialiased_resize()  # position embeddings of DINOv2 and DeiT resize with it
        if self.patch != STRIDES[2]:
            height, width = x.shape[-2:]
            size = (height // STRIDES[2] * self.patch, width // STRIDES[2] * self.patch)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        with self.holding():
            last, = self.body.forward_intermediates(x, indices=1, norm=True, intermediates_only=True)
        return self.pyramid(last)

    def extra_repr(self):
        return f"{self.model}, patch={self.patch}, channels={self.channels}, strides={STRIDES}"


class TimmFeature(_BackboneLayer):
    """Layers 1-4 of a Timm row: one of layer 0's maps (``index`` 0-3 for stride 4/8/16/32)."""

    fused = True  # nothing of its own to fuse

    def __init__(self, index, out_channels):
        super().__init__()
        self.index = index
        self.out_channels = out_channels
        self.stride = STRIDES[index]

    def forward(self, maps):
        return maps[self.index]

    def fuse(self):
        return self

    def extra_repr(self):
        return f"index={self.index}, out_channels={self.out_channels}, stride={self.stride}"


class Backbone(nn.Module):
    """Layers 0-4 of a backbone row, for your own code: ``forward`` returns the stride 4/8/16/32 maps.

    Each layer reads the previous one, or layer 0 where its ``f`` says so (as in the YOLO graph).
    """

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    @property
    def channels(self) -> "tuple[int, ...]":
        return tuple(layer.out_channels for layer in self.layers[1:])

    @property
    def strides(self) -> "tuple[int, ...]":
        return tuple(layer.stride for layer in self.layers[1:])

    def forward(self, x: torch.Tensor) -> "list[torch.Tensor]":
        outputs = []
        for layer in self.layers:
            x = layer(x if layer.f == -1 else outputs[layer.f])
            outputs.append(x)
        return outputs[1:]

    def fuse(self) -> "Backbone":
        """Reparameterize for inference, as ultralytics' ``fuse()`` does inside a YOLO model."""
        for layer in self.layers:
            layer.fuse()
        return self
