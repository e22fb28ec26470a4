"""What is a Timm row's own: any timm model as layers 0-4, with timm's names, tags and weights.

timm knows, for each model, its feature maps (``features_only=True``), their strides and
channels, its ImageNet weights and how to reparameterize it; this module asks it and refuses,
with the reason, what cannot serve as a YOLO backbone.  Weights come from timm (the Hugging
Face hub, cached), ``$YOLO_REPVIT_WEIGHTS`` or a file, and load strictly into the feature
extractor (``_weights``).
"""

import difflib

import torch

from . import _weights
from ._errors import RepViTError
from ._rows import TIMM, is_weight_path
from ._versions import import_timm
from .modules import TimmBackbone, TimmFeature

NEEDED_STRIDES = (4, 8, 16, 32)
PROBE = (64, 96)  # a small, non-square input: any layout or size restriction shows at once


def build(spec):
    """A :class:`TimmBackbone` and four :class:`TimmFeature` for a Timm row, and where weights came from."""
    timm = import_timm(f"{TIMM} layers")
    where = f"{TIMM} row {spec.name}"
    check_name(timm, spec.name, where)
    if spec.tag and spec.tag not in tags(timm, spec.name):
        raise _unknown_tag(timm, spec, spec.tag, where)
    body = _feature_extractor(timm, spec, where)
    taps, channels, channels_last = _maps(body, spec, where)
    source = load_pretrained(timm, body, spec, where) if spec.pretrained is not False else None
    layers = [TimmBackbone(body, spec.name, taps, channels, channels_last)]
    layers += [TimmFeature(i, c) for i, c in enumerate(channels)]
    for layer in layers:
        layer.f = -1 if isinstance(layer, TimmBackbone) else 0  # layers 1-4 each pick a map from layer 0
    return layers, source


def check_name(timm, name, where):
    if timm.is_model(name):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.7)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise RepViTError(f"{where}: timm {timm.__version__} has no model {name!r}.{hint} A model newer than this timm "
                      "needs a newer one (pip install -U timm); `yolo-repvit backbones` lists the families the tests "
                      "cover, and `yolo-repvit backbones NAME` checks any name.")


def _create(timm, spec, **extra):
    return timm.create_model(spec.name, pretrained=False, features_only=True, in_chans=spec.in_channels,
                             **{**spec.kwargs, **extra})


def _feature_extractor(timm, spec, where):
    """timm's feature extractor for the row, with dynamic input size where the model would otherwise fix it.

    Only the stride 4/8/16/32 maps are kept: a model with more feature points is rebuilt with just those.
    """
    cfg = timm.models.get_pretrained_cfg(spec.name)
    dynamic = {}
    if getattr(cfg, "fixed_input_size", False) and "dynamic_img_size" not in spec.kwargs:
        dynamic = {"dynamic_img_size": True}
    try:
        body = _create(timm, spec, **dynamic)
    except TypeError as error:
        if not dynamic or "dynamic_img_size" not in str(error):
            raise RepViTError(f"{where}: timm cannot build it with {spec.kwargs} ({error}). The third argument of a "
                              f"{TIMM} row goes to timm.create_model, which passes it on to the model's class: use "
                              "argument names that class takes.") from error
        body = _create(timm, spec)  # the family has no dynamic size; the probe decides
    info = body.feature_info
    points = {info.info[i]["reduction"]: i for i in range(len(info.info))}  # the last point of each stride
    missing = [s for s in NEEDED_STRIDES if s not in points]
    if missing:
        have = "/".join(str(s) for s in sorted(points))
        raise RepViTError(f"{where}: its feature maps are at strides {have}, but a backbone row needs one at each of "
                          f"4, 8, 16 and 32 (missing {', '.join(map(str, missing))}). Models that downsample by 16 at "
                          "once (ViT, LeViT, SHViT) cannot feed a YOLO head; pick a hierarchical model, e.g. "
                          "convnext_atto or mobilenetv4_conv_small.")
    wanted = tuple(points[s] for s in NEEDED_STRIDES)
    if not set(wanted) <= set(info.out_indices) or max(info.out_indices) > max(wanted):
        body = _create(timm, spec, **dynamic, out_indices=wanted)
    return body


