"""Tests of the versioned posterior store, including writers killed mid-save, files
shared between versions, and stores laid out before files were shared."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock

from credibility.results.fitting import FitResult
from credibility.results.store import OBJECTS, PosteriorStore, StoreError

REPO = Path(__file__).resolve().parent.parent
WRITER = REPO / "tests" / "store_writer.py"
KILL_SEED = 20261126
STARTUP_KILLS = 6
#: Kills that must land inside the save itself, and the most tries to get them.
SAVE_KILLS = 14
MAX_SAVE_TRIES = 40


@pytest.fixture(scope="module")
def fit(tiny_fit: FitResult) -> FitResult:
    """The tiny real fit the suite shares (tests/conftest.py): any fit will do for the store."""
    return tiny_fit


@pytest.fixture(scope="module")
def fit_dir(fit: FitResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fit")
    fit.save(folder)
    return folder


def _flip_byte(path: Path) -> None:
    """Change one byte of ``path`` in place, as an edit that overrides its read-only
    mode would (the same file, not a new one: every hard link to it sees the change)."""
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IWUSR)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        byte = handle.read(1)[0]
        handle.seek(size // 2)
        handle.write(bytes([byte ^ 0xFF]))
    path.chmod(mode)


def _inode(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def _one_added_row() -> pd.DataFrame:
    """The ledger of an update that added one troops row (C001 in 2007)."""
    return pd.DataFrame({"row": [1], "action": ["added"], "level": ["commitment"],
                         "commitment_id": ["C001"], "alliance": ["A1"], "period": [2007],
                         "signal": ["troops"], "old_value": [float("nan")],
                         "new_value": [310.5]})


def _objects(store: Path) -> list[Path]:
    """The objects of a store (files named by their SHA-256), temporaries included."""
    return sorted(p for p in (store / OBJECTS).glob("*/*") if p.is_file())


def _unlinked_objects(store: Path) -> list[Path]:
    """Objects that no version folder links (what a killed writer can leave)."""
    linked = {_inode(p) for folder in store.glob("v[0-9]*") for p in folder.rglob("*")
              if p.is_file()}
    return [p for p in _objects(store) if _inode(p) not in linked]


def _write_old_version(store: Path, fit: FitResult, version: str, *, parent: str | None = None,
                       ledger: pd.DataFrame | None = None) -> None:
    """Lay out ``version`` as the store wrote every version before files were shared
    (up to ceb3ec6): FitResult.save's files as plain, writable copies in the version
    folder, meta.json with their SHA-256, then the version added to manifest.json."""
    folder = store / version
    fit.save(folder)
    if ledger is not None:
        ledger.to_csv(folder / "ledger.csv", index=False, lineterminator="\n")
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    counts = None if ledger is None else {
        "file": "ledger.csv",
        **{action: int((ledger["action"] == action).sum())
           for action in ("added", "unchanged", "revised")}}
    meta = {"version": version, "package_version": "0.2.0", "spec_sha256": fit.spec.sha256,
            "data_sha256": fit.data.sha256(), "settings": fit.settings,
            "seed": fit.settings.get("seed"), "diagnostics": fit.diagnostics.to_dict(),
            "parent": parent, "created_at": created_at, "method": "exact", "note": "old layout",
            "ledger": counts, "cases_ledger": None, "files": files}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    manifest_path = store / "manifest.json"
    manifest = (json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists()
                else {"format": 1, "versions": []})
    manifest["versions"].append({"version": version, "created_at": created_at,
                                 "parent": parent, "method": "exact"})
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _writer(store: Path, fit_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WRITER), str(store), str(fit_dir), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_store_sound(path: Path, must_hold: list[str]) -> list[str]:
    """The manifest is valid JSON, ``must_hold`` (versions that loaded before) still
    verify against their SHA-256 (the same bytes), and every other version loads."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 1
    store = PosteriorStore(path)
    versions = store.versions()
    assert versions[: len(must_hold)] == must_hold
    assert len(set(versions)) == len(versions)
    for version in must_hold:
        assert store.verify(version) == version
    for version in versions[len(must_hold):]:
        loaded = store.load(version)
        assert loaded.credibility().shape[0] > 0
    return versions


