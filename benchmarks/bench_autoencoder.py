"""Speed and memory of AutoencoderFeatures on this machine.

Training throughput (patches/s), encoding throughput (regions/s), fit time and
peak memory on 22 texture mosaics of 192 x 192 with ~300 regions each (the
size of ``make_scribbled_dataset()``'s training set). Target: the default
settings fit in <= 20 s on 2 CPU cores.

Run::

    python benchmarks/bench_autoencoder.py [--repeats 3] [--threads 2]
        [--variant name=json ...]

Each configuration is fitted ``--repeats`` times in this process; medians are
printed, as a Markdown table. Peak memory is the process's peak resident set
size after all runs of a configuration (it only grows), so run one variant per
process for a clean number.
"""

import argparse
import json
import resource
import statistics
import sys
import time


def peak_rss_mb():
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / 1024 if sys.platform != "darwin" else usage / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-images", type=int, default=22)
    parser.add_argument("--n-segments", type=int, default=400)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help='name=JSON of AutoencoderFeatures parameters, e.g. img={"mode":"image"}',
    )
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from semiseg_sk import AutoencoderFeatures, Superpixels
    from semiseg_sk.datasets import make_texture_mosaics

    images, _ = make_texture_mosaics(args.n_images, random_state=0)
    regions = Superpixels(n_segments=args.n_segments).fit_transform(images)
    n_regions = sum(r.n_regions for r in regions)
    variants = {"default": {}}
    for item in args.variant:
        name, _, params = item.partition("=")
        variants[name] = json.loads(params)

    print(
        f"{args.n_images} images of {images[0].shape}, {n_regions} regions "
        f"({n_regions / len(images):.0f} per image), torch threads={args.threads}, "
        f"repeats={args.repeats} (medians)\n"
    )
    print(
        "| variant | fit s | epochs | train patches/s | encode regions/s | "
        "peak RSS MB |"
    )
    print("|---|---|---|---|---|---|")
    for name, params in variants.items():
        fits, epochs, train_rates, enc_rates = [], [], [], []
        for rep in range(args.repeats):
            ae = AutoencoderFeatures(random_state=rep, **params)
            tic = time.perf_counter()
            ae.fit(regions)
            fits.append(time.perf_counter() - tic)
            epochs.append(ae.n_iter_)
            train_time = sum(h["duration"] for h in ae.history_)
            n_train = n_regions - round(ae.validation_fraction * n_regions)
            train_rates.append(n_train * ae.n_iter_ / train_time)
            tic = time.perf_counter()
            ae.transform(regions)
            enc_rates.append(n_regions / (time.perf_counter() - tic))
        med = statistics.median
        print(
            f"| {name} {json.dumps(params) if params else ''} | {med(fits):.1f} | "
            f"{med(epochs):.0f} | {med(train_rates):.0f} | {med(enc_rates):.0f} | "
            f"{peak_rss_mb():.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
