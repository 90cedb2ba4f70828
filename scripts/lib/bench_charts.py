"""The charts of a benchmark run: scripts/bench, bench-io and bench-preload describe here the
figures they just measured (never constants or old runs); write() draws each as an 800 px wide
PNG in tests/bench/charts/ (--charts DIR, --no-charts). Debian's python3-matplotlib lives in the
system interpreter, not necessarily the one running the script (gevent too, for bench-io), so
write() runs this file under /usr/bin/python3 with the descriptions as JSON on standard input.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGE = "python3-matplotlib"
DEFAULT_DIR = os.path.join("tests", "bench", "charts")
# One colour per server or role, the same in every chart.
COLOURS = {"greenrun": "#1b9e77", "workers": "#0b5d46", "native": "#7570b3", "gevent": "#d95f02",
           "libuv": "#555555", "anchor": "#b0b0b0"}
LEGEND = {"greenrun": "greenrun (this run)", "anchor": "anchor (same run)"}


def add_options(ap):
    """--charts DIR and --no-charts."""
    ap.add_argument("--charts", metavar="DIR", default=DEFAULT_DIR,
                    help=f"where to write the PNG charts, relative to the checkout like "
                    f"--build-dir (default {DEFAULT_DIR})")
    ap.add_argument("--no-charts", action="store_true", help="write no charts")


def packages(opts):
    """The Debian packages the charts need: for the script's scripts/install-deps call."""
    return [] if opts.no_charts else [PACKAGE]


class Charts:
    """The charts of one run. `subtitle` (the machine and the date) goes under every title."""

    def __init__(self, opts, who, subtitle):
        self.dir = None if opts.no_charts else os.path.join(ROOT, opts.charts)
        self.who, self.subtitle, self.specs = who, subtitle, []

    def lines(self, name, title, xlabel, ylabel, series, logx=False, logy=False, notes=()):
        """A line chart. `series`: [{"label", "kind" (a COLOURS key), "points": [(x, y)]}];
        each point is labelled with its y. `notes`: lines of text under the chart."""
        self.specs.append(dict(type="lines", name=name, title=title, xlabel=xlabel,
                               ylabel=ylabel, series=series, logx=logx, logy=logy,
                               notes=list(notes)))

    def bars(self, name, title, xlabel, bars, unit, log=False, references=(), notes=()):
        """Horizontal bars, the first on top. `bars`: [{"label", "kind", "value", optionally
        "samples": [values shown as dots]}]; each bar is labelled with its value and `unit`.
        `references`: [(x, text)] drawn as dashed vertical lines (targets, not data);
        `notes`: lines of text under the chart."""
        self.specs.append(dict(type="bars", name=name, title=title, xlabel=xlabel, bars=bars,
                               unit=unit, log=log, references=list(references),
                               notes=list(notes)))

    def write(self):
        """Draws every chart described; prints where each went. False (with a line on stderr)
        if they could not be drawn."""
        if self.dir is None or not self.specs:
            return True
        os.makedirs(self.dir, exist_ok=True)
        job = {"dir": self.dir, "subtitle": self.subtitle, "charts": self.specs}
        try:
            p = subprocess.run([SYSTEM_PYTHON, os.path.abspath(__file__)], input=json.dumps(job),
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"{self.who}: charts: {e}", file=sys.stderr)
            return False
        if p.returncode != 0:
            print(f"{self.who}: charts: {SYSTEM_PYTHON} exited {p.returncode}: "
                  f"{p.stderr.strip()[-600:]}", file=sys.stderr)
            return False
        print()
        print("Charts:")
        for path in p.stdout.splitlines():
            print(f"  {os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path}")
        return True


def subtitle(machine, quick=False):
    """The date (UTC) and the machine, for under each title."""
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine}"
            f"{'; QUICK run, not for quoting' if quick else ''}")


# What runs under /usr/bin/python3 from here on.

def _style(plt):
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 9, "axes.labelsize": 10,
                         "legend.fontsize": 9, "figure.titlesize": 13,
                         "figure.titleweight": "bold", "axes.spines.top": False,
                         "axes.spines.right": False})


