"""A backbone row becomes layers 0-4, for either kind of row, and :func:`backbone` gives them to users' code.

The row classes (``_timm.TimmRow`` and its RepViT kind) build the layers and load weights;
here every backbone then gets the same BatchNorm settings, so that one model never trains its
backbone's BatchNorm layers with mixed settings (ultralytics changes only exact
``nn.BatchNorm2d``, timm brings its own subclasses).
"""

from torch.nn.modules.batchnorm import _BatchNorm

from ._checkpoints import RECORD, record
from ._repvit import RepViTRow
from ._rows import REPVIT, BackboneSpec, parse_row
from ._timm import TimmRow
from .modules import Backbone

BATCHNORM_MOMENTUM = 0.03  # every BatchNorm of a backbone, whatever its class: ultralytics' value for its own layers
SCRATCH_EPS = 1e-3  # from scratch; with ImageNet weights each BatchNorm keeps the eps it was trained with


def build_layers(spec: BackboneSpec):
    """The five layers of a :class:`~yolo_repvit._rows.BackboneSpec`, and where their weights came from.

    Layer 0 carries the record of what built it (``_checkpoints.RECORD``), which checkpoints keep.
    """
    row = (RepViTRow if spec.kind == REPVIT else TimmRow)(spec)
    layers, source = row.build()
    setattr(layers[0], RECORD, record(spec, source, row.timm.__version__))  # pickled with the model: see _checkpoints
    layers[0].lr_scale, layers[0].freeze_epochs = spec.lr_scale, spec.freeze_epochs  # the trainer reads them
    for layer in layers:
        for m in layer.modules():
            if isinstance(m, _BatchNorm):
                m.momentum = BATCHNORM_MOMENTUM
                if source is None:
                    m.eps = SCRATCH_EPS
    return layers, source


def backbone(module: str, *args, ch: int = 3) -> Backbone:
    """Layers 0-4 of the backbone row ``[-1, 1, module, args]`` as a module for your own code.

    ``backbone("repvit_m0_9", 1.0, True)`` or ``backbone("Timm", "convnext_atto", True)`` returns a
    :class:`~yolo_repvit.modules.Backbone`: calling it gives the stride 4/8/16/32 maps, its ``channels``
    and ``strides`` say what they are, and ``fuse()`` reparameterizes it for inference.  ``ch`` is the
    number of input channels.
    """
    return Backbone(build_layers(parse_row([-1, 1, module, list(args)], in_channels=ch))[0])
