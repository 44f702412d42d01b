"""Does PretrainedFeatures earn its place? RegionStats vs RegionStats + pretrained.

On scribbled texture mosaics (``make_scribbled_dataset(2, 20, 4)``: 2
scribbled + 20 unlabeled training mosaics of 192 x 192, 4 test mosaics), for
each seed the same Superpixels are described by RegionStats alone and by
RegionStats followed by PretrainedFeatures (its defaults, then each
``--variant``), and labeled by ``RegionClassifier()`` (its default label
spreading), without pixel refinement. Prints the test mIoU per seed, the
paired gain over RegionStats, and the seconds per 512 x 512 image of
``transform`` for both steps, measured in the same process.

Run::

    python benchmarks/ablation_pretrained.py [--seeds 10 11 12 13 14]
        [--variant name=JSON ...]

e.g. ``--variant 'abs={"rectify": "abs"}'``.
"""

import argparse
import json
import time

import numpy as np


def _score(train, test, data):
    from semiseg_sk import RegionClassifier
    from semiseg_sk.metrics import mean_iou

    clf = RegionClassifier().fit(train, data.labels)
    return mean_iou(data.test_truths, clf.predict(test))


def _seconds_per_image(step, regions, repeats=3):
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        step.transform(regions)
        times.append((time.perf_counter() - tic) / len(regions))
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12, 13, 14])
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args(argv)

    from semiseg_sk import PretrainedFeatures, RegionStats, Superpixels
    from semiseg_sk.datasets import make_scribbled_dataset, make_texture_mosaics

    variants = {"default": {}}
    for item in args.variant:
        name, _, params = item.partition("=")
        variants[name] = json.loads(params)
    scores = {name: [] for name in ["RegionStats", *variants]}
    for seed in args.seeds:
        data = make_scribbled_dataset(2, 20, 4, random_state=seed)
        superpixels = Superpixels().fit(data.images)
        train = superpixels.transform(data.images)
        test = superpixels.transform(data.test_images)
        stats = RegionStats().fit(train)
        s_train, s_test = stats.transform(train), stats.transform(test)
        scores["RegionStats"].append(_score(s_train, s_test, data))
        for name, params in variants.items():
            step = PretrainedFeatures(**params).fit(s_train)
            p_train, p_test = step.transform(s_train), step.transform(s_test)
            scores[name].append(_score(p_train, p_test, data))
        print(
            f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in scores.items()),
            flush=True,
        )

    print("\n| features | test mIoU (mean ± std) | paired gain | seeds better |")
    print("|---|---|---|---|")
    base = np.asarray(scores["RegionStats"])
    for name, values in scores.items():
        values = np.asarray(values)
        label = "RegionStats" if name == "RegionStats" else f"+ pretrained {name}"
        if name == "RegionStats":
            print(f"| {label} | {values.mean():.3f} ± {values.std():.3f} | | |")
            continue
        gain = values - base
        print(
            f"| {label} {json.dumps(variants[name])} | {values.mean():.3f} ± "
            f"{values.std():.3f} | {gain.mean():+.3f} ± {gain.std():.3f} | "
            f"{int((gain > 0).sum())}/{len(gain)} |"
        )

    images, _ = make_texture_mosaics(2, size=512, split="all", random_state=0)
    regions = Superpixels().fit_transform(images)
    stats = RegionStats().fit(regions)
    step = PretrainedFeatures().fit(regions)
    step.transform(regions[:1])  # warm up torch
    t_stats = _seconds_per_image(stats, regions)
    t_pre = _seconds_per_image(step, regions)
    n = np.mean([r.n_regions for r in regions])
    print(
        f"\ntransform per 512 x 512 image ({n:.0f} regions): RegionStats "
        f"{t_stats:.2f} s, PretrainedFeatures {t_pre:.2f} s "
        f"({t_pre / t_stats:.2f}x RegionStats)"
    )


if __name__ == "__main__":
    main()
