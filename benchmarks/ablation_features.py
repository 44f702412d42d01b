# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Feature ablation: which region feature blocks earn their place (issue 15).

The full default pipeline, ``make_segmenter(random_state=seed,
autoencoder=False)`` with its RegionClassifier (label spreading, pixel
refinement, edge snapping), with only the feature steps varied between
Superpixels/RegionStats and the RegionClassifier:

- ``stats``: RegionStats only (the pipeline as made);
- ``+autoencoder``, ``+gan``, ``+pretrained``: one learned step added
  (AutoencoderFeatures, GANFeatures, PretrainedFeatures at their defaults);
- ``+kmeans``, ``+gabor``: the two reference banks of issue 15, defined
  here: filters learned by k-means from whitened patches of all images
  (Coates & Ng 2011) and a fixed Gabor bank, rectified responses pooled per
  region (mean, standard deviation);
- ``all``: every learned step available, ungated;
- ``gated``: every learned step available, then FeatureGate; its region
  estimator is SparseLabelSpreading without a second StandardScaler (the
  gate standardises and weights the blocks itself).

Steps that cannot be imported are skipped with a note. Reports mIoU per
task (mean over seeds), the mean over tasks, the change against ``stats``,
time per described image (fit + predict over the images each run computes
features for) and the blocks the gate chose. Writes
``benchmarks/results_features.md``.

Usage::

    nice -n 10 .venv/bin/python benchmarks/ablation_features.py \
        --seeds 10 11 12 13 14 --tasks mosaics nuclei quokka-single photos-multiclass
