"""Weight files: told apart from tags, found, read safely and loaded strictly into a network the caller built.

Nothing here builds a network or knows a backbone's layout: the rows (``_timm``, ``_repvit``)
bring the state into the network's own key names and say what a mismatch most likely means.
What is shared is how files are found (``$YOLO_REPVIT_WEIGHTS`` for offline use), read (tensors
only, never arbitrary objects), unwrapped (training checkpoints) and checked (every tensor of
the network must load, and nothing foreign may be in the file; otherwise the error names what is
off).  Nothing ever falls back to random weights.  torch is imported only to read a file, so the
row grammar can use :func:`is_weight_path` without it.
"""

import os
import pickle
import zipfile
from pathlib import Path, PurePath

from ._errors import RepViTError

ENV_DIR = "YOLO_REPVIT_WEIGHTS"
SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
ENTRIES = ("state_dict", "model", "model_ema")  # the RepViT authors' own detection code reads the first two, in order
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8"  # torch.save before zip files: pickle + magic


def is_weight_path(value):
    """Whether a ``pretrained`` string names a file rather than a tag: a folder part or a weight-file suffix."""
    path = PurePath(str(value).replace("\\", "/"))
    return len(path.parts) > 1 or path.suffix.lower() in SUFFIXES


def find(name, search_cwd=True):
    """A weight file given by path (unless ``search_cwd`` is off), else by name in ``$YOLO_REPVIT_WEIGHTS``."""
    candidates = [Path(name).expanduser()] if search_cwd else []
    if os.environ.get(ENV_DIR):
        candidates.append(Path(os.environ[ENV_DIR]).expanduser() / Path(name).name)
    return next((p for p in candidates if p.is_file()), None)


def looked_for(name):
    """Where :func:`find` looked, for error messages."""
    places = [str(Path(name).resolve())]
    if os.environ.get(ENV_DIR):
        places.append(str(Path(os.environ[ENV_DIR], Path(name).name)))
    return " and ".join(places)


def read(path):
    """Tensors of a ``.safetensors`` or ``torch.save`` file and a description of their source."""
    import torch

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path)), str(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not _is_torch_file(path):
            raise _not_weights(path) from error
        raise RepViTError(f"{path} is a PyTorch checkpoint that holds Python objects besides tensors, which are not "
                          "loaded: unpickling them could run code. If you trust where the file comes from, save just "
                          "its weights once and use that file: torch.save(torch.load(path, weights_only=False)"
                          "['model'].state_dict(), 'weights.pth') (or ['state_dict'], whichever entry it has)."
                          ) from error
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise _not_weights(path, error) from error
    return unwrap(state, str(path))


def _is_torch_file(path):
    """Whether ``path`` starts like a file ``torch.save`` wrote (a zip archive, or the legacy pickle format)."""
    with open(path, "rb") as f:
        head = f.read(len(_LEGACY_TORCH_MAGIC))
    return head == _LEGACY_TORCH_MAGIC or zipfile.is_zipfile(path)


def _not_weights(path, error=None):
    """The error for a file that is no complete weight file: say what was found, not what torch tripped on first."""
    if error is None:
        with open(path, "rb") as f:
            found = f"it starts with {f.read(16)!r}"
    else:
        lines = str(error).strip().splitlines()
        found = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
    return RepViTError(f"cannot read weight file {path} ({found}): it is not a complete PyTorch or safetensors file, "
                       "e.g. a truncated download or a web page saved under the file's name. Download it again.")


def unwrap(state, source):
    """The weights inside a training checkpoint: ``state_dict``, else ``model``, else ``model_ema``."""
    for entry in ENTRIES:
        if isinstance(state, dict) and isinstance(state.get(entry), dict):
            state = state[entry]
            source = f"{source} (entry '{entry}')"
            break
    if state and all(k.startswith("module.") for k in state):  # saved from DistributedDataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return state, source


def load_strict(net, state, source, what, unexpected=(), explain=None):
    """Load every tensor of ``net`` from ``state`` (already in ``net``'s key names) or raise, naming what is off.

    ``unexpected`` are the file's tensors that belong to no part of the model it should be a checkpoint of
    (the caller knows which tensors a classifier's head accounts for); ``explain()`` returns a sentence on the
    likely cause of a mismatch.
    """
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = list(unexpected)
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        examples = ", ".join(k + _shapes(k, expected, state) for k in (wrong or missing or unexpected)[:3])
        more = ", ..." if len(wrong or missing or unexpected) > 3 else ""
        cause = explain() if explain else ""
        raise RepViTError(f"{source} does not fit {what}: {len(missing)} missing, {len(unexpected)} unexpected and "
                          f"{len(wrong)} wrong-shaped tensors (e.g. {examples}{more}). {cause}".rstrip())
    net.load_state_dict({k: state[k] for k in expected}, strict=True)


def _shapes(key, expected, state):
    if key in expected and key in state:
        return f" (file {tuple(state[key].shape)}, model {tuple(expected[key].shape)})"
    return ""
