"""The layer a RepViT row becomes, and how it is built from timm.

``RepViTLayer`` is pickled into every checkpoint: its import path
``yolo_repvit.modules.RepViTLayer`` is permanent.  timm is imported only inside
:func:`build_layers`, i.e. the first time a RepViT row is actually built.
"""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .variants import STRIDES, VARIANTS, scaled_widths

# Every class a checkpoint of a RepViT model holds beyond torch.nn and ultralytics (found with
# torch.serialization.get_unsafe_globals_in_checkpoint on trained and fused models); restricted
# loading allows exactly these.  tests/test_fuse_export.py keeps the list exact.
PICKLED_CLASSES = (
    "yolo_repvit.modules.RepViTLayer",
    "timm.models.repvit.RepVitStem",
    "timm.models.repvit.RepVitStage",
    "timm.models.repvit.RepVitDownsample",
    "timm.models.repvit.RepViTBlock",
    "timm.models.repvit.RepVggDw",
    "timm.models.repvit.RepVitMlp",
    "timm.models.repvit.ConvNorm",
    "timm.layers.squeeze_excite.SEModule",
    "timm.layers.activations.Sigmoid",
)


class RepViTLayer(nn.Module):
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
        self.stride = STRIDES[stage]

    def forward(self, x):
        return self.body(x)

    def train(self, mode=True):
        """A layer whose parameters are all frozen (``freeze=``) keeps its BatchNorm statistics frozen too.

        This is how the RepViT authors fine-tune detectors on a frozen backbone; unfrozen layers train as usual.
        """
        super().train(mode)
        if mode and not any(p.requires_grad for p in self.parameters()):
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    @property
    def fused(self):
        return not any(isinstance(m, _BatchNorm) for m in self.body.modules())

    @torch.no_grad()
    def fuse(self):
        """Merge RepVGG branches and fold every conv+BN pair, in place, with timm's machinery.

        Like ultralytics' own fused convs, the result is for inference: its parameters need no grad.
        """
        from timm.utils import reparameterize_model

        reparameterize_model(self.body, inplace=True)
        self.body.requires_grad_(False)
        return self

    def extra_repr(self):
        return f"{self.variant}, stage={self.stage}, out_channels={self.out_channels}, stride={self.stride}"


def timm_repvit(variant, width, in_channels=3):
    """timm's RepVit for a variant at a width factor, without its ImageNet classifier."""
    from ._environment import timm_repvit_class

    v = VARIANTS[variant]
    return timm_repvit_class()(in_chans=in_channels, embed_dim=scaled_widths(variant, width), depth=v.depths,
                               legacy=v.legacy, num_classes=0)


def build_layers(spec):
    """The five :class:`RepViTLayer` of a :class:`~yolo_repvit.spec.BackboneSpec`, via timm.

    Returns the layers and where their weights came from (None: initialised from scratch).
    """
    net = timm_repvit(spec.variant, spec.width, spec.in_channels)
    source = None
    if spec.pretrained is not False:
        from .weights import load_pretrained

        source = load_pretrained(net, spec)
    bodies = (net.stem, *net.stages)
    return [RepViTLayer(body, spec.variant, i, c) for i, (body, c) in enumerate(zip(bodies, spec.channels))], source


def batchnorm_state(module):
    """eps and buffers of every BatchNorm in ``module``, copied."""
    return {name: (m.eps, {k: b.clone() for k, b in m.named_buffers()})
            for name, m in module.named_modules() if isinstance(m, _BatchNorm)}


@torch.no_grad()
def restore_batchnorm(module, state):
    for name, m in module.named_modules():
        if name in state:
            m.eps, buffers = state[name]
            for k, b in m.named_buffers():
                b.copy_(buffers[k])
