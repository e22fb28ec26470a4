"""What ``yolo-repvit compare`` writes into its ``--out`` folder: compare.csv (one row per model and seed),
compare.md (means, spread over seeds, latency ratios, the accuracy-latency front) and the plot pareto.png."""

import csv
import statistics
from pathlib import Path

COLUMNS = ("model", "seed", "mAP50-95", "mAP50", "latency_ms", "params", "GFLOPs", "train_s")


def rows(records, models, measured):
    """One row per record, in the order given, named as the models were given; ``measured[key]`` holds the
    record's latency, parameters and GFLOPs as deployed."""
    named = dict(zip(dict.fromkeys(r["run"]["model"] for r in records), models))
    return [{"model": named[r["run"]["model"]], "seed": r["run"]["seed"], "mAP50-95": round(r["map"], 4),
             "mAP50": round(r["map50"], 4), "latency_ms": round(measured[r["key"]][0], 2),
             "params": measured[r["key"]][1], "GFLOPs": measured[r["key"]][2], "train_s": r["train_seconds"]}
            for r in records]


def summary(table, models):
    """Per model, in ``models`` order: means over seeds, the spread of mAP50-95, and whether it is on the front."""
    found = []
    for model in models:
        mine = [row for row in table if row["model"] == model]
        maps = [row["mAP50-95"] for row in mine]
        found.append({"model": model, "seeds": len(mine), "map": statistics.fmean(maps),
                      "std": statistics.stdev(maps) if len(maps) > 1 else 0.0, "min": min(maps), "max": max(maps),
                      "map50": statistics.fmean(row["mAP50"] for row in mine),
                      "latency": statistics.fmean(row["latency_ms"] for row in mine),
                      "params": mine[0]["params"], "gflops": mine[0]["GFLOPs"],
                      "train_s": statistics.fmean(row["train_s"] for row in mine)})
    for s in found:
        s["front"] = not any(o is not s and o["map"] >= s["map"] and o["latency"] <= s["latency"]
                             and (o["map"] > s["map"] or o["latency"] < s["latency"]) for o in found)
    return found


def write(out, table, models, settings):
    """Write the three files into ``out``; return the summary."""
    out = Path(out)
    with open(out / "compare.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    found = summary(table, models)
    (out / "compare.md").write_text(markdown(found, settings))
    plot(found, out / "pareto.png", settings)
    return found


def markdown(found, settings):
    first = found[0]["latency"]
    lines = ["# yolo-repvit compare", "", "```bash", settings["command"], "```", "",
             f"Data `{settings['data']}`; {settings['epochs']} epochs at {settings['imgsz']} px, batch "
             f"{settings['batch']}, training arguments {settings['train'] or 'ultralytics defaults'}; mAP of each "
             f"run's `best.pt` on the data's validation split. Latency: batch 1 at {settings['latency_imgsz']} px, "
             f"{settings['format']} export, {settings['threads']} thread(s) on pinned cores, every model timed side by "
             f"side in one process, the fastest of {settings['rounds']} rounds; ratios are to `{found[0]['model']}`. "
             "Params and GFLOPs of the fused model at the latency size.", "",
             "| model | seeds | mAP50-95 mean ± std | min-max | mAP50 | latency ms | latency ratio | params (M) "
             "| GFLOPs | train s | on the front |", "|" + "---|" * 11]
    for s in found:
        cells = (f"`{s['model']}`", s["seeds"], f"{s['map']:.3f} ± {s['std']:.3f}", f"{s['min']:.3f}-{s['max']:.3f}",
                 f"{s['map50']:.3f}", f"{s['latency']:.1f}", f"{s['latency'] / first:.2f}x", f"{s['params'] / 1e6:.2f}",
                 f"{s['gflops']:.1f}", f"{s['train_s']:.0f}", "yes" if s["front"] else "")
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "*On the front*: no other model has a higher mean mAP50-95 at no more latency (or less latency at no "
              "lower mAP50-95).", "", "Machine: " + settings["machine"], ""]
    return "\n".join(lines)


def plot(found, path, settings):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    front = sorted((s for s in found if s["front"]), key=lambda s: s["latency"])
    ax.plot([s["latency"] for s in front], [s["map"] for s in front], "-", color="0.7", zorder=1, label="front")
    for s in found:
        ax.errorbar(s["latency"], s["map"], yerr=s["std"], fmt="o", capsize=3, zorder=2)
        ax.annotate(Path(s["model"]).stem, (s["latency"], s["map"]), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)
    ax.set_xlabel(f"latency, ms ({settings['format']}, {settings['latency_imgsz']} px, {settings['threads']} thread)")
    ax.set_ylabel("mAP50-95 (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
