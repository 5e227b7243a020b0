"""A versioned, checksummed store of fitted posteriors (docs/updating.md).

Layout::

    STORE/manifest.json          {"format": 1, "versions": [{"version": "v0001", ...}, ...]}
    STORE/v0001/                 what FitResult.save writes, plus meta.json
    STORE/v0002/ ...             (an update also holds ledger.csv, what its signal rows
                                 did, and cases_ledger.csv, what its deterrence cases did)
    STORE/objects/ab/ab12...     each distinct file once, named by its SHA-256

A version folder holds the same files, with the same SHA-256 in ``meta.json``, as
before ``objects/`` existed: ``FitResult.load(STORE / "v0003")`` reads it directly.
Each of its files (``meta.json`` aside, which is its own) is a hard link to the
object with its checksum, so that a file several versions hold (the spec, the
commitments, a fit saved again) takes its bytes on disk once. An object is written
once, as a hard link to the new version's fully written and synced file, created under
a temporary name in its ``objects/`` subfolder and renamed into place; an existing
object is reused only after its bytes are checked against its name, and one that no
longer matches is replaced for the new version. Where the filesystem refuses hard
links (some network or FAT-style filesystems), the version keeps plain copies: the
layout of stores written before ``objects/`` existed, which load, verify and take new
versions as any other (``MANIFEST_FORMAT`` is still 1).

Every file of a version written by this module is read-only (mode 0o444): a file
shared by hard links is one file, so an edit in place would change every version
that holds it (the mode stops such an edit, though not the superuser's). A damaged
shared file is therefore damage in each of those versions, and
:meth:`PosteriorStore.verify` reports it for each, naming the others. Folders stay
writable, so that a store can be deleted or moved as any folder. Copying a store with
a tool that does not keep hard links (``cp -r``, ``rsync`` without ``-H``) gives a
valid store of plain copies, as large as one written without ``objects/``.

A version is written into ``STORE/.tmp-<uuid>``, flushed to disk, renamed to
``vNNNN`` and only then listed in the manifest, which is replaced atomically
last. A writer killed at any moment therefore leaves the listed versions intact;
whatever it left half-written is ignored by readers and removed by the next writer,
and the objects it added, complete but linked from no version, are reused or removed
by the next writer (after its own version is listed). Writers are serialised with a
lock file; every file is checked against its SHA-256 in ``meta.json`` before a
version is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from credibility.data.ledger import CASE_ACTIONS, LEDGER_ACTIONS, action_counts
from credibility.errors import CredibilityError
from credibility.results.fitting import FitResult

MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"
META = "meta.json"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
#: The folder of content-addressed files that versions share by hard links.
OBJECTS = "objects"
#: The mode of every file of a version (and so of every object): read-only for all.
READ_ONLY = 0o444
METHODS = ("exact", "approximate")
HISTORY_COLUMNS = ("version", "created_at", "parent", "method", "rows_added", "rows_revised",
                   "cases_added", "cases_resolved", "data_sha256", "max_rhat", "min_ess_bulk",
                   "divergences", "note")
#: The ledger of an update (credibility.analysis.updating.merge_signals), inside its version folder.
LEDGER = "ledger.csv"
#: The ledger of the deterrence cases an update merged (credibility.analysis.updating.merge_cases).
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
    return (name in (MANIFEST, LOCK, OBJECTS) or name.startswith(TMP_PREFIX)
            or _VERSION.match(name) is not None)


def _inode(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_dev, info.st_ino


def _version_files(folder: Path) -> list[Path]:
    """The regular files under a version folder, at any depth."""
    return [Path(root) / name for root, _, names in os.walk(folder) for name in names
            if stat.S_ISREG((Path(root) / name).lstat().st_mode)]


class PosteriorStore:
    """A folder of numbered, immutable fit versions with a manifest and checksums.

    Files that several versions hold are stored once, in ``objects/``, and linked
    into each version folder (the module docstring has the layout).

    Parameters
    ----------
    path
        The store folder; created if missing. An existing folder must be empty or
        already a store, otherwise :class:`StoreError` is raised.
    lock_timeout
        Seconds a writer waits for another writer to finish before giving up.
    share_files
        ``True`` (the default): a new version's files are hard links to the objects
        with their checksums, each added once. ``False``: plain copies in the version
        folder, as the store was laid out before ``objects/`` (what a filesystem that
        refuses hard links gets anyway). Either way the files are read-only, and
        readers need not know which: a version folder holds the same bytes.

    Examples
    --------
    >>> import tempfile
    >>> store = PosteriorStore(tempfile.mkdtemp())
    >>> store.versions(), store.latest()
    ([], None)
    >>> version = store.save(fit, note="first fit")  # doctest: +SKIP
    >>> store.load(version).credibility().head()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0,
                 share_files: bool = True) -> None:
        self.path = Path(path)
        self.lock_timeout = float(lock_timeout)
        self.share_files = bool(share_files)
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

        A file that several versions share (one object in ``objects/``, hard-linked
        into each) is checked as a file of each: a damaged one fails the verification
        of every version that holds it, and the message names the others.

        Parameters
        ----------
        version
            The version to check; ``None`` for the latest.

        Returns
        -------
        str
            The version checked. :class:`StoreError` (naming the version and the
            first missing or damaged file) is raised instead when a file fails.

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
                    f"SHA-256 in meta.json{self._shared_note(version, path)}"
                )
        return version

    def _shared_note(self, version: str, path: Path) -> str:
        """What a damaged file's message adds when other listed versions link it too."""
        try:
            if path.lstat().st_nlink < 2:
                return ""
            inode = _inode(path)
            others = [other for other in self.versions() if other != version
                      and any(_inode(f) == inode for f in _version_files(self.path / other))]
        except OSError:
            return ""
        if not others:
            return ""
        return (f"; the same file (one object in {self.path / OBJECTS}) is held by "
                f"{', '.join(others)}, which are damaged too")

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
                             f"match its SHA-256 in meta.json{self._shared_note(version, path)}")
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
        (:attr:`credibility.analysis.updating.MergeResult.ledger`, with an ``action`` column):
        it is saved as ``ledger.csv``, checksummed like the other files, and
        ``meta.json`` records how many rows were added, unchanged and revised.
        ``cases_ledger`` (:attr:`credibility.analysis.updating.CaseMerge.ledger`) is saved the
        same way as ``cases_ledger.csv``. An existing version is never overwritten.

        The new version's files are read-only; with ``share_files`` each is a hard
        link to the object with its SHA-256 (added if the store lacks it, reused
        after checking its bytes if it has it), or a plain copy where the filesystem
        refuses the link. Objects that no version folder links any more (left by a
        writer killed mid-save) are removed once the new version is listed.

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
            files, touched = {}, set()
            for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
                path.chmod(READ_ONLY)  # before any link: an object is read-only from birth
                _fsync_file(path)
                digest = _sha256_file(path)
                files[path.relative_to(tmp).as_posix()] = digest
                if self.share_files:
                    touched |= self._share(path, digest)
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
            (tmp / META).chmod(READ_ONLY)
            for folder in sorted({p.parent for p in tmp.rglob("*")} | {tmp} | touched):
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
        self._remove_unlinked_objects()
        return version

    def _share(self, path: Path, digest: str) -> set[Path]:
        """Make ``path`` (a synced, read-only file of the version being written, whose
        SHA-256 is ``digest``) one with the object ``digest``: a link to the existing
        object when its bytes check, otherwise the object becomes a link to ``path``.

        Returns the folders whose entries changed (to be synced); where the
        filesystem refuses a link, ``path`` stays a plain copy and nothing changed.
        """
        objects = self.path / OBJECTS
        target = objects / digest[:2] / digest
        staged = None
        try:
            if target.is_file() and _sha256_file(target) == digest:
                staged = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}")
                os.link(target, staged)
                os.replace(staged, path)
                return {path.parent}
            # New, or damaged since it was written: the versions that hold a damaged
            # object keep it (and fail verification); the new one gets good bytes.
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
            os.link(path, staged)
            os.replace(staged, target)
            return {objects, target.parent}
        except OSError:
            if staged is not None:
                staged.unlink(missing_ok=True)
            return set()

    def _remove_stale_temporaries(self) -> None:
        # Only called under the lock, so no live writer owns these.
        for path in [*self.path.glob(f"{TMP_PREFIX}*"),
                     *self.path.glob(f"{OBJECTS}/*/{TMP_PREFIX}*")]:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _remove_unlinked_objects(self) -> None:
        """Remove the objects that no version folder (listed or not) links: those a
        killed writer added for a version it never renamed into place."""
        # Only called under the lock, after this writer's version is in place.
        objects = self.path / OBJECTS
        if not objects.is_dir():
            return
        linked = {_inode(path) for entry in self.path.iterdir()
                  if _VERSION.match(entry.name) and entry.is_dir()
                  for path in _version_files(entry)}
        for folder in objects.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_file() and _inode(path) not in linked:
                    path.unlink(missing_ok=True)


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _package_version() -> str:
    from credibility import __version__

    return __version__
