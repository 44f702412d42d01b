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
        image = channels_last(as_feature_image(image, True))
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
                n_init=3,
                random_state=int(rng.randint(2**31 - 1)),
                batch_size=2048,
            ).fit((P - mean) @ zca)
            # Response of a normalised patch x: (x - mean) @ zca @ centroids.T.
            self.filters_.append((mean, zca @ km.cluster_centers_.T))
        k = self.n_filters * len(self.scales)
        self.block_feature_names_ = [f"kmeans{i}_mean" for i in range(k)] + [
            f"kmeans{i}_std" for i in range(k)
        ]
        return self

    def _responses(self, image, scale, filters, rows=32):
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
        z = np.empty((h, w, weights.shape[1]))
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


def _gate(seed):
    from semiseg_sk.features._gating import FeatureGate

    return FeatureGate(random_state=seed)


def _pipeline(seed, extra, gated=False):
    """make_segmenter(autoencoder=False) with ``extra`` steps after RegionStats."""
    kwargs = {}
    if gated:
        kwargs["estimator"] = SparseLabelSpreading(
            spatial_weight=0.2, random_state=seed
        )
    seg = make_segmenter(random_state=seed, autoencoder=False, **kwargs)
    steps = list(seg.steps)
    added = [(type(s).__name__.lower(), s) for s in extra]
    if gated:
        added.append(("featuregate", _gate(seed)))
    return Pipeline(steps[:2] + added + steps[2:])


def _variants(learned):
    """{name: (description, function(seed) -> pipeline)}."""
    out = {"stats": ("RegionStats only", lambda seed: _pipeline(seed, []))}
    for name, factory in learned.items():
        out[f"+{name}"] = (
            f"RegionStats + {name}",
            lambda seed, f=factory: _pipeline(seed, [f(seed)]),
        )
    out["+kmeans"] = (
        "RegionStats + k-means filter bank (reference)",
        lambda seed: _pipeline(seed, [KMeansBank(random_state=seed)]),
    )
    out["+gabor"] = (
        "RegionStats + Gabor bank (reference)",
        lambda seed: _pipeline(seed, [GaborBank()]),
    )
    if len(learned) > 1:
        out["all"] = (
            "RegionStats + every learned step, ungated",
            lambda seed: _pipeline(seed, [f(seed) for f in learned.values()]),
        )
    names = ", ".join(learned) or "no learned step (none importable)"
    out["gated"] = (
        f"RegionStats + {names}, then FeatureGate",
        lambda seed: _pipeline(seed, [f(seed) for f in learned.values()], gated=True),
    )
    out["gated-refs"] = (
        "RegionStats + k-means + Gabor references, then FeatureGate",
        lambda seed: _pipeline(
            seed, [KMeansBank(random_state=seed), GaborBank()], gated=True
        ),
    )
    return out


def _run_one(seg, data):
    if is_transductive(data):
        return seg.fit_predict(data.images, data.labels)
    seg.fit(data.images, data.labels)
    return seg.predict(data.test_images)


def run(tasks, variants, seeds, log):
    """{(task, variant): [(mIoU, seconds per image, gate choice), ...]}."""
    results = {}
    for task in tasks:
        for seed in seeds:
            data = TASKS[task](seed)
            n_images = images_described(data)[0]
            for name, (_, make) in variants.items():
                seg = make(seed)
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    masks = _run_one(seg, data)
                seconds = (time.perf_counter() - tic) / n_images
                score = mean_iou(data.test_truths, masks)
                choice = ""
                if "featuregate" in seg.named_steps:
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
        f"git {_git_head()}, Python {platform.python_version()}, machine load "
        f"before the run: {load}. Seeds: {', '.join(map(str, seeds))}. "
        "Full `make_segmenter(random_state=seed, autoencoder=False)` pipeline "
        "(label spreading, pixel refinement, edge snapping); only the feature "
        "steps between RegionStats and RegionClassifier vary. Time: fit + "
        "predict seconds per described image (training and test images), "
        "median over seeds; the machine is shared, compare ratios only.",
        "",
    ]
    lines += [f"- {n}" for n in notes]
    if notes:
        lines.append("")
    head = "| variant | " + " | ".join(tasks) + " | mean | Δ mean vs stats | s/image |"
    lines += [head, "|---" + "|---:" * (len(tasks) + 3) + "|"]
    base = np.mean([mean[(t, "stats")] for t in tasks])
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
        secs = np.median([np.median([x for _, x, _ in results[(t, v)]]) for t in tasks])
        lines.append(
            f"| {v} | "
            + " | ".join(cells)
            + f" | {m:.3f} | {m - base:+.3f} | {secs:.3f} |"
        )
    lines += ["", "Per-task cells: mean mIoU over seeds (change against `stats`).", ""]
    lines += [f"- **{v}**: {desc}" for v, (desc, _) in variants.items()]
    gated = [v for v in variants if v.startswith("gated")]
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
    parser.add_argument("--out", default=str(HERE / "results_features.md"))
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    load = (
        Path("/proc/loadavg").read_text().split()[:3]
        if Path("/proc/loadavg").exists()
        else "?"
    )
    load = " ".join(load)
    learned, notes = _learned_steps()
    variants = _variants(learned)
    if args.variants:
        variants = {
            k: v for k, v in variants.items() if k in args.variants or k == "stats"
        }
    log = []
    results = run(args.tasks, variants, args.seeds, log)
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
