"""ImageNet weights for a RepViT backbone: where they come from, and loading them strictly.

Sources, in order: a file named in the row; the folder in ``$YOLO_REPVIT_WEIGHTS`` (searched by
file name, for offline machines); then the network, through timm (Hugging Face hub, cached by
huggingface_hub) or, for ``repvit_m0_6`` which timm does not host, the authors' release file
(cached by ``torch.hub``).  Files may be in timm's layout or in the authors' (``features.N``
keys, ``model``/``model_ema`` entries).  Every backbone tensor must load, or the error says which
did not and why; nothing ever falls back to random weights.
"""

import os
import pickle
import zipfile
from pathlib import Path

import torch

from .errors import RepViTError
from .variants import VARIANTS

ENV_DIR = "YOLO_REPVIT_WEIGHTS"
RELEASE_URL = "https://github.com/THU-MIG/RepViT/releases/download/v1.0/"
CLASSIFIER = ("head.", "classifier.")  # the ImageNet classifier in timm's and the authors' layout
ENTRIES = ("state_dict", "model", "model_ema")  # the authors' own detection code reads the first two, in this order

# timm module -> the authors' module, inside one block (first matching prefix wins).
_BLOCK = (("token_mixer.", "token_mixer.0."), ("se.", "token_mixer.1."),
          ("channel_mixer.conv1.", "channel_mixer.m.0."), ("channel_mixer.conv2.", "channel_mixer.m.2."))
_DOWNSAMPLE = (("spatial_downsample.", "token_mixer.0."), ("channel_downsample.", "token_mixer.2."),
               ("ffn.conv1.", "channel_mixer.m.0."), ("ffn.conv2.", "channel_mixer.m.2."))
_STEM = (("conv1.", "0."), ("conv2.", "2."))


def load_pretrained(net, spec):
    """Load the weights ``spec.pretrained`` asks for into ``net``, a width-1.0 timm RepVit."""
    where = f"{spec.variant} row"
    if spec.width != 1.0:
        raise RepViTError(f"{where}: ImageNet weights exist for width 1.0 only, but the row asks for width "
                          f"{spec.width:g} with pretrained={spec.pretrained!r}. Use [1.0, {spec.pretrained!r}], "
                          f"or train width {spec.width:g} from scratch with [{spec.width:g}].")
    if spec.in_channels != 3:
        raise RepViTError(f"{where}: ImageNet weights expect 3 input channels, but the model has ch: "
                          f"{spec.in_channels}. Use 3 channels, or train from scratch (pretrained False).")
    raw, source = fetch(spec.variant, spec.pretrained)
    load_strict(net, raw, source, spec.variant)
    return source


def fetch(variant, pretrained):
    """The raw state dict for a row's ``pretrained`` value, and a description of where it came from."""
    tags = VARIANTS[variant].tags
    tag = tags[0] if pretrained is True else pretrained if pretrained in tags else None
    if tag is None:
        path = _find(pretrained)
        if path is None:
            looked = [str(Path(pretrained).resolve())]
            if os.environ.get(ENV_DIR):
                looked.append(str(Path(os.environ[ENV_DIR], Path(pretrained).name)))
            raise RepViTError(f"{variant} row: pretrained {pretrained!r} is neither a weight tag of {variant} "
                              f"({', '.join(tags)}) nor a file (looked for {' and '.join(looked)}). Give True, a "
                              f"tag, or the path of a .pth/.safetensors file.")
        return read(path)
    for name in _offline_names(variant, tag):
        path = _find(name, search_cwd=False)
        if path is not None:
            return read(path)
    return _download(variant, tag)


def _find(name, search_cwd=True):
    candidates = [Path(name).expanduser()] if search_cwd else []
    if os.environ.get(ENV_DIR):
        candidates.append(Path(os.environ[ENV_DIR]).expanduser() / Path(name).name)
    return next((p for p in candidates if p.is_file()), None)


def _offline_names(variant, tag):
    """File names looked for in ``$YOLO_REPVIT_WEIGHTS``: timm's naming, then the authors' release name."""
    names = [f"{variant}.{tag}.safetensors", f"{variant}.{tag}.pth"]
    if not VARIANTS[variant].legacy:
        names.append(_release_name(variant, tag))
    return names


def _release_name(variant, tag):
    return f"{variant}_distill_{tag.split('_')[1]}.pth"  # dist_450e_in1k -> repvit_m0_9_distill_450e.pth


