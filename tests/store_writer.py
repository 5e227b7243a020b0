"""Subprocess helper for tests/test_store.py: save one fit into a posterior store.

Usage: ``python tests/store_writer.py STORE FITDIR [LOCK_TIMEOUT]``. It prints
``saving`` just before :meth:`PosteriorStore.save` starts (so a test can time
kills inside the save) and ``saved vNNNN`` when it returns; a lock timeout
prints ``locked`` and exits with status 3.
"""

from __future__ import annotations

import sys

from credibility.fitting import FitResult
from credibility.store import PosteriorStore, StoreError


def main(argv: list[str]) -> int:
    store_path, fit_dir = argv[0], argv[1]
    lock_timeout = float(argv[2]) if len(argv) > 2 else 10.0
    fit = FitResult.load(fit_dir)
    store = PosteriorStore(store_path, lock_timeout=lock_timeout)
    print("saving", flush=True)
    try:
        version = store.save(fit, note="written by store_writer")
    except StoreError as exc:
        if "locked" not in str(exc):
            raise
        print("locked", flush=True)
        return 3
    print(f"saved {version}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
