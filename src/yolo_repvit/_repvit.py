"""What is RepViT's own in a RepViT row: its variants and widths, the authors' weight files, its layer layout.

A RepViT row is a Timm row (:class:`~yolo_repvit._timm.TimmRow`) of timm's ``repvit_*`` model
built with the variant's stage widths scaled by the row's width factor (``repvit_m0_6``, which
timm does not register, too).  It overrides only what differs: the variants' own weight tags,
the authors' release files and their layout, and the layers.  Where a Timm row keeps timm's
feature extractor whole in layer 0, a RepViT row cuts it into the stem and the four stages, one
YOLO layer each, as the recipe's YAML expects.
"""

from dataclasses import replace

import torch

from . import _weights
from ._errors import RepViTError
from ._repvit_variants import VARIANTS, scaled_depths, scaled_widths
from ._timm import TimmRow
from ._versions import timm_fix
from .modules import RepViTLayer

RELEASE_URL = "https://github.com/THU-MIG/RepViT/releases/download/v1.0/"
AUTHORS_CLASSIFIER = "classifier."  # the ImageNet classifier in the authors' layout

# timm module -> the authors' module, inside one block (first matching prefix wins).
_BLOCK = (("token_mixer.", "token_mixer.0."), ("se.", "token_mixer.1."),
          ("channel_mixer.conv1.", "channel_mixer.m.0."), ("channel_mixer.conv2.", "channel_mixer.m.2."))
_DOWNSAMPLE = (("spatial_downsample.", "token_mixer.0."), ("channel_downsample.", "token_mixer.2."),
               ("ffn.conv1.", "channel_mixer.m.0."), ("ffn.conv2.", "channel_mixer.m.2."))
_STEM = (("conv1.", "0."), ("conv2.", "2."))


class RepViTRow(TimmRow):
    """Layers 0-4 of a RepViT row: five :class:`RepViTLayer`, the stem and the four stages of timm's RepVit."""

    def __init__(self, spec):
        super().__init__(spec)
        self.variant = VARIANTS[spec.name]
        self.where = f"{spec.name} row"
        self.weights_of = f"{spec.name} at width 1.0"

    def model(self):
        v, spec = self.variant, self.spec
        act = {} if spec.act == "gelu" else {"act_layer": self.timm.layers.get_act_layer(spec.act)}
        return v.timm_name, {"embed_dim": scaled_widths(v.name, spec.width), "depth": scaled_depths(v.name, spec.depth),
                             "legacy": v.legacy, **act}

    def check(self):
        """The row grammar has checked the variant and width; timm must have the RepViT class."""
        if not self.timm.is_model(self.variant.timm_name):
            raise RepViTError(f"timm {self.timm.__version__} has no RepViT models. Fix: {timm_fix()}")

    def check_weights_fit(self):
        super().check_weights_fit()
        if self.spec.width != 1.0:
            raise RepViTError(f"{self.where}: ImageNet weights exist for width 1.0 only, but the row asks for width "
                              f"{self.spec.width:g} with pretrained={self.spec.pretrained!r}. Use "
                              f"[1.0, {self.spec.pretrained!r}], or train width {self.spec.width:g} from scratch "
                              f"with [{self.spec.width:g}].")
        if self.spec.shape:
            asks = ", ".join(f"{key}: {value}" for key, value in self.spec.shape.items())
            raise RepViTError(f"{self.where}: ImageNet weights exist for RepViT's own blocks only (depth 1.0, act "
                              f"gelu), but the row asks for {asks} with pretrained={self.spec.pretrained!r}. Leave "
                              f"{' and '.join(self.spec.shape)} out to load them, or train this shape from scratch "
                              "(pretrained False).")

    def tags(self):
        return list(self.variant.tags)

    def offline_names(self, tag):
        """timm's naming, then the authors' release name (not for m1/m2/m3, which the authors did not release)."""
        return super().offline_names(tag) + ([] if self.variant.legacy else [self.release_name(tag)])

    def release_name(self, tag):
        return f"{self.spec.name}_distill_{tag.split('_')[1]}.pth"  # dist_450e_in1k -> repvit_m0_9_distill_450e.pth

    def origin(self, tag):
        if self.variant.hub:
            return f"the Hugging Face hub repository timm/{self.spec.name}.{tag}"
        return f"the RepViT authors' release ({self.release_name(tag)} on GitHub, THU-MIG/RepViT)"

    def download(self, tag):
        if self.variant.hub:
            return super().download(tag)
        url = RELEASE_URL + self.release_name(tag)
        return _weights.unwrap(torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True), url)

    def timm_layout(self, raw):
        """The authors' ``features.N`` keys renamed to timm's, and their classifier left out; timm's as it is."""
        if not any(k.startswith("features.") for k in raw):
            return raw
        to_timm = {official: key for key, official in official_names(self.whole_model()).items()}
        return {to_timm.get(k, k): v for k, v in raw.items() if not k.startswith(AUTHORS_CLASSIFIER)}

    def explain(self, raw):
        if not any(k.startswith(("stem.", "stages.")) for k in self.timm_layout(raw)):
            return "The file holds no backbone weights (only an ImageNet classifier?); use a full RepViT checkpoint."
        fits = [name for name in VARIANTS if name != self.spec.name and _fits(raw, name, self.spec)]
        if fits:
            return f"These are {fits[0]} weights: put {fits[0]} in the row, or use a {self.spec.name} file."
        return (f"Is it a {self.spec.name} ImageNet checkpoint (timm's layout or the authors')? Files for another "
                "variant, or saved from a model with another width or head, do not fit.")

    def layers(self, body, taps, channels, channels_last):
        if self.spec.pretrained is False:
            start_blocks_scaled(body)
        stem, *stages = body.children()  # the extractor of a RepVit is its stem, then its stages in order
        layers = [RepViTLayer(part, self.spec.name, i, c)
                  for i, (part, c) in enumerate(zip((stem, *stages), (channels[0], *channels)))]
        for layer in layers:
            layer.f = -1  # each reads the one before it
        return layers


def start_blocks_scaled(net):
    """Start every BatchNorm that timm initialises at scale zero at scale one instead.

    timm starts the last BatchNorm of each RepViT MLP at zero, so that every block begins as an
    identity: right for its long ImageNet schedules.  Trained from scratch for tens of epochs as a
    detector backbone, the blocks learned more when they start active, on every dataset and setting
    of release 0.2.0's sweep (``benchmarks/results/learning_sweep_screen.md``).  Loaded weights are never touched.
    """
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and not m.weight.any():
            with torch.no_grad():
                m.weight.fill_(1.0)


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


def _fits(raw, variant, spec):
    """Whether the weight file's tensors ``raw`` (either layout) hold exactly the backbone of ``variant``."""
    row = RepViTRow(replace(spec, name=variant, width=1.0))
    state, expected = row.timm_layout(raw), row.whole_model()
    backbone = {k: v for k, v in expected.items() if k.startswith(("stem.", "stages."))}
    return all(k in state and state[k].shape == shape for k, shape in backbone.items()) and not any(
        k.startswith("stages.") and k not in backbone for k in state)
