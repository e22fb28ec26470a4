"""A backbone row as timm builds it: any timm model's feature extractor, its weights and its checks.

timm knows, for each model, its feature maps (``features_only=True``), their strides and
channels, its ImageNet weights and how to reparameterize it; :class:`TimmRow` asks it and
refuses, with the reason, what cannot serve as a YOLO backbone.  A plain ViT (DINOv3, DINOv2, DeiT: one
map, at the patch stride) gets a simple feature pyramid on its last map instead
(``modules.ViTBackbone``).  A RepViT row is one kind of
Timm row (``_repvit.RepViTRow``): timm's ``repvit_*`` model with the variant's widths, which
overrides only what is RepViT's own.  So both kinds check their input, resolve their weights
(the row's file, else ``$YOLO_REPVIT_WEIGHTS``, else the download, else an error that says
where to put the file) and load them strictly in one way, here.
"""

import difflib

import torch

from . import _weights
from ._errors import RepViTError
from ._rows import STRIDES, TIMM
from ._versions import import_timm
from .modules import TimmBackbone, TimmFeature, ViTBackbone

PROBE = (64, 96)  # a small, non-square input: any layout or size restriction shows at once


class TimmRow:
    """Layers 0-4 of a Timm row: a :class:`TimmBackbone` holding timm's feature extractor, four :class:`TimmFeature`."""

    def __init__(self, spec):
        self.spec = spec
        self.where = f"{TIMM} row {spec.name}"  # how errors name the row
        self.weights_of = f"timm's {spec.name}"  # what a weight file must be a checkpoint of
        self.timm = import_timm(f"{TIMM} layers")
        self.patch = None  # a plain ViT's patch size, once feature_extractor() has found one

    # What differs between kinds of rows ---------------------------------------------------------------------------

    def model(self):
        """The timm model to build and the ``timm.create_model`` arguments it takes."""
        return self.spec.name, self.spec.kwargs

    def check(self):
        """Refuse, before anything is built, a model timm lacks or a tag it does not have."""
        if not self.timm.is_model(self.spec.name):
            close = difflib.get_close_matches(self.spec.name, self.timm.list_models(), n=5, cutoff=0.7)
            hint = f" Close matches: {', '.join(close)}." if close else ""
            raise RepViTError(f"{self.where}: timm {self.timm.__version__} has no model {self.spec.name!r}.{hint} A "
                              "model newer than this timm needs a newer one (pip install -U timm); `yolo-repvit "
                              "backbones` lists the families the tests cover, and `yolo-repvit backbones NAME` checks "
                              "any name.")
        if self.spec.tag and self.spec.tag not in self.tags():
            raise self.unknown_tag(self.spec.tag)

    def tags(self):
        """The weight tags of the model, its default (what ``True`` loads) first."""
        return tags(self.timm, self.spec.name)

    def offline_names(self, tag):
        """File names looked for in ``$YOLO_REPVIT_WEIGHTS`` for a tag."""
        return [f"{self.spec.name}.{tag}.safetensors", f"{self.spec.name}.{tag}.pth"]

    def origin(self, tag):
        """Where :meth:`download` gets a tag's weights from, for messages."""
        return f"the Hugging Face hub repository of timm's {self.spec.name}.{tag}"

    def download(self, tag):
        """The whole model's tensors for ``tag`` in timm's layout, fetched (and cached) by timm."""
        name, kwargs = self.model()
        net = self.timm.create_model(f"{name}.{tag}", pretrained=True, **kwargs)
        return net.state_dict(), f"timm {name}.{tag}"

    def timm_layout(self, raw):
        """A weight file's tensors in timm's layout of the whole model (a Timm row's files are in it already)."""
        return raw

    def explain(self, raw):
        """The likely cause when a weight file's tensors ``raw`` do not fit the model."""
        if not raw:
            return (f"None of its tensors belongs to {self.spec.name}: is it a checkpoint of another model, or of "
                    "the classifier only?")
        return (f"Is it a checkpoint of timm's {self.spec.name} (timm's layout, e.g. downloaded from the hub or saved "
                "with timm.create_model(...).state_dict())? Files of another model, size or depth do not fit.")

    def layers(self, body, taps, channels, channels_last):
        if self.patch:
            backbone = ViTBackbone(body, self.spec.name, self.patch, channels[0])
            channels = backbone.channels
        else:
            backbone = TimmBackbone(body, self.spec.name, taps, channels, channels_last)
        backbone.f = -1  # reads the image
        features = [TimmFeature(i, c) for i, c in enumerate(channels)]
        for feature in features:
            feature.f = 0  # each picks a map from layer 0
        return [backbone, *features]

    # The one path every row takes ---------------------------------------------------------------------------------

    def build(self):
        """The five layers of the row, and where their weights came from (None: from scratch)."""
        self.check()
        if self.spec.pretrained is not False:
            self.check_weights_fit()
        body = self.feature_extractor()
        taps, channels, channels_last = self.maps(body)
        source = self.load_weights(body) if self.spec.pretrained is not False else None
        return self.layers(body, taps, channels, channels_last), source

    def check_weights_fit(self):
        """Refuse what no pretrained weights can fit, before anything is built or downloaded."""
        if self.spec.in_channels != 3:
            raise RepViTError(f"{self.where}: pretrained weights expect 3 input channels, but the model has ch: "
                              f"{self.spec.in_channels}. Use 3 channels, or train from scratch (pretrained False).")

    def create(self, **extra):
        name, kwargs = self.model()
        return self.timm.create_model(name, pretrained=False, features_only=True, in_chans=self.spec.in_channels,
                                      **{**kwargs, **extra})

    def feature_extractor(self):
        """timm's feature extractor for the row, with dynamic input size where the model would otherwise fix it.

        Only the stride 4/8/16/32 maps are kept: a model with more feature points is rebuilt with just those.
        """
        cfg = self.timm.models.get_pretrained_cfg(self.model()[0])
        dynamic = {}
        if getattr(cfg, "fixed_input_size", False) and "dynamic_img_size" not in self.spec.kwargs:
            dynamic = {"dynamic_img_size": True}
        try:
            body = self.create(**dynamic)
        except TypeError as error:
            if not dynamic or "dynamic_img_size" not in str(error):
                raise RepViTError(f"{self.where}: timm cannot build it with {self.spec.kwargs} ({error}). The third "
                                  f"argument of a {TIMM} row goes to timm.create_model, which passes it on to the "
                                  "model's class: use argument names that class takes.") from error
            body = self.create()  # the family has no dynamic size; the probe decides
        info = body.feature_info
        points = {info.info[i]["reduction"]: i for i in range(len(info.info))}  # the last point of each stride
        if len(points) == 1:
            return self.plain_vit(next(iter(points)), dynamic)
        missing = [s for s in STRIDES if s not in points]
        if missing:
            have = "/".join(str(s) for s in sorted(points))
            raise RepViTError(f"{self.where}: its feature maps are at strides {have}, but a backbone row needs one at "
                              f"each of 4, 8, 16 and 32 (missing {', '.join(map(str, missing))}), or a single map "
                              "(a plain ViT, which gets a feature pyramid). Models that downsample by 16 and then "
                              "further (LeViT, SHViT) can be neither; pick a hierarchical model, e.g. convnext_atto "
                              "or mobilenetv4_conv_small, or a plain ViT.")
        wanted = tuple(points[s] for s in STRIDES)
        if not set(wanted) <= set(info.out_indices) or max(info.out_indices) > max(wanted):
            body = self.create(**dynamic, out_indices=wanted)
        return body

    def plain_vit(self, patch, dynamic):
        """timm's whole model of a single-stride row, classifier pruned: ``ViTBackbone`` reads its last block."""
        name, kwargs = self.model()
        body = self.timm.create_model(name, pretrained=False, in_chans=self.spec.in_channels, **{**kwargs, **dynamic})
        if not callable(getattr(body, "prune_intermediate_layers", None)):
            raise RepViTError(f"{self.where}: its one feature map is at stride {patch}, and timm "
                              f"{self.timm.__version__} cannot take the last block's map from it alone (no "
                              "forward_intermediates), which the feature pyramid of a plain ViT needs; pick a "
                              "hierarchical model or another ViT.")
        body.prune_intermediate_layers(1, prune_norm=False, prune_head=True)
        self.patch = patch
        return body

    def maps(self, body):
        """Which outputs are the stride 4/8/16/32 maps, their channels, and whether they come channels-last.

        Found by running the model once at a non-square size: the map sizes tell the layout apart, and a
        model that needs one fixed input size fails here, with its own error named.
        """
        height, width = PROBE
        if self.patch:
            return self.vit_map(body)
        outputs = self.probe(body, body, height, width,
                             "YOLO trains and predicts at any multiple of 32, so models that need one fixed input size "
                             "(and offer no dynamic_img_size in timm) cannot be a backbone; pick another model.")
        reductions = body.feature_info.reduction()
        taps = [len(reductions) - 1 - reductions[::-1].index(s) for s in STRIDES]
        channels, layouts = [], set()
        for i, stride in zip(taps, STRIDES):
            shape, size = tuple(outputs[i].shape), (height // stride, width // stride)
            if shape[2:] == size:
                channels.append(shape[1])
                layouts.add(False)
            elif shape[1:3] == size:
                channels.append(shape[3])
                layouts.add(True)
            else:
                raise RepViTError(f"{self.where}: its stride {stride} map has shape {shape} on a {height}x{width} "
                                  f"input, which is no {size[0]}x{size[1]} map: it does not keep to strides at every "
                                  "multiple of 32, as a YOLO head needs; pick another model.")
        if len(layouts) > 1:
            raise RepViTError(f"{self.where}: timm's feature extractor gives some maps channels-first and some "
                              "channels-last; a backbone row needs one layout. Pick another model.")
        return taps, channels, layouts == {True}

    def vit_map(self, body):
        """The channels of a plain ViT's last map, checked to be ``H/16 x W/16`` at the probe size, as
        ``ViTBackbone`` gives it; the pyramid's maps follow from it."""
        height, width = PROBE
        size = (height // STRIDES[2], width // STRIDES[2])
        last, = self.probe(body, lambda x: body.forward_intermediates(x, indices=1, norm=True, intermediates_only=True),
                           size[0] * self.patch, size[1] * self.patch,
                           "Its feature pyramid needs a ViT that takes any multiple of its patch size (timm's "
                           "dynamic_img_size); pick another model.")
        if tuple(last.shape[2:]) != size:
            raise RepViTError(f"{self.where}: its last map has shape {tuple(last.shape)} on a {size[0] * self.patch}x"
                              f"{size[1] * self.patch} input, not {size[0]}x{size[1]} (stride {self.patch}); pick "
                              "another model.")
        return None, [last.shape[1]], False

    def probe(self, body, call, height, width, advice):
        """``call`` on a zero image of ``height x width``, with ``body`` in inference mode; a model that fails there
        is refused with timm's error and ``advice``."""
        body.eval()
        try:
            with torch.no_grad():
                return call(torch.zeros(1, self.spec.in_channels, height, width))
        except Exception as error:  # noqa: BLE001  timm's models fail at a size they refuse in many ways
            raise RepViTError(f"{self.where}: timm's model does not run on a {height}x{width} input "
                              f"({type(error).__name__}: {str(error).splitlines()[0][:200]}). {advice}") from error
        finally:
            body.train()

    def load_weights(self, body):
        """Load the weights the row asks for into ``body`` (timm's feature extractor); return their source."""
        raw, source = self.fetch()
        state = self.timm_layout(raw)
        whole = self.whole_model()
        unexpected = [k for k in state if k not in whole]
        _weights.load_strict(body, feature_state(state, body), source, self.weights_of, unexpected,
                             explain=lambda: self.explain(raw))
        return source

    def whole_model(self):
        """Name and shape of every tensor of the whole timm model (classifier included), built without memory."""
        name, kwargs = self.model()
        with torch.device("meta"):
            net = self.timm.create_model(name, pretrained=False, **kwargs)
        return {k: v.shape for k, v in net.state_dict().items()}

    def fetch(self):
        """The raw tensors ``pretrained`` asks for, and where they came from: a file, else a tag's offline file in
        ``$YOLO_REPVIT_WEIGHTS``, else the download; an error that says what to do when none is there."""
        pretrained, known = self.spec.pretrained, self.tags()
        if isinstance(pretrained, str) and (_weights.is_weight_path(pretrained) or pretrained not in known):
            path = _weights.find(pretrained)
            if path is not None:
                return _weights.read(path)
            if _weights.is_weight_path(pretrained):
                raise RepViTError(f"{self.where}: weight file {pretrained!r} not found (looked for "
                                  f"{_weights.looked_for(pretrained)}). Give the path of an existing "
                                  f".pth/.safetensors file, or put it in a folder and set {_weights.ENV_DIR} to that "
                                  "folder.")
            raise self.unknown_tag(pretrained, looked_for=pretrained)
        tag = self.spec.weight_tag or (known[0] if known else None)
        if tag not in known:
            raise self.unknown_tag(tag)
        for name in self.offline_names(tag):
            path = _weights.find(name, search_cwd=False)
            if path is not None:
                return _weights.read(path)
        try:
            return self.download(tag)
        except OSError as error:  # no network, no cache, hub refused: all end here
            raise RepViTError(f"{self.where}: could not download pretrained weights {tag} from {self.origin(tag)} "
                              f"({type(error).__name__}: {error}). To work offline, put the file in a folder and set "
                              f"{_weights.ENV_DIR} to it (names looked for: {', '.join(self.offline_names(tag))}), or "
                              "give its path as the row's second argument.") from error

    def unknown_tag(self, tag, looked_for=None):
        """The error for a tag the model has no weights under; ``looked_for``: a file name also tried, not found."""
        known = self.tags()
        nor_file = f" and no file {looked_for!r} (looked for {_weights.looked_for(looked_for)})" if looked_for else ""
        if not known:
            return RepViTError(f"{self.where}: there are no pretrained weights for {self.spec.name}{nor_file}; train "
                               "it from scratch (pretrained False) or give the path of a weight file.")
        return RepViTError(f"{self.where}: there are no weights {self.spec.name}.{tag}{nor_file}; its tags are "
                           f"{', '.join(known)} (the first is what True loads). Give True, one of those tags, or the "
                           "path of a weight file.")


def tags(timm, name):
    """The weight tags timm has for ``name``, its default first."""
    default = getattr(timm.models.get_pretrained_cfg(name), "tag", None)
    found = [t.split(".", 1)[1] for t in timm.list_pretrained(f"{name}.*")]
    return sorted(found, key=lambda tag: tag != default)


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