def _maps(body, spec, where):
    """Which outputs are the stride 4/8/16/32 maps, their channels, and whether they come channels-last.

    Found by running the model once at a non-square size: the map sizes tell the layout apart, and a
    model that needs one fixed input size fails here, with its own error named.
    """
    height, width = PROBE
    body.eval()
    try:
        with torch.no_grad():
            outputs = body(torch.zeros(1, spec.in_channels, height, width))
    except Exception as error:  # noqa: BLE001  timm's models fail at a size they refuse in many ways
        raise RepViTError(f"{where}: timm's model does not run on a {height}x{width} input ({type(error).__name__}: "
                          f"{str(error).splitlines()[0][:200]}). YOLO trains and predicts at any multiple of 32, so "
                          "models that need one fixed input size (and offer no dynamic_img_size in timm) cannot be a "
                          "backbone; pick another model.") from error
    finally:
        body.train()
    reductions = body.feature_info.reduction()
    taps = [len(reductions) - 1 - reductions[::-1].index(s) for s in NEEDED_STRIDES]
    channels, layouts = [], set()
    for i, stride in zip(taps, NEEDED_STRIDES):
        shape, size = tuple(outputs[i].shape), (height // stride, width // stride)
        if shape[2:] == size:
            channels.append(shape[1])
            layouts.add(False)
        elif shape[1:3] == size:
            channels.append(shape[3])
            layouts.add(True)
        else:
            raise RepViTError(f"{where}: its stride {stride} map has shape {shape} on a {height}x{width} input, "
                              f"which is no {size[0]}x{size[1]} map: it does not keep to strides at every multiple of "
                              "32, as a YOLO head needs; pick another model.")
    if len(layouts) > 1:
        raise RepViTError(f"{where}: timm's feature extractor gives some maps channels-first and some channels-last; "
                          "a backbone row needs one layout. Pick another model.")
    return taps, channels, layouts == {True}


def tags(timm, name):
    """The weight tags timm has for ``name``, its default first."""
    default = getattr(timm.models.get_pretrained_cfg(name), "tag", None)
    found = [t.split(".", 1)[1] for t in timm.list_pretrained(f"{name}.*")]
    return sorted(found, key=lambda tag: tag != default)


def load_pretrained(timm, body, spec, where):
    """Load the weights the row asks for into ``body`` (timm's feature extractor); return their source."""
    if spec.in_channels != 3:
        raise RepViTError(f"{where}: ImageNet weights expect 3 input channels, but the model has ch: "
                          f"{spec.in_channels}. Use 3 channels, or train from scratch (pretrained False).")
    raw, source = _fetch(timm, spec, where)
    _weights.load_strict(body, feature_state(raw, body), source, f"timm {spec.name}", unused_ok=True,
                         explain=lambda state: _likely_cause(state, spec.name))
    return source


def _fetch(timm, spec, where):
    known = tags(timm, spec.name)
    pretrained = spec.pretrained
    if isinstance(pretrained, str) and (is_weight_path(pretrained) or pretrained not in known):
        path = _weights.find(pretrained)
        if path is not None:
            return _weights.read(path)
        if is_weight_path(pretrained):
            raise RepViTError(f"{where}: weight file {pretrained!r} not found (looked for "
                              f"{_weights.looked_for(pretrained)}). Give the path of an existing .pth/.safetensors "
                              f"file, or put it in a folder and set {_weights.ENV_DIR} to that folder.")
    tag = spec.weight_tag or (known[0] if known else None)
    if tag not in known:
        raise _unknown_tag(timm, spec, tag, where)
    for name in offline_names(spec.name, tag):
        path = _weights.find(name, search_cwd=False)
        if path is not None:
            return _weights.read(path)
    try:
        net = timm.create_model(f"{spec.name}.{tag}", pretrained=True, **spec.kwargs)
    except OSError as error:  # no network, no cache, hub refused: all end here
        raise RepViTError(f"{where}: could not download ImageNet weights {tag} from the Hugging Face hub repository "
                          f"of timm's {spec.name}.{tag} ({type(error).__name__}: {error}). To work offline, put the "
                          f"file in a folder and set {_weights.ENV_DIR} to it (names looked for: "
                          f"{', '.join(offline_names(spec.name, tag))}), or give its path as the row's second "
                          "argument.") from error
    return net.state_dict(), f"timm {spec.name}.{tag}"


def _unknown_tag(timm, spec, tag, where):
    known = tags(timm, spec.name)
    if not known:
        return RepViTError(f"{where}: timm has no ImageNet weights for {spec.name}; train it from scratch (pretrained "
                           "False) or give the path of a weight file.")
    return RepViTError(f"{where}: timm has no weights {spec.name}.{tag}; its tags are {', '.join(known)} (the first is "
                       "what True loads). Give True, one of those tags, or the path of a weight file.")


def offline_names(name, tag):
    """File names looked for in ``$YOLO_REPVIT_WEIGHTS`` for a tag, as RepViT rows do."""
    return [f"{name}.{tag}.safetensors", f"{name}.{tag}.pth"]


def feature_state(state, body):
    """``state`` (a whole timm model's tensors) under the names of ``body``, timm's feature extractor of it.

    The extractor reuses the model's modules, renaming at most the first levels: ``stages.0`` becomes
    ``stages_0`` (flattened sequentials), or everything gains a ``model.`` prefix.  So a key matches the
    model key that is equal once dots are read as underscores.  Keys with no unique match stay out, and
    the strict load names them.
    """
    by_flat = {}
    for key in state:
        by_flat.setdefault(key.replace(".", "_"), []).append(key)
    mapped = {}
    for key in body.state_dict():
        flat = key.replace(".", "_")
        found = by_flat.get(flat) or by_flat.get(flat.removeprefix("model_"), [])
        if len(found) == 1:
            mapped[key] = state[found[0]]
    return mapped


def _likely_cause(state, name):
    if not state:
        return (f"None of its tensors belongs to {name}'s feature maps: is it a checkpoint of another model, or of "
                "the classifier only?")
    return (f"Is it a checkpoint of timm's {name} (timm's layout, e.g. downloaded from the hub or saved with "
            "timm.create_model(...).state_dict())? Files of another model or size do not fit.")