def test_new_store_is_empty(tmp_path: Path) -> None:
    store = PosteriorStore(tmp_path / "new" / "store")
    assert (tmp_path / "new" / "store").is_dir()
    assert store.versions() == []
    assert store.latest() is None
    assert list(store.history().columns) == [
        "version", "created_at", "parent", "method", "rows_added", "rows_revised",
        "cases_added", "cases_resolved", "data_sha256", "max_rhat", "min_ess_bulk",
        "divergences", "note",
    ]
    with pytest.raises(StoreError, match="no versions"):
        store.load()


def test_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a store", encoding="utf-8")
    with pytest.raises(StoreError, match=r"not a posterior store.*notes\.txt"):
        PosteriorStore(tmp_path)


@pytest.mark.parametrize("text", ["{not json", '{"format": 2, "versions": []}',
                                  '{"format": 1, "versions": [{"name": "x"}]}', "[]"])
def test_corrupt_manifest_is_reported(tmp_path: Path, text: str) -> None:
    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(StoreError, match=r"manifest\.json"):
        PosteriorStore(tmp_path).versions()


@pytest.mark.slow
def test_save_versions_parent_and_history(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    assert store.save(fit, note="baseline") == "v0001"
    assert store.save(fit, parent="v0001", method="approximate", note="update") == "v0002"
    assert store.versions() == ["v0001", "v0002"]
    assert store.latest() == "v0002"

    meta = store.meta("v0002")
    assert meta["parent"] == "v0001"
    assert meta["method"] == "approximate"
    assert meta["spec_sha256"] == fit.spec.sha256
    assert meta["data_sha256"] == fit.data.sha256()
    assert meta["settings"]["draws"] == 60
    assert "seed" in meta
    assert meta["diagnostics"] == json.loads(json.dumps(fit.diagnostics.to_dict()))
    assert set(meta["files"]) >= {"posterior.nc", "spec.toml", "fit.json", "credibility.csv",
                                  "data/signals.csv", "data/commitments.csv"}
    assert "meta.json" not in meta["files"]
    assert meta["ledger"] is None and store.ledger("v0002") is None
    assert pd.Timestamp(meta["created_at"]).tzinfo is not None

    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert [e["version"] for e in manifest["versions"]] == ["v0001", "v0002"]
    assert manifest["versions"][1]["parent"] == "v0001"

    history = store.history()
    assert list(history["version"]) == ["v0001", "v0002"]
    assert list(history["method"]) == ["exact", "approximate"]
    assert list(history["note"]) == ["baseline", "update"]
    assert pd.isna(history["parent"].iloc[0]) and history["parent"].iloc[1] == "v0001"
    assert history["max_rhat"].iloc[0] == pytest.approx(fit.diagnostics.max_rhat)

    with pytest.raises(StoreError, match="parent version 'v0009'"):
        store.save(fit, parent="v0009")
    with pytest.raises(StoreError, match="method"):
        store.save(fit, method="guess")
    assert store.versions() == ["v0001", "v0002"]


@pytest.mark.slow
def test_reload_equals_saved_fit(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    loaded = PosteriorStore(tmp_path).load()
    pd.testing.assert_frame_equal(loaded.credibility(), fit.credibility())
    assert loaded.data == fit.data
    assert loaded.spec.sha256 == fit.spec.sha256
    assert loaded.diagnostics.max_rhat == fit.diagnostics.max_rhat
    with pytest.raises(StoreError, match="no version 'v0002'"):
        store.load("v0002")


@pytest.mark.slow
def test_versions_are_never_overwritten(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    first = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "v0001").rglob("*")
             if p.is_file()}
    # An unlisted version folder (left by a writer that died before the manifest) is kept.
    stray = tmp_path / "v0002"
    stray.mkdir()
    (stray / "keep.txt").write_text("left behind", encoding="utf-8")
    assert store.save(fit) == "v0003"
    assert store.versions() == ["v0001", "v0003"]
    assert (stray / "keep.txt").read_text(encoding="utf-8") == "left behind"
    assert first == {p: (p.stat().st_mtime_ns, p.read_bytes())
                     for p in (tmp_path / "v0001").rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "copies"])
