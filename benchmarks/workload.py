# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The user's job at real size: scribbles on 2 images, masks for all N.

A collection of N images (grey nuclei mosaics or RGB texture mosaics of
real images, see ``_workload_data.py`` for the data and their licences) is
scribbled on its first two images, and every method produces a mask for
every image of the collection:

- ``fit_predict``: ``iter_fit_predict(make_segmenter(random_state=0),
  images, labels)`` on all N images (N - 2 of them unlabeled), the
  streaming form of ``fit_predict``: masks one at a time;
- ``fit+predict``: ``make_segmenter(random_state=0).fit`` on the two
  scribbled images and ``--fit-images`` - 2 unlabeled ones, then
  ``predict`` on all N images (the fitted ones included, so that every
  method delivers the same N masks);
- ``skimage``: scikit-image's trainable segmentation
  (:func:`semiseg_sk.baselines.skimage_trainable_segmentation`), trained on
  the two scribbled images, predicting all N;
- ``ilastik``: the ilastik-style pixel classifier
  (:func:`semiseg_sk.baselines.ilastik_pixel_classification`), the same.

The anchors run with their defaults, as ``accuracy.py`` runs them (forests
on every core, ``n_jobs=-1``); ``make_segmenter`` with its default
``n_jobs=None`` unless ``--n-jobs`` is given.

Each measurement is a fresh process that reads the cached collection into
ordinary memory (images uint8 as a user's files are, label maps int8, -1 =
unlabeled: the "inputs"), then runs the method once. Wall time is the
method's call, from the image arrays to the masks (scoring excluded).
Peak RSS is the process's high-water mark (``VmHWM``, which starts afresh
at ``exec``; ``ru_maxrss`` elsewhere), taken after the masks are
delivered; "beyond inputs" subtracts the bytes of the input arrays (the
interpreter and the imported libraries stay in it). mIoU is
:func:`semiseg_sk.metrics.mean_iou` over all pixels of all N images,
accumulated one mask at a time so that a method that yields its masks
one by one is measured the same way. ``--repeats`` processes per point;
the table gives medians.

The default design varies N at ``--fixed-size`` and the image size at
``--fixed-n`` (``--design grid`` runs every combination). Every
measurement is written to ``--results`` (JSON lines), from which ``--replot`` rebuilds
the table and the two plots (time and peak memory against N, and against
image size) without running anything.

Usage::

    python benchmarks/fetch_data.py      # once: the nuclei image
    python benchmarks/workload.py --quick
    python benchmarks/workload.py --n 10 --size 1024 --channels 1 --repeats 1
    python benchmarks/workload.py        # N 10,50,200 at 1024; sizes at N=10
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METHODS = ("fit_predict", "fit+predict", "skimage", "ilastik")
QUICK = dict(n="4", size="256", channels="1", repeats=1, fixed_size=256, fixed_n=4)


# ---------------------------------------------------------------- worker


def _run_method(method, images, labels, fit_images, n_jobs):
    """Run one method on the collection; return (masks, seconds of fit, predict)."""
    from semiseg_sk import iter_fit_predict, iter_predict, make_segmenter
    from semiseg_sk.baselines import (
        ilastik_pixel_classification,
        skimage_trainable_segmentation,
    )

    scribbled = [i for i, lab in enumerate(labels) if (lab >= 0).any()]
    tic = time.perf_counter()
    # semiseg_sk's masks stream (a generator, consumed and scored one by one
    # by the caller): the user's job writes each mask as it comes.
    if method == "fit_predict":
        seg = make_segmenter(random_state=0, n_jobs=n_jobs)
        outputs = iter_fit_predict(seg, images, labels)
        return (o.mask for o in outputs), time.perf_counter() - tic, 0.0
    if method == "fit+predict":
        seg = make_segmenter(random_state=0, n_jobs=n_jobs)
        k = max(fit_images, len(scribbled))
        seg.fit(images[:k], labels[:k])
        fit_s = time.perf_counter() - tic
        return (o.mask for o in iter_predict(seg, images)), fit_s, 0.0
    anchor = {
        "skimage": skimage_trainable_segmentation,
        "ilastik": ilastik_pixel_classification,
    }[method]
    train = [images[i] for i in scribbled]
    masks = anchor(train, [labels[i] for i in scribbled], images, random_state=0)
    return masks, time.perf_counter() - tic, 0.0


