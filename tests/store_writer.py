"""Subprocess helper for tests/test_store.py: save one fit into a posterior store.

Usage: ``python tests/store_writer.py STORE FITDIR [LOCK_TIMEOUT]``. It prints
``saving`` just before :meth:`PosteriorStore.save` starts (so a test can time
kills inside the save) and ``saved vNNNN`` when it returns; a lock timeout
prints ``locked`` and exits with status 3.

``python tests/store_writer.py --serve STORE FITDIR`` imports the package once and
then, for each line ``write`` on its standard input, forks a writer: the child prints
``started PID`` (the process to kill), then does what the plain command does; when it
has ended (saved, locked or killed) the server prints ``exit STATUS`` (the negative
signal number for a killed child). Forking saves each writer the seconds of starting
Python and importing what loading a fit needs, so that a test can kill many of them
quickly.
"""

from __future__ import annotations

import os
import sys

from credibility.results.fitting import FitResult
from credibility.results.store import PosteriorStore, StoreError


def write(store_path: str, fit_dir: str, lock_timeout: float = 10.0) -> int:
    """Load the fit in ``fit_dir`` and save it into the store; 0 when saved, 3 when locked."""
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


def serve(store_path: str, fit_dir: str) -> int:
    """Fork one writer per ``write`` line on standard input, until it closes."""
    FitResult.load(fit_dir)  # what loading imports lazily, imported once
    for line in sys.stdin:
        if line.strip() != "write":
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                print(f"started {os.getpid()}", flush=True)
                code = write(store_path, fit_dir)
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"exit {code}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "--serve":
        return serve(argv[1], argv[2])
    return write(argv[0], argv[1], float(argv[2]) if len(argv) > 2 else 10.0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