"""

import argparse
import pickle
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve
from skimage.filters import gabor_kernel
from skimage.transform import resize
from skimage.util import view_as_windows
from sklearn.base import BaseEstimator
from sklearn.cluster import MiniBatchKMeans
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import TASKS, images_described, is_transductive  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402
from semiseg_sk.base import RegionFeatureMixin  # noqa: E402
from semiseg_sk.labeling import SparseLabelSpreading  # noqa: E402
from semiseg_sk.metrics import mean_iou  # noqa: E402
from semiseg_sk.utils._image import as_feature_image, channels_last  # noqa: E402

HERE = Path(__file__).resolve().parent


# -- the two reference banks ----------------------------------------------------


def _region_pool(regions, responses, prefix):
    mean, std = regions.mean_std(responses)
    k = responses.shape[-1]
    names = [f"{prefix}{i}_mean" for i in range(k)] + [
        f"{prefix}{i}_std" for i in range(k)
    ]
    return np.hstack([mean, std]), names


def _grey(image):
    """Luminance in [0, 1]: L of CIE Lab for colour, the image itself for grey."""
    image = channels_last(as_feature_image(image, True))
    return image[..., 0]


class GaborBank(RegionFeatureMixin, BaseEstimator):
    """Fixed Gabor bank: magnitudes at 4 orientations x 4 frequencies, pooled."""

    def __init__(self, frequencies=(0.05, 0.1, 0.2, 0.35), n_orientations=4):
        self.frequencies = frequencies
        self.n_orientations = n_orientations

    def _kernels(self):
        return [
            gabor_kernel(f, theta=np.pi * t / self.n_orientations)
            for f in self.frequencies
            for t in range(self.n_orientations)
        ]

    def fit(self, X, y=None):
        X = self._check_fit_input(X)
        k = len(self.frequencies) * self.n_orientations
        self.block_feature_names_ = [f"gabor{i}_mean" for i in range(k)] + [
            f"gabor{i}_std" for i in range(k)
        ]
        return self

    def transform(self, X):
        X = self._check_transform_input(X)
        kernels = self._kernels()
        out = []
        for regions in X:
            grey = _grey(regions.image)
            grey = grey - grey.mean()
            responses = np.stack(
                [np.abs(fftconvolve(grey, kern, mode="same")) for kern in kernels],
                axis=-1,
            )
            block, _ = _region_pool(regions, responses, "gabor")
            out.append(self._append_block(regions, block))
        return out


class KMeansBank(RegionFeatureMixin, BaseEstimator):
    """Coates & Ng (2011) single layer: k-means filters of whitened patches.

    Patches of ``patch_size`` pixels are drawn from every image at 3 scales
    (the image downsampled 1, 2 and 4 times), each normalised (mean 0,
    variance 1) and ZCA-whitened; k-means on them gives ``n_filters`` filters
    per scale. A pixel's response to filter k is its normalised, whitened
    patch dotted with centroid k, minus the mean over centroids, rectified
    ("triangle" encoding, without distances); responses are upsampled back
    and pooled per region.
    """

    def __init__(
        self,
        n_filters=16,
        patch_size=7,
        scales=(1, 2, 4),
        n_patches=20000,
        random_state=None,
    ):
        self.n_filters = n_filters
        self.patch_size = patch_size
        self.scales = scales
        self.n_patches = n_patches
        self.random_state = random_state

    def _planes(self, image, scale):
        image = channels_last(as_feature_image(image, True)).astype(np.float32)
        if scale > 1:
            shape = tuple(max(s // scale, self.patch_size) for s in image.shape[:2])
            image = resize(image, shape + image.shape[2:], anti_aliasing=True)
        return image

    def _normalise(self, P):
        """Per-patch brightness and contrast normalisation (Coates & Ng)."""
        P = P - P.mean(axis=1, keepdims=True)
        return P / np.sqrt((P * P).mean(axis=1, keepdims=True) + 10.0 / 255**2)

    def fit(self, X, y=None):
        X = self._check_fit_input(X)
        rng = check_random_state(self.random_state)
        p = self.patch_size
        idx = np.arange(p)
        self.filters_ = []
        for scale in self.scales:
            patches = []
            per_image = max(self.n_patches // len(X), 1)
            for regions in X:
                image = self._planes(regions.image, scale)
                h, w = image.shape[:2]
                r = rng.randint(0, h - p + 1, per_image)
                c = rng.randint(0, w - p + 1, per_image)
                window = image[r[:, None, None] + idx[:, None], c[:, None, None] + idx]
                patches.append(window.reshape(per_image, -1))
            P = self._normalise(np.vstack(patches))
            mean = P.mean(axis=0)
            d, V = np.linalg.eigh(np.cov(P, rowvar=False))
            zca = V @ np.diag(1.0 / np.sqrt(d + 0.1)) @ V.T
            km = MiniBatchKMeans(
                self.n_filters,
                n_init=1,
                random_state=int(rng.randint(2**31 - 1)),
                batch_size=2048,
            ).fit((P - mean) @ zca)
            # Response of a normalised patch x: (x - mean) @ zca @ centroids.T.
            weights = (zca @ km.cluster_centers_.T).astype(np.float32)
            self.filters_.append((mean.astype(np.float32), weights))
        k = self.n_filters * len(self.scales)
        self.block_feature_names_ = [f"kmeans{i}_mean" for i in range(k)] + [
            f"kmeans{i}_std" for i in range(k)
        ]
        return self

    def _responses(self, image, scale, filters, rows=64):
        mean, weights = filters
        planes = self._planes(image, scale)
        p = self.patch_size
        h, w = planes.shape[:2]
        padded = np.pad(
            planes,
            ((p // 2, p - 1 - p // 2), (p // 2, p - 1 - p // 2), (0, 0)),
            mode="reflect",
        )
        windows = view_as_windows(padded, (p, p, planes.shape[2]))[:, :, 0]
        z = np.empty((h, w, weights.shape[1]), dtype=np.float32)
        for r in range(0, h, rows):
            P = windows[r : r + rows].reshape(-1, weights.shape[0])
            z[r : r + rows] = ((self._normalise(P) - mean) @ weights).reshape(
                -1, w, weights.shape[1]
            )
        z = np.maximum(z - z.mean(axis=-1, keepdims=True), 0.0)
        if scale > 1:
            z = resize(z, image.shape[:2] + (z.shape[-1],), order=1)
        return z

    def transform(self, X):
        X = self._check_transform_input(X)
        out = []
        for regions in X:
            z = np.concatenate(
                [
                    self._responses(regions.image, s, f)
                    for s, f in zip(self.scales, self.filters_)
                ],
                axis=-1,
            )
            block, _ = _region_pool(regions, z, "kmeans")
            out.append(self._append_block(regions, block))
        return out


# -- the learned steps, where they exist -----------------------------------------


def _learned_steps():
    """{name: factory(seed) -> step}, and notes on the steps that are missing."""
    steps, notes = {}, []

    def autoencoder(seed):
        from semiseg_sk.features import AutoencoderFeatures

        return AutoencoderFeatures(random_state=seed)

    def gan(seed):
        from semiseg_sk.features.gan import GANFeatures

        return GANFeatures(random_state=seed)

    def pretrained(seed):
        from semiseg_sk.features._pretrained import PretrainedFeatures

        return PretrainedFeatures()

    for name, factory in (
        ("autoencoder", autoencoder),
        ("gan", gan),
        ("pretrained", pretrained),
    ):
        try:
            factory(0)
        except Exception as exc:  # noqa: BLE001 - any failure skips the step
            notes.append(f"`+{name}` skipped: {type(exc).__name__}: {exc}")
            continue
        steps[name] = factory
    return steps, notes


REFERENCES = {
    "kmeans": lambda seed: KMeansBank(random_state=seed),
    "gabor": lambda seed: GaborBank(),
}


def _variants(learned):
    """{name: (description, blocks, gated)}."""
    out = {"stats": ("RegionStats only: make_segmenter(autoencoder=False)", [], False)}
    for name in learned:
        out[f"+{name}"] = (f"RegionStats + {name}", [name], False)
    out["+kmeans"] = (
        "RegionStats + k-means filter bank (reference)",
        ["kmeans"],
        False,
    )
    out["+gabor"] = ("RegionStats + Gabor bank (reference)", ["gabor"], False)
    names = ", ".join(learned) or "no learned step (none importable)"
    if len(learned) > 1:
        out["all"] = (f"RegionStats + {names}, ungated", list(learned), False)
    out["gated"] = (f"RegionStats + {names}, then FeatureGate", list(learned), True)
    out["gated-refs"] = (
        "RegionStats + k-means + Gabor references, then FeatureGate",
        ["kmeans", "gabor"],
        True,
    )
    out["gated-all"] = (
        f"RegionStats + {names} + k-means + Gabor, then FeatureGate",
        [*learned, "kmeans", "gabor"],
        True,
    )
    return out


def _timed(function, *args):
    tic = time.perf_counter()
    out = function(*args)
    return out, time.perf_counter() - tic


def _block(step, train, test, labels):
    """Fit one feature step on the training Regions; its new columns."""
    tr = step.fit_transform(train, labels)
    te = None if test is None else step.transform(test)
    k = tr[0].features.shape[1] - train[0].features.shape[1]
    cut = lambda regions: [r.features[:, -k:] for r in regions]  # noqa: E731
    return {
        "train": cut(tr),
        "test": None if te is None else cut(te),
        "names": list(tr[0].feature_names[-k:]),
    }


def _cached_block(cache, task, seed, name, factory, train, test, labels):
    """The block of step ``name`` for (task, seed), from ``cache`` if there."""
    path = None if cache is None else Path(cache) / f"{task}_{seed}_{name}.pkl"
    if path is not None and path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block, seconds = _timed(_block, factory(seed), train, test, labels)
    block["seconds"] = seconds
    block["git"] = _STARTED_AT
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(block, fh)
    return block


def _with_blocks(regions, blocks, part):
    out = regions
    for block in blocks:
        out = [r.with_features(b, block["names"]) for r, b in zip(out, block[part])]
    return out


def _classify(seed, data, train, test, gated):
    """Gate (optionally) and the default RegionClassifier; the test masks."""
    kwargs = {}
    if gated:
        kwargs["estimator"] = SparseLabelSpreading(
            spatial_weight=0.2, random_state=seed
        )
    steps = [
        (
            "regionclassifier",
            make_segmenter(random_state=seed, autoencoder=False, **kwargs)[-1],
        )
    ]
    if gated:
        from semiseg_sk import FeatureGate

        steps.insert(0, ("featuregate", FeatureGate(random_state=seed)))
    seg = Pipeline(steps)
    if is_transductive(data):
        return seg, seg.fit_predict(train, data.labels)
    seg.fit(train, data.labels)
    return seg, seg.predict(test)


def read_log(path):
    """{(task, seed, variant): log line} of the results an earlier run printed."""
    done = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[1] == "seed" and parts[4] == "mIoU":
            done[(parts[0], int(parts[2]), parts[3])] = line
    return done


def _parse(line):
    parts = line.split()
    choice = parts[8] if len(parts) > 8 else ""
    return float(parts[5]), float(parts[6]), choice


def run(tasks, variants, seeds, factories, log, cache=None, done=None):
    """{(task, variant): [(mIoU, seconds per image, gate choice), ...]}.

    Every feature step is fitted once per task and seed on the training
    images and its block reused by every variant; a variant's time is the
    sum of the times of its steps (superpixels and statistics included) and
    of its own gate and classifier, fit and predict.
    """
    results = {}
    done = done or {}
    for seed in seeds:
        for task in tasks:
            todo = {}
            for name, variant in variants.items():
                if (task, seed, name) in done:
                    line = done[(task, seed, name)]
                    results.setdefault((task, name), []).append(_parse(line))
                    log.append(line)
                else:
                    todo[name] = variant
            if not todo:
                continue
            needed = {b for _, blocks, _ in todo.values() for b in blocks}
            data = TASKS[task](seed)
            n_images = images_described(data)[0]
            front = make_segmenter(random_state=seed, autoencoder=False)[:2]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tic = time.perf_counter()
                train = front.fit_transform(data.images)
                test = (
                    None if is_transductive(data) else front.transform(data.test_images)
                )
                t_front = time.perf_counter() - tic
            blocks = {}
            for name in sorted(needed):
                blocks[name] = _cached_block(
                    cache, task, seed, name, factories[name], train, test, data.labels
                )
                line = (
                    f"{task:18s} seed {seed:3d} step {name:12s} "
                    f"{blocks[name]['seconds'] / n_images:7.3f} s/image "
                    f"({len(blocks[name]['names'])} columns, git {blocks[name]['git']})"
                )
                print(line, flush=True)
                log.append(line)
            for name, (_, used, gated) in todo.items():
                tr = _with_blocks(train, [blocks[b] for b in used], "train")
                te = (
                    None
                    if test is None
                    else _with_blocks(test, [blocks[b] for b in used], "test")
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    (seg, masks), t_clf = _timed(_classify, seed, data, tr, te, gated)
                seconds = (
                    t_front + t_clf + sum(blocks[b]["seconds"] for b in used)
                ) / n_images
                score = mean_iou(data.test_truths, masks)
                choice = ""
                if gated:
                    gate = seg.named_steps["featuregate"]
                    choice = "+".join(
                        b if w == 1 else f"{b}*{w:g}"
                        for b, w in gate.block_weights_.items()
                        if w > 0
                    )
                results.setdefault((task, name), []).append((score, seconds, choice))
                line = (
                    f"{task:18s} seed {seed:3d} {name:14s} mIoU {score:.4f} "
                    f"{seconds:7.3f} s/image {choice}"
                )
                print(line, flush=True)
                log.append(line)
    return results


# The commit of the code this process runs (imported at its start), not the
# head when a block is computed: others may commit during a long run.
_STARTED_AT = None


def _git_head():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=HERE,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(results, tasks, variants, seeds, notes, command, load):
    mean = {
        (t, v): np.mean([s for s, _, _ in results[(t, v)]])
        for t in tasks
        for v in variants
        if (t, v) in results
    }
    lines = [
        "# Feature ablation (issue 15)",
        "",
        "Generated by `benchmarks/ablation_features.py`; do not edit by hand.",
        "",
        f"Command: `{command}`",
        "",
        f"git {_STARTED_AT} (the code imported at the start of the run), "
        f"Python {platform.python_version()}, machine load "
        f"(1, 5, 15 min) before the run: {load}. Seeds: "
        f"{', '.join(map(str, seeds))}. The full "
        "`make_segmenter(random_state=seed, autoencoder=False)` pipeline "
        "(label spreading, pixel refinement, edge snapping); only the feature "
        "steps between RegionStats and RegionClassifier vary, each at its "
        "defaults with `random_state=seed`. Each step is fitted once per task "
        "and seed and its block shared by the variants that use it. Time: "
        "fit + predict seconds per described image (training and test "
        "images), the sum of the steps a variant uses, median over seeds and "
        "tasks; the machine is shared, so compare ratios only.",
        "",
    ]
    lines += [f"- {n}" for n in notes]
    if notes:
        lines.append("")
    head = (
        "| variant | "
        + " | ".join(tasks)
        + " | mean | Δ mean vs stats | s/image | time vs stats |"
    )
    lines += [head, "|---" + "|---:" * (len(tasks) + 4) + "|"]
    base = np.mean([mean[(t, "stats")] for t in tasks])

    def seconds(v):
        return np.median([x for t in tasks for _, x, _ in results[(t, v)]])

    for v in variants:
        if not all((t, v) in mean for t in tasks):
            continue
        cells = []
        for t in tasks:
            d = mean[(t, v)] - mean[(t, "stats")]
            cells.append(
                f"{mean[(t, v)]:.3f}" + ("" if v == "stats" else f" ({d:+.3f})")
            )
        m = np.mean([mean[(t, v)] for t in tasks])
        ratio = seconds(v) / seconds("stats")
        cells += [f"{m:.3f}", f"{m - base:+.3f}", f"{seconds(v):.3f}", f"{ratio:.1f}x"]
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "Per-task cells: mean mIoU over seeds (change against `stats`).", ""]
    lines += [f"- **{v}**: {desc}" for v, (desc, _, _) in variants.items()]
    gated = [v for v in variants if variants[v][2]]
    if gated:
        lines += ["", "## Blocks the gate chose (per seed)", ""]
        lines += ["| variant | task | " + " | ".join(f"seed {s}" for s in seeds) + " |"]
        lines += ["|---|---" + "|---" * len(seeds) + "|"]
        for v in gated:
            for t in tasks:
                if (t, v) in results:
                    picks = [c for _, _, c in results[(t, v)]]
                    lines.append(f"| {v} | {t} | " + " | ".join(picks) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12, 13, 14])
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=["mosaics", "nuclei", "quokka-single", "photos-multiclass"],
        choices=sorted(TASKS),
    )
    parser.add_argument("--variants", nargs="+", default=None)
    parser.add_argument(
        "--cache",
        default=None,
        help="folder keeping each step's block per task and seed, reused when "
        "there (delete it when a step changes)",
    )
    parser.add_argument(
        "--resume",
        nargs="+",
        default=[],
        help="results files or logs of earlier runs: their results are reused",
    )
    parser.add_argument("--out", default=str(HERE / "results_features.md"))
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    global _STARTED_AT
    _STARTED_AT = _git_head()
    loadavg = Path("/proc/loadavg")
    load = " ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "?"
    learned, notes = _learned_steps()
    variants = _variants(learned)
    if args.variants:
        variants = {
            k: v for k, v in variants.items() if k in args.variants or k == "stats"
        }
    factories = {**learned, **REFERENCES}
    log, done = [], {}
    for path in args.resume:
        done.update(read_log(path))
    results = run(args.tasks, variants, args.seeds, factories, log, args.cache, done)
    command = "nice -n 10 .venv/bin/python benchmarks/ablation_features.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    text = table(results, args.tasks, variants, args.seeds, notes, command, load)
    text += "\n## Log\n\n```\n" + "\n".join(log) + "\n```\n"
    print(text)
    if not args.no_save:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
