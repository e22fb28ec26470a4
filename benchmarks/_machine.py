"""What a result was measured on, so a reader can tell a laptop figure from a server one.

Only what the process can detect about itself is reported: processor model string, core count,
memory, library versions and thread counts; never a host name or a path.
"""

import os
import platform


def cpu_name():
    """The processor's marketing name (``/proc/cpuinfo`` on Linux, what the platform says elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus():
    """CPUs this process may run on: the affinity mask where the OS has one, else all of them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def load_average():
    """The 1-minute load average, or None where the OS has none: a loaded machine makes timings noisy."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def device_name(device):
    """The processor or GPU a run measured, for titles: figures from different devices must not mix."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    return cpu_name()


def describe(device, threads):
    """``(label, value)`` pairs describing the machine and software for the report's header."""
    import psutil
    import timm
    import torch
    import ultralytics

    facts = [("CPU", f"{cpu_name()}, {usable_cpus()} usable of {os.cpu_count()} logical CPUs"),
             ("memory", f"{psutil.virtual_memory().total / 2**30:.0f} GiB"),
             ("OS", f"{platform.system()} ({platform.machine()})")]
    if device.type == "cuda":
        facts.append(("GPU", f"{device_name(device)} (CUDA {torch.version.cuda})"))
    facts += [("Python", platform.python_version()),
              ("torch", f"{torch.__version__}, intra-op threads: {threads}"),
              ("ultralytics", ultralytics.__version__),
              ("timm", timm.__version__)]
    if device.type == "cpu":  # CPU inference is also timed in ONNX Runtime
        import onnxruntime

        facts.append(("onnxruntime", f"{onnxruntime.__version__}, intra-op threads: {threads}"))
    return facts
