"""A backbone row's spec becomes layers 0-4: the one path RepViT and Timm rows both take.

The kind's own module (``_repvit``, ``_timm``) builds the layers and loads weights; here every
backbone then gets the same BatchNorm settings, so that one model never trains its backbone's
BatchNorm layers with mixed settings (ultralytics changes only exact ``nn.BatchNorm2d``, timm
brings its own subclasses).
"""

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from . import _repvit, _timm
from ._rows import REPVIT, parse_row
from .modules import Backbone

BATCHNORM_MOMENTUM = 0.03  # every BatchNorm of a backbone, whatever its class: ultralytics' value for its own layers
SCRATCH_EPS = 1e-3  # from scratch; with ImageNet weights each BatchNorm keeps the eps it was trained with


def build_layers(spec):
    """The five layers of a :class:`~yolo_repvit._rows.BackboneSpec`, and where their weights came from."""
    layers, source = (_repvit if spec.kind == REPVIT else _timm).build(spec)
    for layer in layers:
        for m in batchnorms(layer):
            m.momentum = BATCHNORM_MOMENTUM
            if source is None:
                m.eps = SCRATCH_EPS
    return layers, source


def backbone(module, *args, ch=3):
    """Layers 0-4 of the backbone row ``[-1, 1, module, args]`` as a module for your own code.

    ``backbone("repvit_m0_9", 1.0, True)`` or ``backbone("Timm", "convnext_atto", True)`` returns a
    :class:`~yolo_repvit.modules.Backbone`: calling it gives the stride 4/8/16/32 maps, its ``channels``
    and ``strides`` say what they are, and ``fuse()`` reparameterizes it for inference.  ``ch`` is the
    number of input channels.
    """
    return Backbone(build_layers(parse_row([-1, 1, module, list(args)], in_channels=ch))[0])


def batchnorms(module):
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def batchnorm_state(module):
    """momentum, eps and buffers of every BatchNorm in ``module``, copied."""
    return {name: (m.momentum, m.eps, {k: b.clone() for k, b in m.named_buffers()})
            for name, m in module.named_modules() if isinstance(m, _BatchNorm)}


@torch.no_grad()
def restore_batchnorm(module, state):
    for name, m in module.named_modules():
        if name in state:
            m.momentum, m.eps, buffers = state[name]
            for k, b in m.named_buffers():
                b.copy_(buffers[k])
