"""Every place the plugin touches ultralytics internals.  Nothing else in the package does.

Each patch wraps an upstream function that ultralytics looks up by module global at call
time (so rebinding it reaches every caller) and calls the original; nothing upstream is
copied.  Wrapping is idempotent: a function already wrapped by us is left alone.
"""

import functools
import inspect
import os
import threading
import weakref
from pathlib import Path

import torch
import yaml
from torch.nn.modules.batchnorm import _BatchNorm

from ._build import build_layers
from ._checkpoints import lookup, why_unloadable
from ._configs import shipped_config
from ._errors import RepViTError
from ._repvit_variants import VARIANTS
from ._rows import LAYERS, REPVIT, backbone_spec, parse_row, show_row
from ._versions import at_least, warn_if_unsupported
from .modules import DATA_CLASSES, RepViTLayer, TimmBackbone, ViTBackbone, _BackboneLayer

_lock = threading.Lock()

# A stand-in row for each backbone layer.  Upstream's ResNetLayer branch takes the output
# channels verbatim from args[1] when args[3] is True (8.3.0 onwards) and the module it builds
# (a 7x7 conv from one channel) is tiny; it is replaced by the real layer right after.
_PLACEHOLDER = "ResNetLayer"
# optimizer=auto picks a small AdamW/MuSGD rate for runs of at most this many iterations (all tested releases).
AUTO_SHORT_RUN = 10_000
SCRATCH_ARGS = "repvit-scratch.yaml"  # the shipped training arguments for from-scratch backbones
# What older releases' is_fused() counts as a normalization layer: torch.nn classes named *Norm*
_NORMS = tuple(cls for name, cls in vars(torch.nn).items() if isinstance(cls, type) and "Norm" in name)


def install_tasks(tasks):
    """Patch ``ultralytics.nn.tasks``: backbone rows, shipped configs by name, fusing, checkpoint loading; and
    ``ultralytics.utils.torch_utils.get_flops`` for plain ViT rows."""
    with _lock:
        warn_if_unsupported(ultralytics_version())
        _patch(tasks, "parse_model", _parse_model)
        _patch(tasks, "check_yaml", _check_yaml)
        _patch(tasks, "initialize_weights", _initialize_weights)
        _patch(tasks.BaseModel, "fuse", _fuse)
        _patch(tasks.BaseModel, "is_fused", _is_fused)
        _patch(tasks, "torch_safe_load", _torch_safe_load)
        from ultralytics.utils import torch_utils  # loaded already: tasks imports it

        _patch(torch_utils, "get_flops", _get_flops)
        for name in VARIANTS:
            setattr(tasks, name, functools.partial(_standalone_backbone, name))


def install_checks(checks):
    """Patch ``ultralytics.utils.checks``, which the ``yolo`` command uses for ``cfg=`` before ``tasks`` exists."""
    with _lock:
        _patch(checks, "check_yaml", _check_yaml)


def install_trainer(trainer):
    """Patch ``ultralytics.engine.trainer`` to say when ``optimizer=auto`` picks a rate too small for our backbones."""
    with _lock:
        _patch(trainer.BaseTrainer, "build_optimizer", _build_optimizer)


def install_dist(dist):
    """Patch ``ultralytics.utils.dist`` so multi-GPU worker scripts activate the plugin first."""
    with _lock:
        _patch(dist, "generate_ddp_file", _generate_ddp_file)


def _patch(owner, name, wrapper):
    original = getattr(owner, name)
    inner = original
    while inner is not None:
        if getattr(inner, "__yolo_repvit__", False):
            return
        inner = getattr(inner, "__wrapped__", None)

    @functools.wraps(original)
    def patched(*args, **kwargs):
        return wrapper(original, *args, **kwargs)

    patched.__yolo_repvit__ = True
    setattr(owner, name, patched)


class _BatchNormAsBuilt:
    """The BatchNorm state (momentum, eps, statistics) of each backbone layer as it was built, from the moment
    ``parse_model`` builds it until ``initialize_weights`` has run over the model and it is given back.

    Upstream sets eps=1e-3 and momentum=0.03 on every exact ``nn.BatchNorm2d`` after a forward pass that in 8.3.x
    runs in train mode and so moves running statistics: without this, loaded ImageNet statistics and eps would not
    survive model construction.  Keyed weakly, so a layer whose model is never finished leaves nothing behind.
    """

    def __init__(self):
        self._states = weakref.WeakKeyDictionary()

    def keep(self, layer):
        self._states[layer] = {name: (m.momentum, m.eps, {k: b.clone() for k, b in m.named_buffers()})
                               for name, m in layer.named_modules() if isinstance(m, _BatchNorm)}

    @torch.no_grad()
    def give_back(self, model):
        for layer in model.modules():
            state = self._states.pop(layer, None)
            if state is None:
                continue
            for name, m in layer.named_modules():
                if name in state:
                    m.momentum, m.eps, buffers = state[name]
                    for k, b in m.named_buffers():
                        b.copy_(buffers[k])


