"""Does GANFeatures earn its place? RegionStats alone, + GAN, + k-means filters.

Region level, no pixel refinement: on scribbled texture mosaics
(``make_scribbled_dataset(size=192, n_unlabeled=10)``: 2 scribbled + 10
unlabeled training mosaics of 192 x 192 and 4 test mosaics), for each seed the
same Superpixels and RegionStats are extended by

- GANFeatures (trained on the 12 training images; every ``--variant``),
- a k-means filter bank (the honest reference, Coates & Ng 2011): 32 filters
  learned by k-means on ZCA-whitened, mean-removed 7 x 7 patches of all
  training images at scales 1, 2 and 4, applied at each scale, rectified,
  brought back to pixel resolution, pooled per region (mean and std);

and labeled by ``RegionClassifier()`` (its default: StandardScaler +
SparseLabelSpreading). Reports the test mIoU (mean ± std over seeds), the
paired gain over RegionStats alone and the fit seconds of each block,
measured in this process.

Run::

    python benchmarks/bench_gan.py [--seeds 10 11 12 13 14] [--threads 1]
        [--variant name=JSON ...]
"""

import argparse
import json
import time
import warnings

import numpy as np

KMEANS_SCALES = (1, 2, 4)


def _block_mean(image, s):
    h, w = image.shape[:2]
    image = np.pad(image, ((0, (-h) % s), (0, (-w) % s)), mode="edge")
    return image.reshape(image.shape[0] // s, s, image.shape[1] // s, s).mean((1, 3))


class KMeansFilters:
    """The reference bank: k-means filters of whitened patches, region mean+std."""

    def __init__(self, n_filters=32, patch=7, n_patches=20000, random_state=0):
        self.n_filters = n_filters
        self.patch = patch
        self.n_patches = n_patches
        self.random_state = random_state

    def fit(self, regions):
        from sklearn.cluster import KMeans

        rng = np.random.RandomState(self.random_state)
        p = self.patch
        per = self.n_patches // (len(regions) * len(KMEANS_SCALES)) + 1
        patches = []
        for r in regions:
            image = np.asarray(r.image, dtype=np.float64)
            for s in KMEANS_SCALES:
                small = _block_mean(image, s)
                ys = rng.randint(small.shape[0] - p + 1, size=per)
                xs = rng.randint(small.shape[1] - p + 1, size=per)
                patches += [small[y : y + p, x : x + p].ravel() for y, x in zip(ys, xs)]
        x = np.asarray(patches)
        x -= x.mean(axis=1, keepdims=True)
        cov = np.cov(x, rowvar=False)
        vals, vecs = np.linalg.eigh(cov)
        zca = vecs @ np.diag(1 / np.sqrt(vals + 0.1 * vals.mean())) @ vecs.T
        white = x @ zca
        white /= np.linalg.norm(white, axis=1, keepdims=True) + 1e-8
        km = KMeans(self.n_filters, n_init=1, random_state=self.random_state)
        km.fit(white)
        filters = km.cluster_centers_ @ zca  # responses on raw mean-removed patches
        filters -= filters.mean(axis=1, keepdims=True)
        self.filters_ = filters.reshape(-1, p, p)
        return self

    def pixel_maps(self, image):
        from scipy.ndimage import correlate, zoom

        image = np.asarray(image, dtype=np.float64)
        maps = []
        for s in KMEANS_SCALES:
            small = _block_mean(image, s)
            for f in self.filters_:
                r = np.maximum(correlate(small, f, mode="reflect"), 0)
                if s > 1:
                    r = zoom(r, s, order=1)[: image.shape[0], : image.shape[1]]
                maps.append(r)
        return np.stack(maps, axis=-1)

    def transform(self, regions):
        out = []
        for r in regions:
            mean, std = r.mean_std(self.pixel_maps(r.image))
            names = [
                f"km{i}_{st}" for st in ("mean", "std") for i in range(len(mean.T))
            ]
            out.append(r.with_features(np.hstack([mean, std]), names))
        return out


def _score(train, test, data):
    from semiseg_sk import RegionClassifier
    from semiseg_sk.metrics import mean_iou

    clf = RegionClassifier().fit(train, data.labels)
    return mean_iou(data.test_truths, clf.predict(test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12, 13, 14])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-unlabeled", type=int, default=10)
    parser.add_argument("--no-kmeans", action="store_true")
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--no-default", action="store_true")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from semiseg_sk import GANFeatures, RegionStats, Superpixels
    from semiseg_sk.datasets import make_scribbled_dataset

    variants = {} if args.no_default else {"default": {}}
    for item in args.variant:
        name, _, params = item.partition("=")
        variants[name] = json.loads(params)
    rows = ["RegionStats"] + [f"+ GAN {n}" for n in variants]
    if not args.no_kmeans:
        rows.append("+ k-means filters")
    scores = {row: [] for row in rows}
    seconds = {row: [] for row in rows}
    for seed in args.seeds:
        data = make_scribbled_dataset(
            n_unlabeled=args.n_unlabeled, size=192, random_state=seed
        )
        superpixels = Superpixels().fit(data.images)
        train = superpixels.transform(data.images)
        test = superpixels.transform(data.test_images)
        tic = time.perf_counter()
        stats = RegionStats().fit(train)
        train, test = stats.transform(train), stats.transform(test)
        seconds["RegionStats"].append(time.perf_counter() - tic)
        scores["RegionStats"].append(_score(train, test, data))
        blocks = {
            f"+ GAN {n}": GANFeatures(random_state=seed, **p)
            for n, p in variants.items()
        }
        if not args.no_kmeans:
            blocks["+ k-means filters"] = KMeansFilters(random_state=seed)
        for row, block in blocks.items():
            tic = time.perf_counter()
            block.fit(train)
            seconds[row].append(time.perf_counter() - tic)
            scores[row].append(
                _score(block.transform(train), block.transform(test), data)
            )
        line = ", ".join(
            f"{r}: {scores[r][-1]:.3f} ({seconds[r][-1]:.1f} s)" for r in rows
        )
        print(f"seed {seed}: {line}", flush=True)

    base = np.asarray(scores["RegionStats"])
    print(
        f"\nTest mIoU over seeds {args.seeds}, make_scribbled_dataset(size=192, "
        f"n_unlabeled={args.n_unlabeled}), RegionClassifier() default, no refiner; "
        f"torch threads={args.threads}.\n"
    )
    print("| features | mIoU | gain over RegionStats | seeds better | fit s (median) |")
    print("|---|---|---|---|---|")
    for row in rows:
        s = np.asarray(scores[row])
        gain = s - base
        print(
            f"| {row} | {s.mean():.3f} ± {s.std():.3f} | {gain.mean():+.3f} ± "
            f"{gain.std():.3f} | {int((gain > 0).sum())}/{len(gain)} | "
            f"{np.median(seconds[row]):.1f} |"
        )
    for name, params in variants.items():
        print(f"- GAN {name}: {json.dumps(params)}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning)
    main()
