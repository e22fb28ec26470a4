"""What is RepViT's own: building its timm network, the authors' weight files and their layout.

The variant table itself is plain data in ``_repvit_variants``.  RepViT rows are built from
timm's ``RepVit`` class (``repvit_m0_6`` too, which timm does not register), cut into the stem
and four stages so that each is one YOLO layer.
"""

import torch

from . import _weights
from ._errors import RepViTError
from ._repvit_variants import VARIANTS, scaled_widths
from ._versions import import_timm, timm_fix
from .modules import RepViTLayer

RELEASE_URL = "https://github.com/THU-MIG/RepViT/releases/download/v1.0/"
CLASSIFIER = ("head.", "classifier.")  # the ImageNet classifier in timm's and the authors' layout

# timm module -> the authors' module, inside one block (first matching prefix wins).
_BLOCK = (("token_mixer.", "token_mixer.0."), ("se.", "token_mixer.1."),
          ("channel_mixer.conv1.", "channel_mixer.m.0."), ("channel_mixer.conv2.", "channel_mixer.m.2."))
_DOWNSAMPLE = (("spatial_downsample.", "token_mixer.0."), ("channel_downsample.", "token_mixer.2."),
               ("ffn.conv1.", "channel_mixer.m.0."), ("ffn.conv2.", "channel_mixer.m.2."))
_STEM = (("conv1.", "0."), ("conv2.", "2."))


def build(spec):
    """The five :class:`RepViTLayer` of a RepViT row, and where their weights came from (None: from scratch)."""
    net = repvit_net(spec.name, spec.width, spec.in_channels)
    source = load_pretrained(net, spec) if spec.pretrained is not False else None
    if source is None:
        start_blocks_scaled(net)
    widths = scaled_widths(spec.name, spec.width)
    channels = (widths[0], *widths)  # the stem's output has the first stage's width
    layers = [RepViTLayer(body, spec.name, i, c) for i, (body, c) in enumerate(zip((net.stem, *net.stages), channels))]
    for layer in layers:
        layer.f = -1  # each reads the one before it
    return layers, source


def start_blocks_scaled(net):
    """Start every BatchNorm that timm initialises at scale zero at scale one instead.

    timm starts the last BatchNorm of each RepViT MLP at zero, so that every block begins as an
    identity: right for its long ImageNet schedules.  Trained from scratch for tens of epochs as a
    detector backbone, the blocks learned more when they start active, on every dataset and setting
    of ``benchmarks/learning_sweep.py`` (``results/learning_sweep.md``).  Loaded weights are never touched.
    """
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and not m.weight.any():
            with torch.no_grad():
                m.weight.fill_(1.0)


def repvit_net(variant, width, in_channels=3):
    """timm's RepVit for a variant at a width factor, without its ImageNet classifier."""
    timm = import_timm("RepViT layers")
    try:
        from timm.models.repvit import RepVit
    except ImportError as error:
        raise RepViTError(f"timm {timm.__version__} has no RepViT models. Fix: {timm_fix()}") from error
    v = VARIANTS[variant]
    return RepVit(in_chans=in_channels, embed_dim=scaled_widths(variant, width), depth=v.depths, legacy=v.legacy,
                  num_classes=0)


def load_pretrained(net, spec):
    """Load the weights ``spec.pretrained`` asks for into ``net``, a width-1.0 timm RepVit; return their source."""
    where = f"{spec.name} row"
    if spec.width != 1.0:
        raise RepViTError(f"{where}: ImageNet weights exist for width 1.0 only, but the row asks for width "
                          f"{spec.width:g} with pretrained={spec.pretrained!r}. Use [1.0, {spec.pretrained!r}], "
                          f"or train width {spec.width:g} from scratch with [{spec.width:g}].")
    if spec.in_channels != 3:
        raise RepViTError(f"{where}: ImageNet weights expect 3 input channels, but the model has ch: "
                          f"{spec.in_channels}. Use 3 channels, or train from scratch (pretrained False).")
    raw, source = fetch(spec.name, spec.pretrained)
    _weights.load_strict(net, timm_layout(raw, net), source, f"{spec.name} at width 1.0",
                         explain=lambda state: _likely_cause(raw, state, spec.name))
    return source


def fetch(variant, pretrained):
    """The raw state dict for a row's ``pretrained`` value, and a description of where it came from."""
    tags = VARIANTS[variant].tags
    tag = VARIANTS[variant].default_tag if pretrained is True else pretrained if pretrained in tags else None
    if tag is None:
        path = _weights.find(pretrained)
        if path is None:
            raise RepViTError(f"{variant} row: pretrained {pretrained!r} is neither a weight tag of {variant} "
                              f"({', '.join(tags)}) nor a file (looked for {_weights.looked_for(pretrained)}). Give "
                              "True, a tag, or the path of a .pth/.safetensors file.")
        return _weights.read(path)
    for name in offline_names(variant, tag):
        path = _weights.find(name, search_cwd=False)
        if path is not None:
            return _weights.read(path)
    return _download(variant, tag)


def offline_names(variant, tag):
    """File names looked for in ``$YOLO_REPVIT_WEIGHTS``: timm's naming, then the authors' release name."""
    names = [f"{variant}.{tag}.safetensors", f"{variant}.{tag}.pth"]
    if not VARIANTS[variant].legacy:
        names.append(_release_name(variant, tag))
    return names


def _release_name(variant, tag):
    return f"{variant}_distill_{tag.split('_')[1]}.pth"  # dist_450e_in1k -> repvit_m0_9_distill_450e.pth


def _download(variant, tag):
    offline_hint = (f"To work offline, put the file in a folder and set {_weights.ENV_DIR} to it (names looked for: "
                    f"{', '.join(offline_names(variant, tag))}), or give its path as the row's second argument.")
    try:
        if VARIANTS[variant].hub:
            timm = import_timm("RepViT layers")
            return timm.create_model(f"{variant}.{tag}", pretrained=True).state_dict(), f"timm {variant}.{tag}"
        url = RELEASE_URL + _release_name(variant, tag)
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True)
        return _weights.unwrap(state, url)
    except OSError as error:  # no network, no cache, hub refused: all end here
        source = (f"the Hugging Face hub repository timm/{variant}.{tag}" if VARIANTS[variant].hub
                  else f"the RepViT authors' release ({_release_name(variant, tag)} on GitHub, THU-MIG/RepViT)")
        raise RepViTError(f"{variant} row: could not download ImageNet weights {tag} from {source} "
                          f"({type(error).__name__}: {error}). {offline_hint}") from error


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


def timm_layout(state, net):
    """``state`` in timm's layout (the authors' ``features.N`` keys renamed), classifier removed."""
    if any(k.startswith("features.") for k in state):
        to_timm = {official: timm for timm, official in official_names(net.state_dict()).items()}
        state = {to_timm.get(k, k): v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.startswith(CLASSIFIER)}


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
    with torch.device("meta"):
        net = repvit_net(variant, 1.0)
    expected, state = net.state_dict(), timm_layout(raw, net)
    return state.keys() == expected.keys() and all(state[k].shape == v.shape for k, v in expected.items())
