"""Does AutoencoderFeatures earn its place? RegionStats vs AE vs both.

On scribbled texture mosaics (``make_scribbled_dataset``: 2 scribbled + 20
unlabeled training mosaics of 192 x 192; 4 test mosaics cut from the other
half of every photograph), for several seeds, the same Superpixels are
described by RegionStats alone, by AutoencoderFeatures alone and by both, and
labeled by the same downstream classifier: RegionClassifier's default
(StandardScaler + SparseLabelSpreading over all regions) and a
RandomForest. Reports mean ± std of the test mIoU over seeds as a Markdown
table, printed and written to ``benchmarks/results_autoencoder.md``.

Run::

    python benchmarks/ablation_autoencoder.py [--seeds 0 1 2] [--threads 2]
        [--variant name=JSON ...] [--no-save]

``--variant`` adds AutoencoderFeatures settings to compare (the default
settings always run first), e.g. ``--variant 'img={"mode": "image"}'``.
"""

import argparse
import json
import pathlib
import time
import warnings

import numpy as np


def _score(train, test, data, estimator):
    from semiseg_sk import RegionClassifier
    from semiseg_sk.metrics import mean_iou

    clf = RegionClassifier(estimator).fit(train, data.labels)
    return mean_iou(data.test_truths, clf.predict(test))


def _last(regions, k):
    from semiseg_sk import Regions

    return [Regions(r.image, r.segments, r.features[:, -k:]) for r in regions]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from sklearn.ensemble import RandomForestClassifier

    from semiseg_sk import AutoencoderFeatures, RegionStats, Superpixels
    from semiseg_sk.datasets import make_scribbled_dataset

    variants = {"default": {}}
    for item in args.variant:
        name, _, params = item.partition("=")
        variants[name] = json.loads(params)
    classifiers = {
        "LabelSpreading": lambda: None,
        "RandomForest": lambda: RandomForestClassifier(
            n_estimators=200, random_state=0, n_jobs=args.threads
        ),
    }
    scores = {}  # (features, classifier) -> list over seeds
    fit_times = {name: [] for name in variants}

    def add(key, value):
        scores.setdefault(key, []).append(value)

    for seed in args.seeds:
        data = make_scribbled_dataset(2, 20, 4, random_state=seed)
        superpixels = Superpixels().fit(data.images)
        train = superpixels.transform(data.images)
        test = superpixels.transform(data.test_images)
        stats = RegionStats().fit(train)
        s_train, s_test = stats.transform(train), stats.transform(test)
        for clf_name, make in classifiers.items():
            add(("RegionStats", clf_name), _score(s_train, s_test, data, make()))
        for name, params in variants.items():
            ae = AutoencoderFeatures(random_state=seed, **params)
            tic = time.perf_counter()
            ae.fit(s_train)
            fit_times[name].append(time.perf_counter() - tic)
            b_train, b_test = ae.transform(s_train), ae.transform(s_test)
            k = ae.n_features_out_
            a_train, a_test = _last(b_train, k), _last(b_test, k)
            for clf_name, make in classifiers.items():
                add((f"AE {name}", clf_name), _score(a_train, a_test, data, make()))
                add(
                    (f"RegionStats + AE {name}", clf_name),
                    _score(b_train, b_test, data, make()),
                )
        print(f"seed {seed} done", flush=True)

    rows = ["RegionStats"]
    for name in variants:
        rows += [f"AE {name}", f"RegionStats + AE {name}"]
    lines = [
        f"Test mIoU, mean ± std over seeds {args.seeds} "
        f"(make_scribbled_dataset(2, 20, 4); torch threads={args.threads}).",
        "",
        "| features | " + " | ".join(classifiers) + " |",
        "|---" * (len(classifiers) + 1) + "|",
    ]
    for row in rows:
        cells = [
            f"{np.mean(scores[row, c]):.3f} ± {np.std(scores[row, c]):.3f}"
            for c in classifiers
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired gain over RegionStats alone (same seed, same scribbles), "
        "mean ± std over seeds:",
        "",
        "| features | " + " | ".join(classifiers) + " |",
        "|---" * (len(classifiers) + 1) + "|",
    ]
    for name in variants:
        row = f"RegionStats + AE {name}"
        cells = []
        for c in classifiers:
            gain = np.subtract(scores[row, c], scores["RegionStats", c])
            cells.append(
                f"{np.mean(gain):+.3f} ± {np.std(gain):.3f} "
                f"({int((gain > 0).sum())}/{len(gain)} seeds better)"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += ["", "AutoencoderFeatures fit time (s, median over seeds):", ""]
    for name, params in variants.items():
        lines.append(
            f"- {name} {json.dumps(params)}: {np.median(fit_times[name]):.1f} s"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        out = pathlib.Path(__file__).with_name("results_autoencoder.md")
        out.write_text("# AutoencoderFeatures ablation\n\n" + text + "\n")
        print(f"\nwritten to {out}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning)
    main()
