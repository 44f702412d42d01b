# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""A lazy collection of image files, segmented on a 2-worker LocalCluster vs 1.

N grey images (the nuclei mosaics of ``_workload_data.py``, uint8) are
written once as PNG files; the first two carry scribbles, the other label
maps are all -1 (``np.broadcast_to``, no memory). Each configuration runs
in a fresh driver process that starts a :class:`distributed.LocalCluster`
of W worker processes with one thread each, then, under
``joblib.parallel_backend("dask")``:

- ``make_segmenter(random_state=0, n_jobs=-1).fit(collection, labels)``
  with ``collection = ImageCollection.from_paths(paths)``: each per-image
  task reads its image on a worker, from its path;
- ``write_masks(iter_predict(seg, collection, n_jobs=-1), out)``: one
  task per image (read, whole pipeline, mask back), the masks written as
  PNG files by the driver as they come.

The one-worker and two-worker runs use the same code and the same process
layout (a driver, W workers of one thread), started as the library's
``semiseg ... --scheduler local:W`` starts them: without dask's
``MALLOC_TRIM_THRESHOLD_`` (which makes every per-image task about 1.8x
slower, see ``semiseg_sk/cli/_scheduler.py``). joblib's dask backend runs as
many tasks at once as the cluster has threads, and with a single thread it
runs them in the driver: the one-worker run is the same work done by one
process (without the transfers; its worker computes nothing, and its driver
RSS includes the per-image work). Every driver runs with the workers'
thread settings (``OMP_NUM_THREADS=1`` and its kin, which torch follows), so
that the one-worker run is one thread of work, as a worker is. Time is from
the cluster being up (a warm-up fit and predict of a tiny image on every
worker and in the driver has paid the imports and first calls) to the last
mask written. Driver peak RSS is the driver's ``VmHWM`` after the run (its
imports, torch included, count); workers are not counted. The masks of the
two runs must be identical. Printed: per run the fit and predict times,
throughput (images/s over fit + predict), the seconds the workers spent
computing tasks (from the task stream: if they grow with the number of
workers, the workers were starved of CPU), the driver's CPU seconds (all its
threads: scheduler, transfers, PNG writing, the serial parts of ``fit``)
and driver peak RSS, then the
ratio of throughputs and the targets of issue 18 (driver peak RSS <= 1.5 GB,
throughput of 2 workers >= 1.7x one worker).

Full size (a quiet machine with at least 3 free cores; the 200-image 1024x1024
collection is cached under ``benchmarks/_data/workload`` or made there)::

    python benchmarks/distributed.py --n 200 --size 1024

Development size::

    python benchmarks/distributed.py --n 10 --size 256

The PNG files go to ``--data`` (default: a folder in the system's temporary
directory, reused by later runs).
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This file's name is the dask package's: its folder must not be on the path
# (python puts it first), or "import distributed" would import this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
_spec = importlib.util.spec_from_file_location(
    "_workload_data", _HERE / "_workload_data.py"
)
wd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wd)

FULL_COMMAND = "python benchmarks/distributed.py --n 200 --size 1024"
#: The thread settings of a dask worker (distributed.nanny.pre-spawn-environ).
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
TARGET_RSS_MB = 1536
TARGET_SPEEDUP = 1.7


def _collection_folder(kind, n, size):
    """The cached collection, made in a temporary cache if _data is read-only."""
    folder = wd.collection_dir(kind, size, 0)
    meta = folder / "meta.json"
    if meta.exists() and json.loads(meta.read_text())["n"] >= n:
        return folder
    if not os.access(wd.CACHE.parent, os.W_OK):
        wd.CACHE = Path(tempfile.gettempdir()) / "semiseg-workload-cache"
    return wd.make_collection(kind, n, size)


def write_pngs(kind, n, size, data):
    """PNG files of the first n images (written once) and the scribbles."""
    from semiseg_sk.io import write_image

    folder = _collection_folder(kind, n, size)
    out = Path(data) / f"{kind}-{size}"
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"img{i:04d}.png" for i in range(n)]
    for start in range(0, n, 10):
        todo = [i for i in range(start, min(n, start + 10)) if not paths[i].exists()]
        if todo:
            stack = wd.read_npy(folder / "images.npy", todo[0], todo[-1] - todo[0] + 1)
            for i in todo:
                write_image(paths[i], stack[i - todo[0]], overwrite=False)
    np.save(out / "scribbles.npy", wd.read_npy(folder / "scribbles.npy"))
    return paths, out / "scribbles.npy"


