"""Startup hook that lets an unmodified ``yolo`` command, or any script, see RepViT and Timm rows.

The wheel installs ``yolo_repvit-autoload.pth`` (and ``yolo_repvit-autoload.start`` for Python
3.15+), which call :func:`install` when the interpreter starts.  That costs one environment
lookup and one entry on ``sys.meta_path``: nothing is imported until ultralytics is (the first of
the modules in :data:`PATCHED` to finish, before the ``yolo`` command reads ``cfg=``), and only then
is ``yolo_repvit`` imported, which activates the plugin.

This module must import only the standard library, must never raise at startup and must never
print; set ``YOLO_REPVIT_AUTOLOAD=0`` to switch it off.  :func:`when_imported` is also the
mechanism ``yolo_repvit.activate`` uses, so there is exactly one post-import hook.
"""

import os
import sys
from _thread import RLock  # not threading, nor importlib.abc: they would add ~20 ms to every interpreter start

ENV_SWITCH = "YOLO_REPVIT_AUTOLOAD"
# The ultralytics modules the plugin patches, each with the function of ``yolo_repvit._ultralytics`` that
# does it.  The startup hook watches them all: which of them finishes executing first differs between
# releases (8.3.0 imports ``nn.tasks`` while ``utils.checks`` is still being imported), and an import
# that was under way before anyone watched its module would run no callback.
PATCHED = {"ultralytics.utils.checks": "install_checks", "ultralytics.nn.tasks": "install_tasks",
           "ultralytics.utils.dist": "install_dist", "ultralytics.engine.trainer": "install_trainer"}

_callbacks = {}  # module name -> callbacks waiting for that module to finish executing
_executed = {}  # module name -> that module, once its code has run (the import system may still be finishing)
_lock = RLock()
_installed = False
_failed = []  # the error, if activating the plugin failed


def when_imported(name, callback):
    """Call ``callback(module)`` once module ``name`` has executed; at once if it already has.

    Used instead of importing the module ourselves so that activation never pays for it.  Deciding
    "due now or later" and registering for later are one step under ``_lock``, the lock under which
    :func:`_run_callbacks` marks a module executed and takes its callbacks: a module that finished in
    another thread between the two would otherwise leave this callback registered and never called.
    A due callback is called after the lock is released, since it may import a module that another
    thread is importing, and that thread needs the lock to finish.  An import that another thread
    began before any callback was registered has no loader of ours; a callback registered while it
    runs waits for the module's next import.
    """
    with _lock:
        module, executed = sys.modules.get(name), _executed.get(name)
        if module is None and executed is not None and _initialising(executed):
            module = executed  # executed; the import system has not put it back in sys.modules yet
        due = module is not None and (module is executed or not _initialising(module))
        if not due:
            _callbacks.setdefault(name, []).append(callback)
            if not any(isinstance(f, _PostImportFinder) for f in sys.meta_path):
                sys.meta_path.insert(0, _PostImportFinder())
    if due:
        callback(module)


def _initialising(module):
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _run_callbacks(module):
    """Run the callbacks waiting for ``module``, which has just executed, each once and outside the lock.

    Marking it executed and taking its callbacks is one step, so :func:`when_imported` either
    registers before it (and its callback is taken here) or sees it executed (and calls at once).
    """
    with _lock:
        _executed[module.__name__] = module
        callbacks = _callbacks.pop(module.__name__, [])
    for callback in callbacks:
        callback(module)


class _PostImportFinder:
    """Finds nothing itself: it wraps the real loader of a watched module to run callbacks after it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _callbacks:
            return None
        for finder in sys.meta_path:  # the finders that would have found it, in their order
            if type(finder).__name__ == type(self).__name__ or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None:
            return None
        spec.loader = _CallbackLoader(spec.loader)
        return spec


class _CallbackLoader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            _run_callbacks(module)
        finally:  # not before: until its callbacks are taken, this loader says they will be run
            module.__loader__ = module.__spec__.loader = self._loader

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)


def _activate_plugin(_module):
    if "yolo_repvit" in sys.modules or _failed:
        return
    try:
        import yolo_repvit  # noqa: F401  (importing it activates it)
    except Exception as error:  # noqa: BLE001  ultralytics must still import; say why RepViT is absent
        import warnings

        _failed.append(error)  # say it once, not once per watched module
        warnings.warn(
            f"yolo-repvit could not be activated ({type(error).__name__}: {error}); RepViT and Timm rows "
            f"will not resolve. Reinstall yolo-repvit, or set {ENV_SWITCH}=0 to stop this attempt.",
            RuntimeWarning,
            stacklevel=2,
        )


def _explain_when_off(hook):
    """Chain an excepthook that says how to get the plugin back when a RepViT or Timm name failed to resolve."""

    def excepthook(kind, error, traceback):
        hook(kind, error, traceback)
        text = str(error).lower()
        if ("repvit" in text or "timm" in text) and "yolo_repvit" not in sys.modules:
            sys.stderr.write(
                f"\nyolo-repvit: RepViT and Timm configs and model rows need the yolo-repvit plugin, and its "
                f"autoload is off ({ENV_SWITCH}={os.environ.get(ENV_SWITCH)}). Unset {ENV_SWITCH}, or add "
                f"'import yolo_repvit' to your script before building the model.\n"
            )

    return excepthook


def install():
    """Entry point of the ``.pth``/``.start`` file: watch for ultralytics, unless switched off.

    Runs once per process even where site-packages is on the path twice (a ``lib64`` link).
    """
    global _installed
    if _installed:
        return
    _installed = True
    try:
        if os.environ.get(ENV_SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}:
            sys.excepthook = _explain_when_off(sys.excepthook)
            return
        for name in PATCHED:
            when_imported(name, _activate_plugin)
    except Exception:  # noqa: BLE001  a startup hook must never break the interpreter
        pass
