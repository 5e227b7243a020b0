"""A versioned, checksummed store of fitted posteriors (docs/updating.md).

Layout::

    STORE/manifest.json          {"format": 1, "versions": [{"version": "v0001", ...}, ...]}
    STORE/v0001/                 what FitResult.save writes, plus meta.json
    STORE/v0002/ ...             (an update also holds ledger.csv, what its signal rows
                                 did, and cases_ledger.csv, what its deterrence cases did)

A version is written into ``STORE/.tmp-<uuid>``, flushed to disk, renamed to
``vNNNN`` and only then listed in the manifest, which is replaced atomically
last. A writer killed at any moment therefore leaves the listed versions intact;
whatever it left half-written is ignored by readers and removed by the next writer.
Writers are serialised with a lock file; every file is checked against its
SHA-256 in ``meta.json`` before a version is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from credibility.errors import CredibilityError
from credibility.fitting import FitResult
from credibility.updating import CASE_ACTIONS, LEDGER_ACTIONS, action_counts

MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"
META = "meta.json"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
METHODS = ("exact", "approximate")
HISTORY_COLUMNS = ("version", "created_at", "parent", "method", "rows_added", "rows_revised",
                   "cases_added", "cases_resolved", "data_sha256", "max_rhat", "min_ess_bulk",
                   "divergences", "note")
#: The ledger of an update (credibility.updating.merge_signals), inside its version folder.
LEDGER = "ledger.csv"
#: The ledger of the deterrence cases an update merged (credibility.updating.merge_cases).
CASES_LEDGER = "cases_ledger.csv"
_VERSION = re.compile(r"^v(\d{4,})$")


class StoreError(CredibilityError):
    """The posterior store is locked, damaged, or was asked for something it does not hold."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # A rename is only durable once the directory entry itself is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_store_entry(name: str) -> bool:
    return (name in (MANIFEST, LOCK) or name.startswith(TMP_PREFIX)
            or _VERSION.match(name) is not None)