@pytest.mark.parametrize("damaged", ["posterior.nc", "data/signals.csv"])
def test_damaged_file_is_detected_on_load(tmp_path: Path, fit: FitResult, damaged: str,
                                          shared: bool) -> None:
    """Two saves of one fit hold the same files: shared (one object, hard-linked into
    both) a file damaged in place is damage in both versions; as plain copies
    (``share_files=False``, the layout of older stores) only in the one edited."""
    store = PosteriorStore(tmp_path, share_files=shared)
    store.save(fit)
    store.save(fit, parent="v0001")
    _flip_byte(tmp_path / "v0001" / damaged)
    with pytest.raises(StoreError, match=rf"v0001.*{damaged}"):
        store.load("v0001")
    if shared:
        with pytest.raises(StoreError, match=rf"version v0002 is damaged.*{damaged}.*"
                                             r"held by v0001, which are damaged too"):
            store.load("v0002")
    else:
        store.load("v0002")


@pytest.mark.slow
def test_identical_files_are_stored_once_and_read_only(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    store.save(fit, parent="v0001")
    files = store.meta("v0001")["files"]
    assert store.meta("v0002")["files"] == files  # the same checksums as ever
    objects = _objects(tmp_path)
    assert sorted(p.name for p in objects) == sorted(files.values())
    for relative, digest in files.items():
        target = tmp_path / OBJECTS / digest[:2] / digest
        assert (_inode(tmp_path / "v0001" / relative) == _inode(tmp_path / "v0002" / relative)
                == _inode(target))
        assert (tmp_path / "v0002" / relative).stat().st_nlink == 3
    for version in ("v0001", "v0002"):
        assert (tmp_path / version / "meta.json").stat().st_nlink == 1  # its own
        for path in (tmp_path / version).rglob("*"):
            if path.is_file():
                assert stat.S_IMODE(path.stat().st_mode) == 0o444, path
    # The version folder is a fit folder, as before.
    loaded = FitResult.load(tmp_path / "v0002")
    pd.testing.assert_frame_equal(loaded.credibility(), fit.credibility())


@pytest.mark.slow
def test_damaged_shared_file_is_reported_in_each_version_and_not_reused(
        tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    ledger = _one_added_row()
    store.save(fit, parent="v0001", ledger=ledger)
    digest = store.meta("v0001")["files"]["data/signals.csv"]
    damaged = tmp_path / OBJECTS / digest[:2] / digest
    _flip_byte(damaged)
    for version, other in (("v0001", "v0002"), ("v0002", "v0001")):
        with pytest.raises(StoreError, match=rf"version {version} is damaged: file "
                                             rf".*{version}.*signals\.csv does not match.*"
                                             rf"held by {other}"):
            store.verify(version)
    pd.testing.assert_frame_equal(store.ledger("v0002"), ledger)  # its own file is sound
    # The next version does not link the damaged object: it gets good bytes, under
    # the same name, and the versions that hold the damaged file keep failing.
    assert store.save(fit, parent="v0002") == "v0003"
    pd.testing.assert_frame_equal(store.load("v0003").credibility(), fit.credibility())
    assert _inode(tmp_path / "v0003" / "data" / "signals.csv") == _inode(damaged)
    assert _inode(tmp_path / "v0001" / "data" / "signals.csv") != _inode(damaged)
    for version in ("v0001", "v0002"):
        with pytest.raises(StoreError, match=rf"version {version} is damaged.*signals\.csv"):
            store.load(version)
    assert store.verify("v0003") == "v0003"


@pytest.mark.slow
def test_refused_links_fall_back_to_copies(tmp_path: Path, fit: FitResult,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    store = PosteriorStore(tmp_path)
    store.save(fit)
    store.save(fit, parent="v0001")
    assert _objects(tmp_path) == []
    for version in ("v0001", "v0002"):
        for path in (tmp_path / version).rglob("*"):
            if path.is_file():
                assert path.stat().st_nlink == 1 and stat.S_IMODE(path.stat().st_mode) == 0o444
        assert store.verify(version) == version
    pd.testing.assert_frame_equal(store.load("v0002").credibility(), fit.credibility())


@pytest.mark.slow
def test_old_layout_store_loads_verifies_and_takes_new_versions(tmp_path: Path,
                                                                fit: FitResult) -> None:
    """A store written before files were shared: plain copies, no objects/."""
    ledger = pd.DataFrame({"row": [1, 2], "action": ["added", "unchanged"],
                           "level": ["commitment", "alliance"], "commitment_id": ["C001", ""],
                           "alliance": ["A1", "A1"], "period": [2007, 2006],
                           "signal": ["troops", "alliance_exercises"],
                           "old_value": [float("nan"), 4.0], "new_value": [310.5, 4.0]})
    _write_old_version(tmp_path, fit, "v0001")
    _write_old_version(tmp_path, fit, "v0002", parent="v0001", ledger=ledger)
    old = {p: (_inode(p), p.stat().st_mode, p.stat().st_mtime_ns, p.read_bytes())
           for p in tmp_path.glob("v*/**/*") if p.is_file()}
    store = PosteriorStore(tmp_path)
    assert store.versions() == ["v0001", "v0002"]
    assert [store.verify(v) for v in ("v0001", "v0002")] == ["v0001", "v0002"]
    pd.testing.assert_frame_equal(store.load("v0001").credibility(), fit.credibility())
    pd.testing.assert_frame_equal(store.ledger("v0002"), ledger)
    rows_added = store.history()["rows_added"]
    assert pd.isna(rows_added.iloc[0]) and rows_added.iloc[1] == 1

    assert store.save(fit, parent="v0002") == "v0003"
    assert store.save(fit, parent="v0003") == "v0004"
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["format"] == 1
    # The old versions are left as they were; the new ones share their files.
    assert old == {p: (_inode(p), p.stat().st_mode, p.stat().st_mtime_ns, p.read_bytes())
                   for p in old}
    assert all(p.stat().st_nlink == 1 for p in old)
    posterior = [_inode(tmp_path / v / "posterior.nc") for v in ("v0002", "v0003", "v0004")]
    assert posterior[0] != posterior[1] == posterior[2]
    for version in store.versions():
        assert store.load(version).credibility().shape == fit.credibility().shape
    # Damage in an old version is reported as before, for that version only.
    _flip_byte(tmp_path / "v0001" / "spec.toml")
    with pytest.raises(StoreError, match=r"v0001.*spec\.toml does not match[^;]*$"):
        store.verify("v0001")
    assert store.verify("v0003") == "v0003"


@pytest.mark.slow
def test_objects_left_by_a_killed_writer_are_reused_or_removed(tmp_path: Path,
                                                               fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    ledger = _one_added_row()
    # What a writer killed before its rename leaves: a complete object of the file it
    # was saving (linked from no version), an object of some other file, and a
    # temporary name it had not yet renamed.
    text = ledger.to_csv(index=False, lineterminator="\n").encode()
    digest = hashlib.sha256(text).hexdigest()
    reusable = tmp_path / OBJECTS / digest[:2] / digest
    reusable.parent.mkdir(parents=True, exist_ok=True)
    reusable.write_bytes(text)
    reusable.chmod(0o444)
    other = hashlib.sha256(b"other").hexdigest()
    orphan = tmp_path / OBJECTS / other[:2] / other
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"other")
    stale = tmp_path / OBJECTS / other[:2] / ".tmp-0123abcd"
    stale.write_bytes(b"half")
    assert PosteriorStore(tmp_path).versions() == ["v0001"]
    store.verify("v0001")

    assert store.save(fit, parent="v0001", ledger=ledger) == "v0002"
    assert _inode(tmp_path / "v0002" / "ledger.csv") == _inode(reusable)
    assert not orphan.exists() and not stale.exists()
    assert _unlinked_objects(tmp_path) == []
    pd.testing.assert_frame_equal(store.ledger("v0002"), ledger)


@pytest.mark.slow
def test_missing_file_is_detected_on_load(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    (tmp_path / "v0001" / "spec.toml").unlink()
    with pytest.raises(StoreError, match=r"v0001.*spec\.toml.*missing"):
        store.load()


@pytest.mark.slow
def test_locked_store_refuses_writer(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path, lock_timeout=0.2)
    with FileLock(tmp_path / ".lock"):
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked by another writer"):
            store.save(fit)
        assert time.monotonic() - started < 5
    assert store.versions() == []
    assert store.save(fit) == "v0001"


@pytest.mark.slow
def test_stray_temporaries_are_ignored_and_cleaned(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    crashed = tmp_path / ".tmp-0123abcd"
    crashed.mkdir()
    (crashed / "posterior.nc").write_bytes(b"half written")
    (tmp_path / ".tmp-4567-manifest.json").write_text("{", encoding="utf-8")
    assert PosteriorStore(tmp_path).versions() == ["v0001"]
    assert store.save(fit, parent="v0001") == "v0002"
    assert not list(tmp_path.glob(".tmp-*"))
    assert store.versions() == ["v0001", "v0002"]


class _WriterServer:
    """``tests/store_writer.py --serve``: writers forked from a process that has
    imported the package already."""

    def __init__(self, store: Path, fit_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), "--serve", str(store), str(fit_dir)], cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start(self) -> int:
        """Fork a writer; returns its process id once it runs."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("write\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line.startswith("started "), (line, self.proc.stderr)
        return int(line.split()[1])

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def finish(self) -> tuple[str, int]:
        """What the writer printed until it ended, and its exit status."""
        lines = []
        while not (line := self.readline()).startswith("exit "):
            assert line, "the writer server ended early"
            lines.append(line)
        return "".join(lines), int(line.split()[1])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.mark.slow
def test_writer_killed_at_any_moment_leaves_store_sound(tmp_path: Path, fit: FitResult,
                                                        fit_dir: Path) -> None:
    path = tmp_path / "store"
    PosteriorStore(path).save(fit)
    good = _assert_store_sound(path, [])
    server = _WriterServer(path, fit_dir)

    # A full run first: measures the two phases (loading the fit, then the save).
    started = time.monotonic()
    server.start()
    assert server.readline().strip() == "saving"
    startup = time.monotonic() - started
    assert server.readline().startswith("saved v0002")
    save_seconds = time.monotonic() - started - startup
    assert server.finish() == ("", 0)
    good = _assert_store_sound(path, good)
    assert good == ["v0001", "v0002"]

    rng = random.Random(KILL_SEED)
    phases = {"before save": 0, "during save": 0, "after save": 0}

    def kill(anchor: str, delay: float) -> str:
        launched = time.monotonic()
        pid = server.start()
        seen = ""
        if anchor == "save":
            seen = server.readline()
            assert seen.strip() == "saving", seen
            time.sleep(delay)
        else:
            time.sleep(max(0.0, delay - (time.monotonic() - launched)))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it had already ended
            pass
        rest, code = server.finish()
        output = seen + rest
        phase = ("after save" if "saved" in output
                 else "during save" if "saving" in output else "before save")
        phases[phase] += 1
        assert code in (-signal.SIGKILL, 0)
        good[:] = _assert_store_sound(path, good)
        return phase

    # Kills spread over loading the fit, then at random moments of the save.
    for _ in range(STARTUP_KILLS):
        kill("start", rng.uniform(0, startup))
    # The save's duration varies with load (e.g. under pytest -n 2): when a kill comes
    # too late, shrink the window so that the kills keep landing inside the save.
    window = save_seconds * 1.1
    # A startup kill can land in the save too: count kills, not save kills alone, so
    # that at least 20 always happen.
    for _ in range(MAX_SAVE_TRIES):
        if (phases["during save"] >= SAVE_KILLS
                and sum(phases.values()) >= STARTUP_KILLS + SAVE_KILLS):
            break
        if kill("save", window * rng.random()) == "after save":
            window *= 0.7
    server.close()

    assert sum(phases.values()) >= 20
    assert phases["during save"] >= SAVE_KILLS, phases
    # The next writer finishes normally and clears what the killed ones left behind.
    assert PosteriorStore(path).save(fit, parent=good[-1]) not in good
    assert not list(path.glob(".tmp-*"))
    assert not list(path.glob(f"{OBJECTS}/*/.tmp-*"))
    assert _unlinked_objects(path) == []
    _assert_store_sound(path, good)
    print(f"kill points: {phases}; startup {startup:.2f} s, save {save_seconds:.2f} s")


@pytest.mark.slow
def test_concurrent_writers_never_corrupt(tmp_path: Path, fit: FitResult,
                                          fit_dir: Path) -> None:
    path = tmp_path / "store"
    PosteriorStore(path).save(fit)
    procs = [_writer(path, fit_dir) for _ in range(2)]
    outcomes = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    saved = []
    for out, err, code in outcomes:
        assert code in (0, 3), err
        if code == 0:
            saved.append(out.split()[-1])
        else:
            assert "locked" in out
    assert saved and len(set(saved)) == len(saved)
    versions = _assert_store_sound(path, ["v0001"])
    assert sorted(saved) == versions[1:]
    assert not os.path.exists(path / "v0004")


@pytest.mark.slow
def test_ledger_is_saved_checksummed_and_counted(tmp_path: Path, fit: FitResult) -> None:
    store = PosteriorStore(tmp_path)
    store.save(fit)
    ledger = pd.DataFrame({
        "row": [1, 2, 3], "action": ["added", "unchanged", "revised"],
        "level": ["commitment", "alliance", "commitment"], "commitment_id": ["C001", "", "C002"],
        "alliance": ["A1", "A1", "A2"], "period": [2007, 2006, 2005],
        "signal": ["troops", "alliance_exercises", "troops"],
        "old_value": [float("nan"), 4.0, 120.0], "new_value": [310.5, 4.0, 150.0],
    })
    assert store.save(fit, parent="v0001", ledger=ledger) == "v0002"
    meta = store.meta("v0002")
    assert meta["ledger"] == {"file": "ledger.csv", "added": 1, "unchanged": 1, "revised": 1}
    assert "ledger.csv" in meta["files"]
    pd.testing.assert_frame_equal(store.ledger("v0002"), ledger)
    history = store.history()
    assert pd.isna(history["rows_added"].iloc[0])
    assert history["rows_added"].iloc[1] == 1 and history["rows_revised"].iloc[1] == 1

    _flip_byte(tmp_path / "v0002" / "ledger.csv")
    with pytest.raises(StoreError, match=r"v0002.*ledger\.csv"):
        store.ledger("v0002")
    with pytest.raises(StoreError, match=r"v0002.*ledger\.csv"):
        store.load("v0002")
    with pytest.raises(StoreError, match="'action' column"):
        store.save(fit, ledger=ledger.drop(columns="action"))


@pytest.mark.slow
def test_store_size_benchmark_counts_shared_files_once(tmp_path: Path, fit_dir: Path) -> None:
    """benchmarks/store_size.py on a saved fit, re-saved twice: the versions after the
    first add their meta.json alone when shared, every file again as plain copies."""
    out = tmp_path / "store_size.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "store_size.py"), "--fit", str(fit_dir),
         "--scenarios", "resave", "--versions", "2", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "posterior.nc" in done.stdout and "scenario resave" in done.stdout
    posterior = result["files_v0001"]["posterior.nc"]
    assert 0 < result["posterior_share_v0001"] < 1
    rows = result["scenarios"]["resave"]["versions"]
    assert [row["version"] for row in rows] == ["v0001", "v0002", "v0003"]
    assert rows[0]["shared_bytes"] == pytest.approx(rows[0]["plain_bytes"], abs=64)
    for row in rows[1:]:
        assert row["plain_bytes"] > posterior > 10 * row["shared_bytes"]
        assert "posterior.nc" in row["files_shared_with_parent"]
    assert result["scenarios"]["resave"]["objects"] == len(result["files_v0001"])