_as_built = _BatchNormAsBuilt()


def _parse_model(upstream, d, ch, verbose=True):
    spec = backbone_spec(d, ch)
    if spec is None:
        return upstream(d, ch, verbose)
    _check_min_ultralytics(d)
    layers, source = build_layers(spec)
    for layer in layers:
        _as_built.keep(layer)
    if source:
        _log(f"{spec.name}: pretrained weights loaded from {source}")
    stand_ins = [[layer.f, 1, _PLACEHOLDER, [1, layer.out_channels, 1, True]] for layer in layers]
    model, save = upstream({**d, "backbone": stand_ins + list(d["backbone"][1:])}, ch, verbose=False)
    for i, layer in enumerate(layers):
        stand_in = model[i]
        layer.i, layer.f, layer.type = stand_in.i, stand_in.f, f"{type(layer).__module__}.{type(layer).__qualname__}"
        layer.np = sum(p.numel() for p in layer.parameters())
        model[i] = layer
    _check_wiring(model, d, spec)
    if verbose:
        _log_layers(model, d, spec)
    return model, save


def _layer_rows(d, backbone_row):
    """The YAML row behind each layer index, the backbone row standing for layers 0-4."""
    return [backbone_row] * LAYERS + list(d["backbone"][1:]) + list(d["head"])


def _check_wiring(model, d, spec):
    """Run the new graph once on a small input, head excluded, so that a row joining maps of different
    sizes (a head tapping the wrong backbone stage) fails here with its name, not deep inside torch."""
    rows, outputs, x = _layer_rows(d, d["backbone"][0]), [], torch.zeros(1, spec.in_channels, 64, 64)
    model.eval()
    try:
        with torch.no_grad():
            for m in list(model)[:-1]:
                sources = [m.f] if isinstance(m.f, int) else m.f
                inputs = [x if j == -1 else outputs[j] for j in sources]
                try:
                    x = m(inputs[0] if isinstance(m.f, int) else inputs)
                except RuntimeError as error:
                    strides = ", ".join(f"layer {m.i - 1 if j == -1 else j}: stride {64 // t.shape[-1]}"
                                        for j, t in zip(sources, inputs))
                    raise RepViTError(f"model row {show_row(rows[m.i])} (layer {m.i}) cannot join its inputs "
                                      f"({strides}): they must share one stride. {spec.kind} layers 1-4 are at stride "
                                      "4/8/16/32, so a YOLO11 head reads 2 for P3/8, 3 for P4/16 and 4 for P5/32."
                                      ) from error
                outputs.append(x)
    finally:
        model.train()


def ultralytics_version():
    import ultralytics

    return ultralytics.__version__


def _check_min_ultralytics(d):
    """Configs for newer heads say ``min_ultralytics: X``; older releases would build another model silently."""
    needed = d.get("min_ultralytics")
    if needed and not at_least(ultralytics_version(), needed):
        name = Path(d.get("yaml_file") or "this config").name
        raise RepViTError(f"{name} needs ultralytics>={needed} (it uses layers or options older releases lack), but "
                          f"ultralytics {ultralytics_version()} is installed. Upgrade: pip install -U "
                          f"'ultralytics>={needed}', or pick a config without this requirement.")


def _log(message, warning=False):
    from ultralytics.utils import LOGGER

    (LOGGER.warning if warning else LOGGER.info)(message)


def _log_layers(model, d, spec):
    args = ([spec.width, spec.pretrained, *([spec.shape] if spec.shape else [])] if spec.kind == REPVIT
            else [spec.name, spec.pretrained, spec.kwargs])
    rows = _layer_rows(d, [-1, 1, spec.name if spec.kind == REPVIT else spec.kind, args])
    _log(f"\n{'':>3}{'from':>20}{'n':>3}{'params':>10}  {'module':<45}{'arguments':<30}")
    for m, (_, n, _, row_args) in zip(model, rows):
        kind = m.type
        if isinstance(m, RepViTLayer):
            kind = f"{m.type} ({spec.name} stage {m.stage})"
        elif isinstance(m, TimmBackbone):
            kind = f"{m.type} ({spec.name})"
        _log(f"{m.i:>3}{m.f!s:>20}{n:>3}{m.np:10.0f}  {kind:<45}{row_args!s:<30}")