class PosteriorStore:
    """A folder of numbered, immutable fit versions with a manifest and checksums.

    Parameters
    ----------
    path
        The store folder; created if missing. An existing folder must be empty or
        already a store, otherwise :class:`StoreError` is raised.
    lock_timeout
        Seconds a writer waits for another writer to finish before giving up.

    Examples
    --------
    >>> import tempfile
    >>> store = PosteriorStore(tempfile.mkdtemp())
    >>> store.versions(), store.latest()
    ([], None)
    >>> version = store.save(fit, note="first fit")  # doctest: +SKIP
    >>> store.load(version).credibility().head()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout = float(lock_timeout)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"store {self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        foreign = sorted(p.name for p in self.path.iterdir() if not _is_store_entry(p.name))
        if foreign and not (self.path / MANIFEST).exists():
            raise StoreError(
                f"{self.path} is not a posterior store (no {MANIFEST}) and is not empty: "
                f"found {', '.join(foreign[:5])}; choose an empty or new folder"
            )
        self._lock = FileLock(self.path / LOCK, timeout=self.lock_timeout)

    def __repr__(self) -> str:
        return f"PosteriorStore({str(self.path)!r})"

    # -- reading -------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        if not path.exists():
            return {"format": MANIFEST_FORMAT, "versions": []}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"manifest {path} is unreadable: {exc}") from exc
        entries = manifest.get("versions") if isinstance(manifest, dict) else None
        if (not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT
                or not isinstance(entries, list)
                or not all(isinstance(e, dict) and isinstance(e.get("version"), str)
                           and _VERSION.match(e["version"]) for e in entries)):
            raise StoreError(
                f"manifest {path} is invalid: expected {{'format': {MANIFEST_FORMAT}, "
                "'versions': [{'version': 'v0001', ...}, ...]}"
            )
        return manifest

    def versions(self) -> list[str]:
        """Names of the complete versions, oldest first (only those in the manifest).

        Examples
        --------
        >>> import tempfile
        >>> PosteriorStore(tempfile.mkdtemp()).versions()
        []
        """
        return [entry["version"] for entry in self._read_manifest()["versions"]]

    def latest(self) -> str | None:
        """The newest version, or ``None`` for an empty store.

        Examples
        --------
        >>> import tempfile
        >>> PosteriorStore(tempfile.mkdtemp()).latest() is None
        True
        """
        versions = self.versions()
        return versions[-1] if versions else None

    def _resolve(self, version: str | None) -> str:
        versions = self.versions()
        if version is None:
            if not versions:
                raise StoreError(f"store {self.path} holds no versions yet; save a fit first")
            return versions[-1]
        if version not in versions:
            raise StoreError(
                f"store {self.path} has no version {version!r}; "
                f"available: {', '.join(versions) or 'none'}"
            )
        return version

    def meta(self, version: str) -> dict[str, Any]:
        """The ``meta.json`` of ``version``: provenance, diagnostics and file checksums.

        Examples
        --------
        >>> store.meta("v0001")["data_sha256"]  # doctest: +SKIP
        """
        version = self._resolve(version)
        path = self.path / version / META
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"version {version}: {path} is missing or unreadable: {exc}") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
            raise StoreError(f"version {version}: {path} is invalid (no 'files' checksums)")
        return meta

    def history(self) -> pd.DataFrame:
        """One row per version: provenance and the headline convergence diagnostics.

        Examples
        --------
        >>> import tempfile
        >>> list(PosteriorStore(tempfile.mkdtemp()).history().columns)[:6]
        ['version', 'created_at', 'parent', 'method', 'rows_added', 'rows_revised']
        """
        rows = []
        for version in self.versions():
            meta = self.meta(version)
            diagnostics = meta.get("diagnostics") or {}
            ledger = meta.get("ledger") or {}
            cases = meta.get("cases_ledger") or {}
            rows.append({
                "version": version,
                "created_at": meta.get("created_at"),
                "parent": meta.get("parent"),
                "method": meta.get("method"),
                "rows_added": ledger.get("added"),
                "rows_revised": ledger.get("revised"),
                "cases_added": cases.get("added"),
                "cases_resolved": cases.get("resolved"),
                "data_sha256": meta.get("data_sha256"),
                "max_rhat": diagnostics.get("max_rhat"),
                "min_ess_bulk": diagnostics.get("min_ess_bulk"),
                "divergences": diagnostics.get("divergences"),
                "note": meta.get("note", ""),
            })
        return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))

    def verify(self, version: str | None = None) -> str:
        """Check every file of ``version`` (default latest) against its SHA-256.

        Returns the version checked; raises :class:`StoreError` naming the version
        and the first missing or damaged file.

        Examples
        --------
        >>> store.verify("v0001")  # doctest: +SKIP
        'v0001'
        """
        version = self._resolve(version)
        folder = self.path / version
        for relative, expected in self.meta(version)["files"].items():
            path = folder / relative
            if not path.is_file():
                raise StoreError(f"version {version} is damaged: file {path} is missing")
            if _sha256_file(path) != expected:
                raise StoreError(
                    f"version {version} is damaged: file {path} does not match its "
                    "SHA-256 in meta.json"
                )
        return version

    def load(self, version: str | None = None) -> FitResult:
        """Verify and reload ``version`` (default: the latest) as a :class:`FitResult`.

        Examples
        --------
        >>> fit = store.load()  # doctest: +SKIP
        >>> fit.credibility().head()  # doctest: +SKIP
        """
        version = self.verify(version)
        return FitResult.load(self.path / version)

    def ledger(self, version: str | None = None, *, cases: bool = False) -> pd.DataFrame | None:
        """The ledger saved with ``version`` (default latest), or ``None`` if it has none.

        ``cases=True`` reads the ledger of the deterrence cases the update merged
        instead of that of its signal rows. The file is checked against its SHA-256 first.

        Examples
        --------
        >>> store.ledger("v0002")["action"].value_counts()  # doctest: +SKIP
        >>> store.ledger("v0003", cases=True)  # doctest: +SKIP
        """
        version = self._resolve(version)
        name = CASES_LEDGER if cases else LEDGER
        expected = self.meta(version)["files"].get(name)
        if expected is None:
            return None
        path = self.path / version / name
        if not path.is_file() or _sha256_file(path) != expected:
            raise StoreError(f"version {version} is damaged: file {path} is missing or does not "
                             "match its SHA-256 in meta.json")
        # Only the values may be missing (an added row has no old value, an open case no
        # outcome); an empty commitment_id (an alliance-level row) stays an empty string.
        missing = (["old_outcome", "new_outcome"] if cases else ["old_value", "new_value"])
        return pd.read_csv(path, keep_default_na=False,
                           na_values={column: [""] for column in missing})

    # -- writing -------------------------------------------------------------------

    def save(
        self,
        fit: FitResult,
        *,
        parent: str | None = None,
        method: str = "exact",
        note: str = "",
        ledger: pd.DataFrame | None = None,
        cases_ledger: pd.DataFrame | None = None,
    ) -> str:
        """Add ``fit`` as a new version and return its name (``"v0001"``, ...).

        ``parent`` names the version this fit updates; ``method`` is ``"exact"`` or
        ``"approximate"``. ``ledger`` is what an update did to its incoming rows
        (:attr:`credibility.updating.MergeResult.ledger`, with an ``action`` column):
        it is saved as ``ledger.csv``, checksummed like the other files, and
        ``meta.json`` records how many rows were added, unchanged and revised.
        ``cases_ledger`` (:attr:`credibility.updating.CaseMerge.ledger`) is saved the
        same way as ``cases_ledger.csv``. An existing version is never overwritten.

        Examples
        --------
        >>> store.save(fit, note="baseline")  # doctest: +SKIP
        'v0001'
        >>> store.save(update.fit, parent="v0001", ledger=update.ledger)  # doctest: +SKIP
        'v0002'
        """
        if method not in METHODS:
            raise StoreError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        if ledger is not None and ("action" not in ledger
                                   or not ledger["action"].isin(LEDGER_ACTIONS).all()):
            raise StoreError(f"ledger must have an 'action' column of {', '.join(LEDGER_ACTIONS)}")
        if cases_ledger is not None and ("action" not in cases_ledger
                                         or not cases_ledger["action"].isin(CASE_ACTIONS).all()):
            raise StoreError(
                f"cases_ledger must have an 'action' column of {', '.join(CASE_ACTIONS)}")
        try:
            with self._lock:
                return self._save_locked(fit, parent=parent, method=method, note=note,
                                         ledger=ledger, cases_ledger=cases_ledger)
        except Timeout as exc:
            raise StoreError(
                f"store {self.path} is locked by another writer (waited {self.lock_timeout:g} s "
                f"for {self.path / LOCK}); try again when it has finished"
            ) from exc

    def _save_locked(self, fit: FitResult, *, parent: str | None, method: str,
                     note: str, ledger: pd.DataFrame | None,
                     cases_ledger: pd.DataFrame | None) -> str:
        self._remove_stale_temporaries()
        manifest = self._read_manifest()
        listed = [entry["version"] for entry in manifest["versions"]]
        if parent is not None and parent not in listed:
            raise StoreError(
                f"parent version {parent!r} is not in store {self.path}; "
                f"available: {', '.join(listed) or 'none'}"
            )
        # Numbers taken by unlisted folders (a writer that died after its rename)
        # are skipped too, so nothing on disk is ever overwritten.
        taken = [int(m.group(1)) for p in self.path.iterdir() if (m := _VERSION.match(p.name))]
        taken += [int(_VERSION.match(v).group(1)) for v in listed]
        version = f"v{max(taken, default=0) + 1:04d}"

        tmp = self.path / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            tmp.mkdir()
            fit.save(tmp)
            if ledger is not None:
                ledger.to_csv(tmp / LEDGER, index=False, lineterminator="\n")
            if cases_ledger is not None:
                cases_ledger.to_csv(tmp / CASES_LEDGER, index=False, lineterminator="\n")
            files = {}
            for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
                _fsync_file(path)
                files[path.relative_to(tmp).as_posix()] = _sha256_file(path)
            created_at = datetime.now(UTC).isoformat(timespec="seconds")
            meta = {
                "version": version,
                "package_version": _package_version(),
                "spec_sha256": fit.spec.sha256,
                "data_sha256": fit.data.sha256(),
                "settings": fit.settings,
                "seed": fit.settings.get("seed"),
                "diagnostics": fit.diagnostics.to_dict(),
                "parent": parent,
                "created_at": created_at,
                "method": method,
                "note": note,
                "ledger": None if ledger is None else {
                    "file": LEDGER,
                    **action_counts(ledger, LEDGER_ACTIONS),
                },
                "cases_ledger": None if cases_ledger is None else {
                    "file": CASES_LEDGER,
                    **action_counts(cases_ledger, CASE_ACTIONS),
                },
                "files": files,
            }
            _write_synced(tmp / META, json.dumps(meta, indent=2, default=str))
            for folder in sorted({p.parent for p in tmp.rglob("*")} | {tmp}):
                _fsync_dir(folder)
            os.rename(tmp, self.path / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(self.path)

        entries = [*manifest["versions"], {"version": version, "created_at": created_at,
                                           "parent": parent, "method": method}]
        new_manifest = self.path / f"{TMP_PREFIX}{uuid.uuid4().hex}-{MANIFEST}"
        _write_synced(new_manifest, json.dumps({"format": MANIFEST_FORMAT, "versions": entries},
                                               indent=2))
        os.replace(new_manifest, self.path / MANIFEST)
        _fsync_dir(self.path)
        return version

    def _remove_stale_temporaries(self) -> None:
        # Only called under the lock, so no live writer owns these.
        for path in self.path.glob(f"{TMP_PREFIX}*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _package_version() -> str:
    from credibility import __version__

    return __version__
