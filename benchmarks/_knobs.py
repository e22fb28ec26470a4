"""Model-level settings a study can vary without touching the plugin: applied to the trainer's own model.

``Model.train`` builds a fresh model inside the trainer, so a change made to ``YOLO(cfg).model``
beforehand is lost, and ``on_pretrain_routine_start`` fires before that model exists.  The first
moment the trainer's model exists and neither the optimizer nor the EMA copy has been made is the
trainer's call to ``build_optimizer``, so the callback wraps that method: the knobs change the
model there, and the optimizer and the EMA copy are then made from the changed model.

Knobs (all act on the backbone, layers 0-4, of any detector: RepViT's layers or YOLO11's own):

- ``bn_momentum``, ``bn_eps``: set on every BatchNorm of the backbone (ultralytics sets
  0.03 / 1e-3 on every BatchNorm, timm trains RepViT with 0.1 / 1e-5).
- ``init``: ``kaiming`` draws every backbone convolution from He-normal (fan-out) with zero bias,
  the usual init for convolutional backbones; ``zero_gamma`` starts the last BatchNorm of each
  RepViT MLP at scale zero, so that each block starts as an identity: timm's initialisation, which
  the plugin used before the sweep (``results/learning_sweep_screen.md``, where its opposite is
  the knob ``gamma1``) showed that starting them at one learns more.
- ``backbone_weight_decay``: the weight decay of backbone weights, in ``weight_decay``'s units
  (ultralytics scales both by ``batch * accumulate / nbs``); other parameters keep theirs.
"""

import torch
from torch import nn

BACKBONE_LAYERS = 5
INITS = ("kaiming", "zero_gamma")
ZERO_GAMMA = ("channel_mixer.conv2.bn", "ffn.conv2.bn")  # where timm starts RepViT's BatchNorm scales at zero
KNOBS = ("bn_momentum", "bn_eps", "init", "backbone_weight_decay")


def attach(model, knobs):
    """Register the callback that applies ``knobs`` to the model ``model.train()`` is about to build."""
    unknown = set(knobs) - set(KNOBS)
    if unknown:
        raise ValueError(f"unknown knobs {sorted(unknown)}; known: {', '.join(KNOBS)}")
    if knobs.get("init") not in (None, *INITS):
        raise ValueError(f"unknown init {knobs['init']!r}; known: {', '.join(INITS)}")
    if knobs:
        model.add_callback("on_pretrain_routine_start", lambda trainer: _wrap_build_optimizer(trainer, knobs))


def _wrap_build_optimizer(trainer, knobs):
    build = trainer.build_optimizer

    def build_with_knobs(**kwargs):
        backbone = _backbone(kwargs["model"])
        apply_to_backbone(backbone, knobs)
        optimizer = build(**kwargs)
        if "backbone_weight_decay" in knobs:
            scale = trainer.batch_size * trainer.accumulate / trainer.args.nbs
            _split_decay(optimizer, backbone, knobs["backbone_weight_decay"] * scale)
        return optimizer

    trainer.build_optimizer = build_with_knobs


def _backbone(model):
    model = getattr(model, "module", model)  # a DDP wrapper holds the model
    return model.model[:BACKBONE_LAYERS]


@torch.no_grad()
def apply_to_backbone(backbone, knobs):
    """Initialise, then set the BatchNorm constants of, the backbone layers (an ``nn.Sequential`` slice)."""
    if knobs.get("init") == "kaiming":
        for m in backbone.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    for name, m in backbone.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if knobs.get("init") == "zero_gamma" and name.endswith(ZERO_GAMMA):
                m.weight.zero_()
            m.momentum = knobs.get("bn_momentum", m.momentum)
            m.eps = knobs.get("bn_eps", m.eps)


def _split_decay(optimizer, backbone, decay):
    """Move the backbone's decayed weights into their own parameter group with weight decay ``decay``.

    Called before the scheduler exists, so the scheduler and the warmup treat the new group like the others.
    """
    mine = {id(p) for p in backbone.parameters()}
    weights = next(g for g in optimizer.param_groups if g.get("param_group") == "weight")
    moved = [p for p in weights["params"] if id(p) in mine]
    weights["params"] = [p for p in weights["params"] if id(p) not in mine]
    settings = {k: v for k, v in weights.items() if k != "params"}
    optimizer.add_param_group({**settings, "params": moved, "weight_decay": decay, "param_group": "backbone-weight"})