def _iou_from_confusion(confusion):
    """Mean IoU as semiseg_sk.metrics.mean_iou defines it, from pooled counts.

    ``confusion[t, p + 1]`` counts labeled pixels of true class ``t``
    predicted ``p`` (column 0: predicted -1, a miss for every class).
    """
    n_classes = confusion.shape[0]
    tp = np.diag(confusion[:, 1:])
    fn = confusion.sum(axis=1) - tp
    fp = confusion[:, 1:].sum(axis=0)[:n_classes] - tp
    union = tp + fp + fn
    return float(np.mean(tp[union > 0] / union[union > 0]))


def _cpu_seconds():
    """CPU seconds of this process, all its threads together."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(spec):
    """One measurement in this process; prints one JSON line."""
    sys.path.insert(0, str(HERE))
    from _workload_data import load_inputs, read_npy
    from bench_neighbors import rss_mb

    import semiseg_sk  # noqa: F401  (imports count in the baseline, not the peak)
    from semiseg_sk.metrics import mean_iou

    folder = Path(spec["folder"])
    n_classes = json.loads((folder / "meta.json").read_text())["n_classes"]
    base_mb = rss_mb()
    images, labels, input_bytes = load_inputs(folder, spec["n"])
    cpu = _cpu_seconds()
    start = time.perf_counter()
    masks, fit_s, predict_s = _run_method(
        spec["method"], images, labels, spec["fit_images"], spec["n_jobs"]
    )
    # Masks are scored as they come (a generator is consumed here); the time
    # spent scoring is not the method's.
    confusion = np.zeros((n_classes, n_classes + 1), dtype=np.int64)
    scoring = 0.0
    count = 0
    for i, mask in enumerate(masks):
        tic = time.perf_counter()
        truth = read_npy(folder / "truths.npy", i, 1)[0]
        mask = np.asarray(mask)
        labeled = truth >= 0
        codes = truth[labeled].astype(np.int64) * (n_classes + 1) + mask[labeled] + 1
        confusion += np.bincount(codes, minlength=confusion.size).reshape(
            confusion.shape
        )
        count += 1
        scoring += time.perf_counter() - tic
    wall_s = time.perf_counter() - start - scoring
    cpu_s = _cpu_seconds() - cpu - scoring
    peak_mb = rss_mb("VmHWM")
    miou = _iou_from_confusion(confusion)
    if isinstance(masks, list) and len(masks) <= 50:
        # A list of masks: check the pooled counts against the library's metric.
        truths = list(read_npy(folder / "truths.npy", 0, len(masks)))
        check = mean_iou(truths, masks)
        assert abs(check - miou) < 1e-9, (check, miou)
    assert count == spec["n"], f"{spec['method']} gave {count} masks for {spec['n']}"
    out = dict(
        spec,
        wall_s=wall_s,
        cpu_s=cpu_s,
        fit_s=fit_s,
        predict_s=predict_s,
        base_mb=base_mb,
        peak_mb=peak_mb,
        input_mb=input_bytes / 2**20,
        beyond_mb=peak_mb - input_bytes / 2**20,
        miou=miou,
    )
    out.pop("folder")
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------- parent


def _subprocess(args, timeout):
    return subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def ensure_data(kind, n, size, seed, timeout):
    """The collection's folder, generated in a child process if not cached."""
    sys.path.insert(0, str(HERE))
    from _workload_data import collection_dir

    spec = json.dumps(dict(kind=kind, n=n, size=size, seed=seed))
    _subprocess(["--make-data", spec], timeout)
    return collection_dir(kind, size, seed)


def _rss_gb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:  # not Linux, or the process has ended
        pass
    return 0.0


def measure(spec, timeout, max_rss_gb):
    """One fresh process; the result dict, or a dict with ``skip``.

    The process is killed when it runs past ``timeout`` seconds or its
    resident memory passes ``max_rss_gb`` (checked twice a second), so
    that one method cannot exhaust a shared machine.
    """
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        start = time.monotonic()
        skip = None
        while proc.poll() is None:
            if time.monotonic() - start > timeout:
                skip = f"timeout (> {timeout:.0f} s)"
            elif _rss_gb(proc.pid) > max_rss_gb:
                skip = f"killed: RSS over {max_rss_gb:.1f} GB"
            if skip:
                proc.kill()
                proc.wait()
                return dict(spec, skip=skip)
            time.sleep(0.5)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            tail = (err.read().strip().splitlines() or ["?"])[-1]
            return dict(spec, skip=f"failed: {tail[:120]}")
        return json.loads(out.read().strip().splitlines()[-1])