def _figure(plt, spec, subtitle, height):
    fig, ax = plt.subplots(figsize=(8, height), dpi=100, layout="constrained")
    fig.suptitle(spec["title"])
    # Broken at "; " into lines that fit over the narrowest axes (beside long bar labels).
    lines = [""]
    for part in subtitle.split("; "):
        if lines[-1] and len(lines[-1]) + 2 + len(part) > 75:
            lines.append("")
        lines[-1] += ("; " if lines[-1] else "") + part
    ax.set_title("\n".join(lines), color="0.35")
    return fig, ax


def _notes(fig, notes):
    """Notes under the chart, where they cannot cover a bar or a point."""
    if notes:
        fig.supxlabel("\n".join(notes), x=0.01, ha="left", fontsize=9, color="0.25")


def _number(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def _lines(plt, spec, subtitle):
    from matplotlib.ticker import FuncFormatter, NullLocator
    fig, ax = _figure(plt, spec, subtitle, 5.0 + 0.17 * len(spec["notes"]))
    xs_all = sorted({x for s in spec["series"] for x, _ in s["points"]})
    for s in spec["series"]:
        xs, ys = zip(*s["points"])
        ax.plot(xs, ys, marker="o", lw=2, ms=6, color=COLOURS[s["kind"]], label=s["label"])
    if spec["logx"]:
        ax.set_xscale("log")
        ax.margins(x=0.12)
    if spec["logy"]:
        ax.set_yscale("log")
        ax.margins(y=0.15)
    else:  # headroom for the legend above the lines
        ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.3)
    ax.set_xticks(xs_all)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best" if spec["logy"] else "upper center", ncols=1 if spec["logy"] else 2)
    _notes(fig, spec["notes"])
    # Each point's value: the highest above its point, the others below theirs, each at least
    # a line of text below the one before it, so that close values do not overprint.
    fig.canvas.draw()
    for x in xs_all:
        here = sorted(((ax.transData.transform((x, y))[1], y, s["kind"]) for s in spec["series"]
                       for px, y in s["points"] if px == x), reverse=True)
        last = None
        for i, (py, y, kind) in enumerate(here):
            at = py + 12 if i == 0 else py - 12
            if last is not None:
                at = min(at, last - 12)
            last = at
            ax.annotate(_number(y), (x, y), xytext=(0, at - py), textcoords="offset pixels",
                        ha="center", va="center", fontsize=8, color=COLOURS[kind],
                        bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.8))
    return fig


def _bars(plt, spec, subtitle):
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter
    bars = spec["bars"]
    fig, ax = _figure(plt, spec, subtitle,
                      max(4.0, 1.6 + 0.42 * len(bars)) + 0.17 * len(spec["notes"]))
    ys = list(range(len(bars)))[::-1]
    values = [b["value"] for b in bars]
    ax.barh(ys, values, height=0.65, color=[COLOURS[b["kind"]] for b in bars])
    ax.set_yticks(ys, [b["label"] for b in bars])
    for y, b in zip(ys, bars):
        ax.annotate(f"{_number(b['value'])} {spec['unit']}", (b["value"], y),
                    textcoords="offset points", xytext=(4, 0), va="center", fontsize=9,
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
        for s in b.get("samples", []):
            ax.plot([s], [y], marker="o", ms=4, color="black", alpha=0.6, ls="none")
    for x, text in spec["references"]:
        ax.axvline(x, ls="--", lw=1.2, color="#c0392b")
        ax.annotate(text, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                    textcoords="offset points", va="top", fontsize=8, color="#c0392b")
    if spec["log"]:
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 1.6, max(values) * 4)
    else:
        ax.set_xlim(0, max(values + [s for b in bars for s in b.get("samples", [])]) * 1.25)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    ax.set_xlabel(spec["xlabel"])
    ax.grid(True, axis="x", which="major", alpha=0.3)
    kinds = list(dict.fromkeys(b["kind"] for b in bars))
    if all(k in LEGEND for k in kinds):
        ax.legend(handles=[Patch(color=COLOURS[k], label=LEGEND[k]) for k in kinds],
                  loc="upper right")
    _notes(fig, spec["notes"])
    return fig


def _draw(job):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _style(plt)
    for spec in job["charts"]:
        fig = (_lines if spec["type"] == "lines" else _bars)(plt, spec, job["subtitle"])
        path = os.path.join(job["dir"], spec["name"] + ".png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        print(path)


if __name__ == "__main__":
    _draw(json.load(sys.stdin))
