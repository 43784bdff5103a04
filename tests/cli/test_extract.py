import io
import os
import tarfile

import pytest

from studio.cli.errors import CliError
from studio.cli.packing import safe_extract


def tar_of(*entries) -> io.BytesIO:
    """entries: (name, bytes) for files, (name, None) for folders, (name, "->target") for symlinks,
    (name, "=>target") for hard links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, str):
                info.type = tarfile.SYMTYPE if data.startswith("->") else tarfile.LNKTYPE
                info.linkname = data[2:]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_it_extracts_files_and_folders(tmp_path):
    written = safe_extract(tar_of(("outputs", None), ("outputs/model.pkl", b"m"), ("user_logs/std_log.txt", b"l")),
                           tmp_path / "dest")
    assert sorted(written) == ["outputs/model.pkl", "user_logs/std_log.txt"]
    assert (tmp_path / "dest" / "outputs" / "model.pkl").read_bytes() == b"m"


def test_it_strips_the_leading_folder_when_asked(tmp_path):
    safe_extract(tar_of(("job1", None), ("job1/outputs/a.txt", b"a")), tmp_path, strip="job1")
    assert (tmp_path / "outputs" / "a.txt").read_bytes() == b"a"
    assert not (tmp_path / "job1").exists()


@pytest.mark.parametrize("name", ["../evil", "outputs/../../evil", "/tmp/evil"])
def test_it_refuses_members_escaping_the_target(tmp_path, name):
    dest = tmp_path / "dest"
    with pytest.raises(CliError, match="refusing to extract"):
        safe_extract(tar_of(("ok.txt", b"fine"), (name, b"evil")), dest)
    assert not (tmp_path / "evil").exists()
    assert not (dest / "ok.txt").exists()  # checked before anything is written


def test_it_refuses_symlinks_pointing_outside(tmp_path):
    with pytest.raises(CliError, match="links to '../../etc/passwd'"):
        safe_extract(tar_of(("outputs/link", "->../../etc/passwd")), tmp_path / "dest")
    with pytest.raises(CliError, match="links to '/etc/passwd'"):
        safe_extract(tar_of(("link", "->/etc/passwd")), tmp_path / "dest")


def test_it_keeps_symlinks_that_stay_inside(tmp_path):
    safe_extract(tar_of(("outputs/a.txt", b"a"), ("outputs/b.txt", "->a.txt")), tmp_path)
    assert os.readlink(tmp_path / "outputs" / "b.txt") == "a.txt"


def test_it_does_not_write_through_a_symlink_planted_in_the_target(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(outside, dest / "outputs")
    with pytest.raises(CliError, match="outside"):
        safe_extract(tar_of(("outputs/x.txt", b"x")), dest)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_it_refuses_devices_and_pipes(tmp_path, kind):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("dev")
        info.type = kind
        tar.addfile(info)
    buffer.seek(0)
    with pytest.raises(CliError, match="refusing to extract 'dev': not a regular file, folder or link"):
        safe_extract(buffer, tmp_path / "dest")
    assert not (tmp_path / "dest" / "dev").exists()


def test_it_extracts_hard_links_inside_the_archive_with_the_leading_folder_stripped(tmp_path):
    written = safe_extract(tar_of(("j1/outputs/a.txt", b"a"), ("j1/outputs/b.txt", "=>j1/outputs/a.txt")), tmp_path,
                           strip="j1")
    assert sorted(written) == ["outputs/a.txt", "outputs/b.txt"]
    assert (tmp_path / "outputs" / "b.txt").read_bytes() == b"a"


def test_it_refuses_hard_links_to_files_outside(tmp_path):
    with pytest.raises(CliError, match="refusing to extract 'leak': it links to '../secret'"):
        safe_extract(tar_of(("leak", "=>../secret")), tmp_path / "dest")


def test_it_drops_set_user_id_bits(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("tool")
        info.mode, info.size = 0o4755, 2
        tar.addfile(info, io.BytesIO(b"#!"))
    buffer.seek(0)
    safe_extract(buffer, tmp_path)
    assert not (tmp_path / "tool").stat().st_mode & 0o4000


def test_it_says_when_the_download_is_not_an_archive(tmp_path):
    with pytest.raises(CliError, match="not a tar archive"):
        safe_extract(io.BytesIO(b"<html>oops</html>"), tmp_path)
