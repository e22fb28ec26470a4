"""The PNG figures of both reports, drawn off-screen with matplotlib."""

import matplotlib

matplotlib.use("Agg")  # files only: works without a display, in CI too
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter  # noqa: E402

from _candidates import REFERENCE  # noqa: E402
from _render import deployment_metric, label, name, timed_metrics  # noqa: E402


def learning_curves(panels, path, title):
    """mAP50-95 against epoch: one panel per dataset, per series the mean over seeds and its min-max band.

    ``panels`` maps a panel title to ``{series label: [curve of each seed]}``; curves of a series share a length.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), layout="constrained", squeeze=False)
    for ax, (panel, series) in zip(axes[0], panels.items()):
        for k, (legend, curves) in enumerate(series.items()):
            epochs = range(1, len(curves[0]) + 1)
            per_epoch = list(zip(*curves))
            colour = f"C{k}"
            ax.plot(epochs, [sum(v) / len(v) for v in per_epoch], color=colour, label=f"{legend} ({len(curves)} seeds)")
            ax.fill_between(epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch], color=colour, alpha=0.2)
        ax.set(xlabel="epoch", ylabel="mAP50-95 (validation)", title=panel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    _save(fig, path)


def selection_figure(results, runtime, reference_of, path):
    """Per dataset, mAP50-95 (mean, error bar: std over seeds) against latency as a ratio to the model's reference
    (``reference_of(model)``, the YOLO11 of its scale); ``results[(dataset, runtime)]`` are ``yolo_repvit.compare``
    summaries."""
    datasets = [kind for kind, rt in results if rt == runtime]
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.8), layout="constrained", squeeze=False)
    for ax, kind in zip(axes[0], datasets):
        found = {s["model"].rsplit("/", 1)[-1]: s for s in results[kind, runtime]}
        for k, (model, s) in enumerate(found.items()):
            reference = found[reference_of(model)]
            ax.errorbar(s["latency"] / reference["latency"], s["map"], yerr=s["std"], fmt="o" if reference is s else
                        "s", color=f"C{k % 10}", capsize=3, label=model.removesuffix(".yaml"))
        ax.axvline(1.0, color="0.6", linestyle=":")
        ax.set(xlabel=f"latency / YOLO11 of the same scale ({runtime}, 1 thread)", ylabel="mAP50-95", title=kind)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def report_figure(rows, plan, device, device_name, path):
    """Left: deployment latency against GFLOPs, one colour per backbone family, so cost per operation shows as
    height above the upstream line.  Right: every timed figure of every model as a time ratio to yolo11n."""
    deploy = deployment_metric(device, plan.sizes)
    metrics = timed_metrics(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.25 * len(rows) * len(metrics) / 2 + 3),
                                      layout="constrained")
    families = sorted({row["family"] for row in rows.values()}, key=lambda f: (f != "YOLO11", f))
    for family in families:
        upstream = family == "YOLO11"
        kind = "upstream YOLO11" if upstream else f"{family} backbone"
        chosen = {cfg: row for cfg, row in rows.items() if row["family"] == family}
        xs = [row["gflops"] for row in chosen.values()]
        ys = [row["timings"][deploy].seconds * 1000 for row in chosen.values()]
        left.plot(xs, ys, "o-" if upstream else "o", label=kind)
        for cfg, x, y in zip(chosen, xs, ys):
            left.annotate(_short(cfg), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    left.set(xscale="log", yscale="log", xlabel="GFLOPs at 640 (fused)", ylabel=f"{label(deploy, device)}, fastest run",
             title=f"{name(deploy, device)} latency, batch 1")
    for axis in (left.xaxis, left.yaxis):
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    left.set_box_aspect(1)
    left.grid(alpha=0.3, which="both")
    left.legend()
    names = list(rows)
    height = 0.8 / len(metrics)
    for k, metric in enumerate(metrics):
        ratios = [rows[cfg]["timings"][metric].ratio if metric in rows[cfg]["timings"] else 0 for cfg in names]
        text = "training, time per image" if metric == "train" else name(metric, device)
        right.barh([i + k * height for i in range(len(names))], ratios, height, label=text)
    right.axvline(1, color="black", linewidth=0.8)
    right.set_yticks([i + 0.4 - height / 2 for i in range(len(names))], [_short(cfg) for cfg in names], fontsize=8)
    right.invert_yaxis()
    right.set(xlabel=f"time relative to {REFERENCE} in the same rounds (lower is faster)",
              title="Time ratios (fastest runs, taken side by side)")
    right.grid(alpha=0.3, axis="x")
    right.legend(fontsize=8)
    fig.suptitle(f"Measured on {device_name} ({device.type.upper()})")
    _save(fig, path)


def _short(cfg):
    return cfg.removesuffix(".yaml").replace("yolo11", "")


def _save(fig, path):
    fig.savefig(path, dpi=120)
    plt.close(fig)