def _memory_gb():
    """Total memory of this machine in GB (Linux), or None."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def points(args):
    """(n, size, channels) of every measurement, in run order."""
    ns, sizes, channels = args.n, args.size, args.channels
    if args.design == "grid":
        pairs = [(n, s) for s in sizes for n in ns]
    else:
        pairs = [(n, args.fixed_size) for n in ns]
        pairs += [(args.fixed_n, s) for s in sizes if (args.fixed_n, s) not in pairs]
    return [(n, s, c) for c in channels for n, s in pairs]


def _key(row):
    return (row["method"], row["n"], row["size"], row["channels"])


def summarize(rows):
    """Medians over repeats: {(method, n, size, channels): dict}."""
    groups = {}
    for row in rows:
        groups.setdefault(_key(row), []).append(row)
    summary = {}
    for key, group in groups.items():
        done = [r for r in group if "skip" not in r]
        if not done:
            summary[key] = dict(skip=group[-1]["skip"])
            continue
        med = {
            f: statistics.median(r.get(f, float("nan")) for r in done)
            for f in (
                "wall_s",
                "cpu_s",
                "peak_mb",
                "input_mb",
                "beyond_mb",
                "miou",
                "base_mb",
            )
        }
        med["repeats"] = len(done)
        med["s_per_mp"] = med["wall_s"] / (key[1] * key[2] ** 2 / 1e6)
        summary[key] = med
    return summary


def table(summary):
    head = (
        "| method | N | size | channels | wall s | CPU s | s per MP | peak RSS MB | "
        "inputs MB | peak beyond inputs MB | mIoU | repeats |"
    )
    lines = [head, "|---|" + "---:|" * 11]
    order = sorted(summary, key=lambda k: (k[3], k[2], k[1], METHODS.index(k[0])))
    for key in order:
        method, n, size, channels = key
        s = summary[key]
        cells = f"| {method} | {n} | {size}² | {channels} |"
        if "skip" in s:
            lines.append(cells + f" {s['skip']} |" + " |" * 7)
            continue
        lines.append(
            cells + f" {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['s_per_mp']:.2f} | "
            f"{s['peak_mb']:.0f} | "
            f"{s['input_mb']:.1f} | {s['beyond_mb']:.0f} | {s['miou']:.3f} | "
            f"{s['repeats']} |"
        )
    return "\n".join(lines)


def plot(summary, folder, fixed_size, fixed_n):
    """Two PNGs: time and peak memory against N, and against image size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    styles = {1: "-", 3: "--"}
    for axis, fixed, name in (
        ("n", ("size", fixed_size), "workload_vs_n.png"),
        ("size", ("n", fixed_n), "workload_vs_size.png"),
    ):
        fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
        ticks = {}
        for m_i, method in enumerate(METHODS):
            for channels, style in styles.items():
                pts = sorted(
                    (k[1] if axis == "n" else k[2], s)
                    for k, s in summary.items()
                    if k[0] == method
                    and k[3] == channels
                    and "skip" not in s
                    and (k[2] if fixed[0] == "size" else k[1]) == fixed[1]
                )
                if not pts:
                    continue
                xs = [x if axis == "n" else x * x / 1e6 for x, _ in pts]
                ticks.update(
                    (x, str(v) if axis == "n" else f"{v}²")
                    for x, (v, _) in zip(xs, pts)
                )
                label = f"{method} ({'grey' if channels == 1 else 'RGB'})"
                kw = dict(ls=style, marker="o", color=f"C{m_i}", label=label)
                ax_t.plot(xs, [s["wall_s"] for _, s in pts], **kw)
                ax_m.plot(xs, [s["beyond_mb"] for _, s in pts], **kw)
        if not ticks:
            plt.close(fig)
            continue
        xlabel = (
            f"images N (each {fixed[1]}²)"
            if axis == "n"
            else f"image size, log of its pixels ({fixed[1]} images)"
        )
        # Time on log-log axes (linear growth is a line of slope 1); memory
        # on a linear axis from 0, where flat memory looks flat.
        for ax, ylabel in (
            (ax_t, "wall time (s)"),
            (ax_m, "peak RSS beyond inputs (MB)"),
        ):
            ax.set_xscale("log")
            ax.set_xticks(sorted(ticks), [ticks[x] for x in sorted(ticks)])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
        ax_t.set_yscale("log")
        ax_t.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax_t.yaxis.set_major_formatter(ScalarFormatter())
        ax_t.yaxis.set_minor_formatter(NullFormatter())
        ax_m.set_ylim(bottom=0)
        ax_t.legend(fontsize=7)
        fig.suptitle("Scribbles on 2 images, masks for all of them")
        fig.tight_layout()
        fig.savefig(folder / name, dpi=120)
        plt.close(fig)
        written.append(folder / name)
    return written


