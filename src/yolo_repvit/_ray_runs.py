"""Training runs of ``yolo-repvit compare --ray ADDRESS`` as Ray tasks, spread over a cluster's machines and GPUs.

Each task trains one run with one GPU where the cluster has GPUs (else one CPU; ``--device``
applies to local runs only), into a temporary folder on its worker's own disk, and returns the
run's record with that folder zipped.  The comparing process unpacks it into ``<out>/runs``, so
the models are exported and timed on the machine that runs the comparison whichever machine
trained them.  Workers need ultralytics, torch and timm; the plugin is shipped to them (:func:`runtime_env`).
The data, and models given as files, are read at the paths the comparison was given: on several
machines they must be at those paths on each (a shared file system).
"""

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

from . import _configs, _runs
from ._errors import RepViTError


def submit(missing, keys, out, device, address):
    """Start a task for each run; return ``{future: run}``. ``device`` is unused: Ray places the tasks.

    Connects with the plugin shipped, unless Ray is already initialised (then its own ``runtime_env`` holds).
    """
    ray = _ray()
    if not ray.is_initialized():
        with tempfile.TemporaryDirectory() as staging:  # ray.init uploads it; the tasks get the upload
            try:
                ray.init(address=address, runtime_env=runtime_env(staging))
            except ConnectionError as error:
                raise RepViTError(f"compare: no Ray cluster reached at --ray {address} ({error}). Give the address "
                                  "of a running cluster's head (HOST:PORT), or auto on one of its machines.") from error
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_gpus=gpus, max_calls=1)(_train)  # max_calls=1: a fresh interpreter per run, as locally
    return {_Future(task.remote(run, keys[run]), Path(out) / "runs"): run for run in missing}


def as_completed(futures):
    """Yield ``futures`` as their tasks finish; cancel the rest if the comparison stops (a failed run, Ctrl-C)."""
    import ray

    waiting = {future.ref: future for future in futures}
    try:
        while waiting:
            [done], _ = ray.wait(list(waiting), num_returns=1)
            yield waiting.pop(done)
    finally:
        for ref in waiting:
            ray.cancel(ref, force=True)


class _Future:
    """A task's result as ``_compare`` reads it: the record, once the run's files are unpacked here."""

    def __init__(self, ref, runs):
        self.ref, self.runs = ref, runs

    def result(self):
        import ray

        record, archive = ray.get(self.ref)
        with zipfile.ZipFile(io.BytesIO(archive)) as files:
            files.extractall(self.runs)
        return record


def _train(run, run_key):
    """On a worker: train ``run`` into a temporary folder; return its record and its folder ``run_key``, zipped.

    The device is the GPU Ray gave the task, by the id Ray also put in CUDA_VISIBLE_DEVICES (ultralytics 8.3
    sets that variable to the device it is given). ``log=None``: the worker's output belongs to Ray.
    """
    import ray

    device = ",".join(map(str, ray.get_gpu_ids())) or "cpu"
    with tempfile.TemporaryDirectory() as folder:
        record = _runs.train(run, run_key, folder, device)
        archive = shutil.make_archive(str(Path(folder) / "run"), "zip", folder, run_key)
        return record, Path(archive).read_bytes()


def runtime_env(staging):
    """Ray's ``runtime_env`` that ships the plugin, laid out in ``staging`` as its wheel installs it.

    Two modules: the package with its configs (an editable install reads them from the repository), and
    the top-level ``_yolo_repvit_autoload``, which the package imports: it holds the one post-import hook,
    shared with the startup hook, which must not import the package.  So workers need not install yolo-repvit.
    """
    import _yolo_repvit_autoload

    package = Path(staging) / "yolo_repvit"
    shutil.copytree(Path(__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    if not (package / "cfg").is_dir():
        shutil.copytree(_configs.CONFIG_DIR, package / "cfg")
    return {"py_modules": [str(package), _yolo_repvit_autoload.__file__]}


def _ray():
    try:
        import ray
    except ImportError as error:
        raise RepViTError("compare: --ray needs Ray, which is not installed here; pip install 'yolo-repvit[ray]'"
                          ) from error
    return ray
