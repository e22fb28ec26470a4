"""Every place the plugin touches ultralytics internals.  Nothing else in the package does.

Each patch wraps an upstream function that ultralytics looks up by module global at call
time (so rebinding it reaches every caller) and calls the original; nothing upstream is
copied.  Wrapping is idempotent: a function already wrapped by us is left alone.
"""

import functools
import importlib
import os
import threading
import weakref
from pathlib import Path

import torch

from ._environment import version_tuple, warn_if_unsupported
from .configs import shipped_config
from .errors import RepViTError
from .modules import PICKLED_CLASSES, RepViTLayer, batchnorm_state, build_layers, restore_batchnorm
from .spec import LAYERS, backbone_spec, show_row
from .variants import VARIANTS

_lock = threading.Lock()
_loaded_batchnorm = weakref.WeakKeyDictionary()  # RepViTLayer -> its BatchNorm state right after loading weights

# A stand-in row for each RepViT layer.  Upstream's ResNetLayer branch takes the output
# channels verbatim from args[1] when args[3] is True (8.3.0 onwards) and the module it builds
# (a 7x7 conv from one channel) is tiny; it is replaced by the real layer right after.
_PLACEHOLDER = "ResNetLayer"
_LAYER_TYPE = f"{RepViTLayer.__module__}.{RepViTLayer.__qualname__}"


def install_tasks(tasks):
    """Patch ``ultralytics.nn.tasks``: RepViT rows, shipped configs by name, fusing."""
    with _lock:
        warn_if_unsupported(ultralytics_version())
        _patch(tasks, "parse_model", _parse_model)
        _patch(tasks, "check_yaml", _check_yaml)
        _patch(tasks, "initialize_weights", _initialize_weights)
        _patch(tasks.BaseModel, "fuse", _fuse)
        _patch(tasks.BaseModel, "is_fused", _is_fused)
        if hasattr(tasks, "_SafeLoad"):  # ULTRALYTICS_SAFE_LOAD restricted loading (8.4.x); absent in 8.3.x
            _patch(tasks, "torch_safe_load", _torch_safe_load)
        for name in VARIANTS:
            setattr(tasks, name, functools.partial(_standalone_backbone, name))


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


def _parse_model(upstream, d, ch, verbose=True):
    spec = backbone_spec(d, ch)
    if spec is None:
        return upstream(d, ch, verbose)
    _check_min_ultralytics(d)
    layers, source = build_layers(spec)
    if source:
        for layer in layers:  # restored after upstream's initialize_weights (see _initialize_weights)
            _loaded_batchnorm[layer] = batchnorm_state(layer)
        _log(f"{spec.variant}: ImageNet weights loaded from {source}")
    stand_ins = [[-1, 1, _PLACEHOLDER, [1, c, 1, True]] for c in spec.channels]
    model, save = upstream({**d, "backbone": stand_ins + list(d["backbone"][1:])}, ch, verbose=False)
    for layer in layers:
        stand_in = model[layer.stage]
        layer.i, layer.f, layer.type = stand_in.i, stand_in.f, _LAYER_TYPE
        layer.np = sum(p.numel() for p in layer.parameters())
        model[layer.stage] = layer
    _check_wiring(model, d, spec)
    if verbose:
        _log_layers(model, d, spec)
    return model, save


def _layer_rows(d, repvit_row):
    """The YAML row behind each layer index, the RepViT row standing for layers 0-4."""
    return [repvit_row] * LAYERS + list(d["backbone"][1:]) + list(d["head"])


def _check_wiring(model, d, spec):
    """Run the new graph once on a small input, head excluded, so that a row joining maps of different
    sizes (a head tapping the wrong RepViT stage) fails here with its name, not deep inside torch."""
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
                                      f"({strides}): they must share one stride. RepViT layers 1-4 are at stride "
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
    if needed and version_tuple(ultralytics_version()) < version_tuple(needed):
        name = Path(d.get("yaml_file") or "this config").name
        raise RepViTError(f"{name} needs ultralytics>={needed} (it uses layers or options older releases lack), but "
                          f"ultralytics {ultralytics_version()} is installed. Upgrade: pip install -U "
                          f"'ultralytics>={needed}', or pick a config without this requirement.")


def _log(message):
    from ultralytics.utils import LOGGER

    LOGGER.info(message)


def _log_layers(model, d, spec):
    rows = _layer_rows(d, [-1, 1, spec.variant, [spec.width, spec.pretrained]])
    _log(f"\n{'':>3}{'from':>20}{'n':>3}{'params':>10}  {'module':<45}{'arguments':<30}")
    for m, (_, n, _, args) in zip(model, rows):
        kind = f"{m.type} ({spec.variant} stage {m.stage})" if isinstance(m, RepViTLayer) else m.type
        _log(f"{m.i:>3}{m.f!s:>20}{n:>3}{m.np:10.0f}  {kind:<45}{args!s:<30}")


def _standalone_backbone(variant, width=1.0, pretrained=False, ch=3):
    """``tasks.repvit_m0_9(0.5)``: layers 0-4 of that backbone as an ``nn.Sequential``."""
    spec = backbone_spec({"backbone": [[-1, 1, variant, [width, pretrained]]]}, ch)
    return torch.nn.Sequential(*build_layers(spec)[0])


def _initialize_weights(upstream, model, *args, **kwargs):
    """Upstream sets eps=1e-3 on every BatchNorm, after a forward pass that in 8.3.x runs in train mode and so
    moves running statistics: give RepViT layers that loaded ImageNet weights their own eps and statistics back."""
    result = upstream(model, *args, **kwargs)
    for m in model.modules():
        state = _loaded_batchnorm.pop(m, None)
        if state is not None:
            restore_batchnorm(m, state)
    return result


def _check_yaml(upstream, file, *args, **kwargs):
    shipped = shipped_config(file)
    if shipped is not None and not os.path.exists(str(file)):
        return str(shipped)
    return upstream(file, *args, **kwargs)


def _fuse(upstream, model, *args, **kwargs):
    for m in model.modules():
        if isinstance(m, RepViTLayer):
            m.fuse()
    return upstream(model, *args, **kwargs)


def _is_fused(upstream, model, *args, **kwargs):
    return upstream(model, *args, **kwargs) and all(m.fused for m in model.modules() if isinstance(m, RepViTLayer))


def _torch_safe_load(upstream, weight, *args, **kwargs):
    """Under restricted loading, allow the RepViT classes this checkpoint names, and nothing else."""
    from ultralytics.nn import tasks

    safe_only = args[0] if args else kwargs.get("safe_only")
    restricted = tasks.SAFE_LOAD if safe_only is None else safe_only
    if restricted and tasks._SafeLoad.SUPPORTED and os.path.isfile(str(weight)):
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(weight)))
        torch.serialization.add_safe_globals([_resolve(name) for name in PICKLED_CLASSES if name in needed])
    return upstream(weight, *args, **kwargs)


def _resolve(qualified_name):
    module, _, name = qualified_name.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _generate_ddp_file(upstream, trainer):
    path = Path(upstream(trainer))
    path.write_text("import yolo_repvit  # RepViT rows for this worker\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    return str(path)
