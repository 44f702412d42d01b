"""``python -m semiseg_sk``: the semiseg command line."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