def _standalone_backbone(variant, width=1.0, pretrained=False, ch=3):
    """``tasks.repvit_m0_9(0.5)``: layers 0-4 of that backbone as an ``nn.Sequential``."""
    return torch.nn.Sequential(*build_layers(parse_row([-1, 1, variant, [width, pretrained]], in_channels=ch))[0])


def _initialize_weights(upstream, model, *args, **kwargs):
    """Upstream's, then every backbone layer gets back the BatchNorm state it was built with (``_BatchNormAsBuilt``)."""
    result = upstream(model, *args, **kwargs)
    _as_built.give_back(model)
    return result


def _check_yaml(upstream, file, *args, **kwargs):
    shipped = shipped_config(file)
    if shipped is not None and not os.path.exists(str(file)):
        return str(shipped)
    return upstream(file, *args, **kwargs)


def _fuse(upstream, model, *args, **kwargs):
    for m in model.modules():
        if isinstance(m, _BackboneLayer) and not m.fused:
            m.fuse()
    return upstream(model, *args, **kwargs)


def _is_fused(upstream, model, *args, **kwargs):
    """Fused once our backbone layers and upstream's are.  Releases whose ``is_fused(thresh)`` counts normalization
    layers (up to 8.4.x's rewrite) would count the ones our layers keep for good (LayerNorm, or BatchNorm of a family
    timm has nothing to reparameterize in), so those are added to the threshold."""
    ours = [m for m in model.modules() if isinstance(m, _BackboneLayer)]
    if _counts_norms(upstream):
        thresh = args[0] if args else kwargs.get("thresh", 10)
        kept = sum(isinstance(n, _NORMS) for m in ours if m.fused for n in m.modules())
        args, kwargs = (thresh + kept,), {}
    return upstream(model, *args, **kwargs) and all(m.fused for m in ours)


@functools.cache
def _counts_norms(is_fused):
    return "thresh" in inspect.signature(is_fused).parameters


def _get_flops(upstream, model, *args, **kwargs):
    """Upstream's GFLOPs.  Upstream takes the input channels from the model's first parameter, which for a plain
    ViT row is the class token: it would profile a 1-channel image, fail, and report 0.  Such a model is profiled
    behind :class:`_InputChannels`, whose first parameter says the channels."""
    net = getattr(model, "module", model)
    if any(isinstance(m, ViTBackbone) for m in net.modules()):
        model = _InputChannels(net)
    return upstream(model, *args, **kwargs)


class _InputChannels(torch.nn.Module):
    """``model`` as upstream's FLOP counter reads it: first parameter ``(1, channels, 1, 1)``, unused."""

    def __init__(self, model):
        super().__init__()
        described = getattr(model, "yaml", None) or {}
        self.channels = torch.nn.Parameter(torch.empty(1, described.get("channels", described.get("ch", 3)), 1, 1))
        self.model = model
        self.stride = model.stride

    def forward(self, x):
        return self.model(x)


def _torch_safe_load(upstream, weight, *args, **kwargs):
    """Upstream's loading, with two additions: under restricted loading (8.4.x), allow what our layers pickle (see
    :func:`_allowed`) and nothing else; a checkpoint naming timm or plugin classes the installed ones lack fails with
    what wrote it and how to load it (``_checkpoints.why_unloadable``) instead of a bare unpickling error."""
    from ultralytics.nn import tasks

    safe_only = args[0] if args else kwargs.get("safe_only")
    restricted = getattr(tasks, "SAFE_LOAD", False) if safe_only is None else safe_only
    if restricted and hasattr(tasks, "_SafeLoad") and tasks._SafeLoad.SUPPORTED and os.path.isfile(str(weight)):
        try:
            needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(weight))
        except ValueError:  # not a torch.save() archive: upstream reports it
            needed = []
        torch.serialization.add_safe_globals([obj for obj in map(_allowed, needed) if obj is not None])
    try:
        return upstream(weight, *args, **kwargs)
    except (AttributeError, ImportError, TypeError) as error:  # a missing class; TypeError: restricted loading's
        reason = why_unloadable(str(weight)) if os.path.isfile(str(weight)) else None
        if reason is None:
            raise
        raise RepViTError(reason) from error