def _peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm():
    """Fit and predict a tiny image: every import and first call is paid here."""
    from joblib import parallel_config

    from semiseg_sk import make_segmenter

    image = np.zeros((32, 32), np.uint8)
    image[:, 16:] = 200
    labels = np.full((32, 32), -1)
    labels[5, 5], labels[5, 25] = 0, 1
    with parallel_config(backend="sequential"):
        seg = make_segmenter(n_segments=8, random_state=0)
        seg.fit([image], [labels]).predict([image])
    return os.getpid()


def run_one(paths, scribbles, n_workers, out):
    """One configuration, in this (fresh) process; a dict of measurements."""
    import distributed
    from joblib import parallel_backend

    from semiseg_sk import make_segmenter
    from semiseg_sk.cli._scheduler import local_cluster
    from semiseg_sk.io import ImageCollection, write_masks
    from semiseg_sk.pipeline import iter_predict

    collection = ImageCollection.from_paths(paths)
    marks = np.load(scribbles)
    shape = marks.shape[1:]
    labels = list(marks) + [
        np.broadcast_to(np.int8(-1), shape) for _ in range(len(paths) - len(marks))
    ]
    with local_cluster(n_workers) as cluster, distributed.Client(cluster) as client:
        client.run(_warm)
        _warm()
        n_jobs = -1
        tic, cpu = time.perf_counter(), time.process_time()
        with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
            seg = make_segmenter(random_state=0, n_jobs=n_jobs)
            seg.fit(collection, labels)
            fitted = time.perf_counter()
            written = write_masks(iter_predict(seg, collection, n_jobs=n_jobs), out)
        done, cpu = time.perf_counter(), time.process_time() - cpu
    busy = sum(
        part["stop"] - part["start"]
        for record in stream.data
        for part in record["startstops"]
        if part["action"] == "compute"
    )
    digest = hashlib.sha256()
    for path in written:
        digest.update(Path(path).read_bytes())
    return {
        "workers": n_workers,
        "n": len(paths),
        "fit_s": fitted - tic,
        "predict_s": done - fitted,
        "images_per_s": len(paths) / (done - tic),
        "worker_compute_s": busy,
        "driver_cpu_s": cpu,
        "driver_peak_rss_mb": _peak_rss_mb(),
        "masks_sha256": digest.hexdigest()[:16],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of images")
    parser.add_argument("--size", type=int, default=1024, help="image side")
    parser.add_argument("--kind", default="nuclei", choices=sorted(wd.STROKE_LENGTH))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", default=Path(tempfile.gettempdir()) / "semiseg-png")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # a child process: one configuration
        listing, scribbles, workers, out = args.one
        paths = Path(listing).read_text().split("\n")
        print(json.dumps(run_one(paths, scribbles, int(workers), out)))
        return 0

    paths, scribbles = write_pngs(args.kind, args.n, args.size, args.data)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(str(p) for p in paths))
        for workers in args.workers:
            out = Path(tmp) / f"masks-{workers}"
            child = [sys.executable, __file__, "--one"]
            child += [str(listing), str(scribbles), str(workers), str(out)]
            proc = subprocess.run(
                child,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, **ONE_THREAD},
            )
            if proc.returncode:
                sys.stderr.write(proc.stderr)
                return proc.returncode
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{args.n} images of {args.size}x{args.size} ({args.kind}), PNG files")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
    print(
        "workers  fit s  predict s  images/s  worker compute s  "
        "driver CPU s  driver peak RSS MB  masks"
    )
    for r in results:
        print(
            f"{r['workers']:7d}  {r['fit_s']:5.1f}  {r['predict_s']:9.1f}  "
            f"{r['images_per_s']:8.3f}  {r['worker_compute_s']:16.1f}  "
            f"{r['driver_cpu_s']:12.1f}  "
            f"{r['driver_peak_rss_mb']:18.0f}  {r['masks_sha256']}"
        )
    same = len({r["masks_sha256"] for r in results}) == 1
    print(f"masks identical across runs: {same}")
    if len(results) >= 2:
        ratio = results[-1]["images_per_s"] / results[0]["images_per_s"]
        print(
            f"throughput {results[-1]['workers']} workers / "
            f"{results[0]['workers']}: {ratio:.2f}x (target >= {TARGET_SPEEDUP}x)"
        )
    peak = max(r["driver_peak_rss_mb"] for r in results)
    print(f"driver peak RSS {peak:.0f} MB (target <= {TARGET_RSS_MB} MB)")
    print(f"full size: {FULL_COMMAND}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