def _download(variant, tag):
    offline_hint = (f"To work offline, put the file in a folder and set {ENV_DIR} to it (names looked for: "
                    f"{', '.join(_offline_names(variant, tag))}), or give its path as the row's second argument.")
    try:
        if VARIANTS[variant].hub:
            import timm

            return timm.create_model(f"{variant}.{tag}", pretrained=True).state_dict(), f"timm {variant}.{tag}"
        url = RELEASE_URL + _release_name(variant, tag)
        return _unwrap(torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True), url)
    except OSError as error:  # no network, no cache, hub refused: all end here
        source = (f"the Hugging Face hub repository timm/{variant}.{tag}" if VARIANTS[variant].hub
                  else f"the RepViT authors' release ({_release_name(variant, tag)} on GitHub, THU-MIG/RepViT)")
        raise RepViTError(f"{variant} row: could not download ImageNet weights {tag} from {source} "
                          f"({type(error).__name__}: {error}). {offline_hint}") from error


def read(path):
    """Tensors of a ``.safetensors`` or ``torch.save`` file and a description of their source."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path)), str(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise RepViTError(f"{path} holds Python objects besides tensors, which are not loaded for safety "
                          f"({error}). Save just the weights: torch.save(torch.load(path, weights_only=False)"
                          "['model'], 'weights.pth').") from error
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise RepViTError(f"cannot read weight file {path} ({type(error).__name__}: {error}); it is truncated or "
                          "not a PyTorch/safetensors file. Download it again.") from error
    return _unwrap(state, str(path))


def _unwrap(state, source):
    """The weights inside a training checkpoint: ``state_dict``, else ``model``, else ``model_ema``."""
    for entry in ENTRIES:
        if isinstance(state, dict) and isinstance(state.get(entry), dict):
            return state[entry], f"{source} (entry '{entry}')"
    return state, source


def official_names(timm_keys):
    """Map timm's RepVit state-dict keys to the authors' (``features.N...``) names.

    The authors number every block in one list: the stem, then per stage the blocks, with
    timm's downsample unit counted as two entries (its pre-block, then the strided block).
    Units are numbered in the order their keys first appear, which is the modules' order.
    """
    units, names = {}, {}
    for key in timm_keys:
        parts = key.split(".")
        if parts[0] == "stem":
            unit, rest, table = "stem", ".".join(parts[1:]), _STEM
        elif parts[0] == "stages" and parts[2] == "blocks":
            unit, rest, table = tuple(parts[:4]), ".".join(parts[4:]), _BLOCK
        elif parts[0] == "stages" and parts[3] == "pre_block":
            unit, rest, table = tuple(parts[:4]), ".".join(parts[4:]), _BLOCK
        elif parts[0] == "stages":
            unit, rest, table = tuple(parts[:3]), ".".join(parts[3:]), _DOWNSAMPLE
        else:
            continue
        index = units.setdefault(unit, len(units))
        old, new = next((o, n) for o, n in table if rest.startswith(o))
        names[key] = f"features.{index}.{new}{rest[len(old):]}"
    return names


def backbone_state(state, net):
    """``state`` in timm's layout, classifier removed (the detector has its own head)."""
    if state and all(k.startswith("module.") for k in state):  # saved from DistributedDataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    if any(k.startswith("features.") for k in state):
        to_timm = {official: timm for timm, official in official_names(net.state_dict()).items()}
        state = {to_timm.get(k, k): v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.startswith(CLASSIFIER)}


def load_strict(net, raw, source, variant):
    """Load every tensor of ``net`` from ``raw`` (either layout) or raise, naming what is off and why."""
    state = backbone_state(raw, net)
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise RepViTError(f"{source} does not fit {variant} at width 1.0: {len(missing)} missing, "
                          f"{len(unexpected)} unexpected and {len(wrong)} wrong-shaped tensors "
                          f"(e.g. {_few(missing or wrong or unexpected)}). {_likely_cause(raw, state, variant)}")
    net.load_state_dict(state, strict=True)


def _few(keys, n=3):
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _likely_cause(raw, state, variant):
    if not state:
        return "The file holds no backbone weights (only an ImageNet classifier?); use a full RepViT checkpoint."
    fits = [name for name in VARIANTS if name != variant and _fits(raw, name)]
    if fits:
        return f"These are {fits[0]} weights: put {fits[0]} in the row, or use a {variant} file."
    return (f"Is it a {variant} ImageNet checkpoint (timm's layout or the authors')? Files for another variant, "
            "or saved from a model with another width or head, do not fit.")


def _fits(raw, variant):
    """Whether ``raw`` loads into ``variant``: built on the meta device, so this costs no memory."""
    from .modules import timm_repvit

    with torch.device("meta"):
        net = timm_repvit(variant, 1.0)
    expected, state = net.state_dict(), backbone_state(raw, net)
    return state.keys() == expected.keys() and all(state[k].shape == v.shape for k, v in expected.items())