def _allowed(qualified_name):
    """The class a checkpoint names, if restricted loading may rebuild it for our layers; else None.

    The rule: module classes defined in timm or in ``yolo_repvit.modules``, plus the few data classes
    timm's feature extractors hold (``modules.DATA_CLASSES``).  Functions, and any other class, stay refused;
    only names under those two packages are ever imported here.
    """
    obj = lookup(qualified_name)
    if obj is None:
        return None
    if qualified_name in DATA_CLASSES:
        return obj
    defined_here = isinstance(obj, type) and obj.__module__ == qualified_name.rpartition(".")[0]
    return obj if defined_here and issubclass(obj, torch.nn.Module) else None


def _build_optimizer(upstream, trainer, *args, **kwargs):
    """Upstream's optimizer, with the backbone row's fine-tuning controls applied (:func:`_apply_tuning`); plus one
    log line when ``optimizer=auto`` chose it for a short run of a from-scratch backbone row, naming what it chose
    and the shipped training arguments to use instead."""
    optimizer = upstream(trainer, *args, **kwargs)
    call = inspect.signature(upstream).bind(trainer, *args, **kwargs)
    call.apply_defaults()
    model = getattr(call.arguments["model"], "module", call.arguments["model"])  # a DDP wrapper holds the model
    _apply_tuning(trainer, optimizer, model)
    spec = backbone_spec(getattr(model, "yaml", None) or {})
    from_yaml = str(trainer.args.model).endswith((".yaml", ".yml")) and not isinstance(trainer.args.pretrained, str)
    if (str(call.arguments["name"]).lower() == "auto" and call.arguments["iterations"] <= AUTO_SHORT_RUN
            and spec is not None and spec.pretrained is False and from_yaml):
        advice = " ".join(f"{k}={v}" for k, v in yaml.safe_load(shipped_config(SCRATCH_ARGS).read_text()).items())
        chosen = f"{type(optimizer).__name__} with lr0={optimizer.param_groups[0]['lr']:g}"
        _log(f"yolo-repvit: optimizer=auto chose {chosen} "
             f"(ultralytics {ultralytics_version()}, {call.arguments['iterations']:.0f} iterations), a rate at which "
             f"a from-scratch {spec.kind} backbone learns slowly. For from-scratch training pass cfg={SCRATCH_ARGS} "
             f"({advice}) or set optimizer= and lr0= yourself.", warning=True)
    return optimizer


def _apply_tuning(trainer, optimizer, model):
    """The row's fine-tuning controls, read from layer 0 (so they come with the model: best.pt, resume, each
    multi-GPU worker).  ``lr_scale``: the timm model's parameters move to groups of their own, copies of upstream's
    with the rate scaled, before the scheduler reads the rates.  ``freeze_epochs``: the timm model is held while
    ``trainer.epoch`` is below it, set at the start of each epoch (before upstream puts the model in training mode)."""
    layers = [m for m in getattr(model, "model", [])[:LAYERS] if isinstance(m, _BackboneLayer) and hasattr(m, "body")]
    if not layers:
        return
    lr_scale, freeze_epochs = getattr(layers[0], "lr_scale", 1.0), getattr(layers[0], "freeze_epochs", 0)
    if lr_scale != 1.0:
        backbone = {id(p) for layer in layers for p in layer.body.parameters()}
        for group in list(optimizer.param_groups):
            mine = [p for p in group["params"] if id(p) in backbone]
            if mine:
                group["params"] = [p for p in group["params"] if id(p) not in backbone]
                optimizer.add_param_group({**group, "params": mine, "lr": group["lr"] * lr_scale})
        _log(f"yolo-repvit: the backbone's timm model trains at {lr_scale:g} x the learning rate (row's lr_scale)")
    if freeze_epochs:
        def hold(trainer):
            for layer in layers:
                layer.held = trainer.epoch < freeze_epochs

        trainer.add_callback("on_train_epoch_start", hold)
        _log(f"yolo-repvit: the backbone's timm model is held for the first {freeze_epochs} epochs (row's "
             "freeze_epochs)")


def _generate_ddp_file(upstream, trainer):
    path = Path(upstream(trainer))
    path.write_text("import yolo_repvit  # backbone rows for this worker\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    return str(path)
