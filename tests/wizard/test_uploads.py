"""Uploads become the .tar.gz that job_submit takes; unsafe archives are refused."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from jobs.wizard.uploads import UploadError, convert_upload

LIMIT = 1024 * 1024


def zip_of(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    buffer.seek(0)
    return buffer


def tar_of(files: dict[str, bytes], *, mode="w:gz", link: tuple[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            archive.addfile(info)
    buffer.seek(0)
    return buffer


def members(path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def test_a_single_file_is_packed_under_its_own_name(tmp_path):
    dest = tmp_path / "code.tar.gz"
    upload = convert_upload(io.BytesIO(b"print('hi')\n"), "C:\\Users\\ada\\train.py", dest, max_bytes=LIMIT)
    assert upload.to_dict() == {"filename": "train.py", "kind": "file", "path": "train.py", "files": 1, "bytes": 12}
    assert members(dest) == {"train.py": b"print('hi')\n"}


def test_a_zipped_folder_is_unwrapped(tmp_path):
    dest = tmp_path / "code.tar.gz"
    source = zip_of({"project/train.py": b"print(1)", "project/lib/util.py": b"x = 1", "__MACOSX/._train.py": b"junk",
                     "project/.DS_Store": b"junk"})
    upload = convert_upload(source, "project.zip", dest, max_bytes=LIMIT)
    assert (upload.kind, upload.path, upload.files) == ("folder", "project", 2)
    assert members(dest) == {"train.py": b"print(1)", "lib/util.py": b"x = 1"}


def test_a_zip_of_files_keeps_its_layout(tmp_path):
    dest = tmp_path / "code.tar.gz"
    upload = convert_upload(zip_of({"train.py": b"a", "data/x.csv": b"b"}), "src.zip", dest, max_bytes=LIMIT)
    assert (upload.path, upload.files, upload.bytes) == ("src", 2, 2)
    assert members(dest) == {"train.py": b"a", "data/x.csv": b"b"}


@pytest.mark.parametrize("name, mode", [("code.tar.gz", "w:gz"), ("code.tgz", "w:gz"), ("code.tar", "w")])
def test_tar_archives_are_repacked(tmp_path, name, mode):
    dest = tmp_path / "out.tar.gz"
    upload = convert_upload(tar_of({"./src/train.py": b"run", "src/README": b"r"}, mode=mode), name, dest,
                            max_bytes=LIMIT)
    assert (upload.kind, upload.path, upload.files) == ("folder", "src", 2)
    assert members(dest) == {"train.py": b"run", "README": b"r"}


@pytest.mark.parametrize("source, filename, message", [
    (lambda: zip_of({"../evil.py": b"x"}), "evil.zip", "points outside the folder"),
    (lambda: zip_of({"ok/../../evil.py": b"x"}), "evil.zip", "points outside the folder"),
    (lambda: zip_of({"/etc/cron.d/evil": b"x"}), "evil.zip", "is an absolute path"),
    (lambda: zip_of({"a.py": b"x"}, links={"link": "/etc/passwd"}), "evil.zip", "is a link"),
    (lambda: tar_of({"../../evil.sh": b"x"}), "evil.tar.gz", "points outside the folder"),
    (lambda: tar_of({"a.py": b"x"}, link=("passwd", "/etc/passwd")), "evil.tar.gz", "is a link"),
    (lambda: io.BytesIO(b"not a zip"), "code.zip", "is not a zip archive"),
    (lambda: io.BytesIO(b"not a tar"), "code.tar.gz", "is not a tar or tar.gz archive"),
    (lambda: zip_of({"empty/": b""}), "empty.zip", "holds no files"),
])
def test_unsafe_or_broken_archives_are_refused_and_leave_nothing(tmp_path, source, filename, message):
    dest = tmp_path / "code.tar.gz"
    with pytest.raises(UploadError) as caught:
        convert_upload(source(), filename, dest, max_bytes=LIMIT)
    assert message in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_uploads_over_the_limit_are_refused(tmp_path):
    with pytest.raises(UploadError, match="more than 100 bytes"):
        convert_upload(io.BytesIO(b"x" * 101), "big.csv", tmp_path / "a.tar.gz", max_bytes=100)
    with pytest.raises(UploadError, match="more than 100 bytes"):
        convert_upload(zip_of({"a": b"x" * 60, "b": b"y" * 60}), "big.zip", tmp_path / "b.tar.gz", max_bytes=100)
    assert list(tmp_path.iterdir()) == []