def _ints(text):
    return [int(v) for v in str(text).split(",") if v]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("--n", default="10,50,200", help="numbers of images N")
    parser.add_argument("--size", default="512,1024,2048", help="image sides")
    parser.add_argument("--channels", default="1,3", help="1 (grey), 3 (RGB)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--design", choices=("cross", "grid"), default="cross")
    parser.add_argument("--fixed-size", type=int, default=1024)
    parser.add_argument("--fixed-n", type=int, default=10)
    parser.add_argument(
        "--fit-images",
        type=int,
        default=10,
        help="images given to fit in fit+predict (the 2 scribbled ones first)",
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="make_segmenter's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument(
        "--timeout", type=float, default=4 * 3600, help="seconds per process"
    )
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=None,
        help="kill a method's process above this resident memory (default: "
        "80%% of the machine's memory) and report it as skipped",
    )
    parser.add_argument("--plots", default=str(HERE / "_plots"))
    parser.add_argument("--results", default=str(HERE / "_out" / "workload.jsonl"))
    parser.add_argument(
        "--append",
        action="store_true",
        help="add to --results instead of starting it afresh (medians then "
        "pool the earlier runs)",
    )
    parser.add_argument(
        "--replot", action="store_true", help="table and plots from --results only"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N=4 at 256², grey (add --channels 1,3 for RGB), one "
        "repeat, results in _out/workload_quick.jsonl",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--make-data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    if args.make_data:
        sys.path.insert(0, str(HERE))
        from _workload_data import make_collection

        spec = json.loads(args.make_data)
        return make_collection(spec["kind"], spec["n"], spec["size"], spec["seed"])
    if args.quick:
        given = sys.argv[1:] if argv is None else argv
        for key, value in QUICK.items():
            if not any(a.startswith("--" + key.replace("_", "-")) for a in given):
                setattr(args, key, value)
        if not any(a.startswith("--results") for a in given):
            args.results = str(HERE / "_out" / "workload_quick.jsonl")
    args.n, args.size, args.channels = (
        _ints(args.n),
        _ints(args.size),
        _ints(args.channels),
    )
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; expected {METHODS}")
    results = Path(args.results)
    command = "python benchmarks/workload.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if not args.replot:
        sys.path.insert(0, str(HERE))
        from _workload_data import KINDS
        from accuracy import machine

        results.parent.mkdir(parents=True, exist_ok=True)
        max_rss = args.max_rss_gb or 0.8 * (_memory_gb() or float("inf"))
        if not args.append:
            results.write_text("")
        about = machine().replace("over seeds", "over repeats")
        print(f"# {command}\n# {about}\n# load average {os.getloadavg()}")
        for n, size, channels in points(args):
            kind = KINDS[channels]
            folder = ensure_data(kind, n, size, args.seed, args.timeout)
            for repeat in range(args.repeats):
                for method in methods:
                    spec = dict(
                        method=method,
                        n=n,
                        size=size,
                        channels=channels,
                        kind=kind,
                        seed=args.seed,
                        fit_images=args.fit_images,
                        n_jobs=args.n_jobs,
                        repeat=repeat,
                        folder=str(folder),
                    )
                    row = measure(spec, args.timeout, max_rss)
                    row.pop("folder", None)
                    row["load"] = os.getloadavg()[0]
                    with results.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(_progress(row), flush=True)
        print(f"# load average at the end: {os.getloadavg()}")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line]
    wanted = (
        {(m, n, s, c) for n, s, c in points(args) for m in methods}
        if not args.replot
        else None
    )
    rows = [r for r in rows if wanted is None or _key(r) in wanted]
    summary = summarize(rows)
    print(table(summary))
    for path in plot(summary, Path(args.plots), args.fixed_size, args.fixed_n):
        print(f"wrote {path}")
    return summary


def _progress(row):
    head = f"{row['method']:12s} N={row['n']:4d} {row['size']}² c={row['channels']}"
    if "skip" in row:
        return f"{head} {row['skip']}"
    return (
        f"{head} {row['wall_s']:8.1f} s ({row['cpu_s']:.0f} s CPU)  "
        f"peak {row['peak_mb']:7.0f} MB  "
        f"beyond inputs {row['beyond_mb']:7.0f} MB  mIoU {row['miou']:.3f}  "
        f"(load {row['load']:.1f})"
    )


if __name__ == "__main__":
    main()
