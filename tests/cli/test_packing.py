import io
import os
import tarfile

import pytest

from studio.cli.errors import CliError
from studio.cli.packing import IgnoreRules, pack


def members(archive) -> dict[str, tarfile.TarInfo]:
    archive.file.seek(0)
    with tarfile.open(fileobj=archive.file, mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def content(archive, name: str) -> bytes:
    archive.file.seek(0)
    with tarfile.open(fileobj=archive.file, mode="r:gz") as tar:
        return tar.extractfile(name).read()


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print('hi')\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    return root


def test_it_packs_a_folder_relative_to_itself(src):
    with pack(src, field_name="code", code=True) as archive:
        assert set(members(archive)) == {"pkg", "pkg/util.py", "train.py"}
        assert content(archive, "train.py") == b"print('hi')\n"
        assert (archive.files, archive.size) == (2, len("print('hi')\n") + len("X = 1\n"))
        assert members(archive)["train.py"].uname == ""


def test_it_skips_git_caches_and_virtualenvs_in_code(src):
    for folder in (".git", "__pycache__", "pkg/__pycache__", ".venv/lib"):
        (src / folder).mkdir(parents=True)
        (src / folder / "junk").write_text("x")
    with pack(src, field_name="code", code=True) as archive:
        assert set(members(archive)) == {"pkg", "pkg/util.py", "train.py"}


def test_it_keeps_everything_in_input_data(src):
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("x")
    with pack(src, field_name="inputs.data") as archive:
        assert ".git/HEAD" in members(archive)


def test_it_honours_amlignore_before_gitignore(src):
    (src / "data").mkdir()
    (src / "data" / "big.csv").write_text("1,2\n")
    (src / "notes.log").write_text("log")
    (src / "keep.log").write_text("log")
    (src / ".gitignore").write_text("train.py\n")
    (src / ".amlignore").write_text("# comment\ndata/\n*.log\n!keep.log\n/pkg/util.py\n")
    with pack(src, field_name="code", code=True) as archive:
        assert set(members(archive)) == {".amlignore", ".gitignore", "keep.log", "pkg", "train.py"}


def test_it_honours_gitignore_without_amlignore(src):
    (src / ".gitignore").write_text("**/util.py\n")
    with pack(src, field_name="code", code=True) as archive:
        assert "pkg/util.py" not in members(archive) and "train.py" in members(archive)


def test_it_matches_ignore_patterns_like_git():
    rules = IgnoreRules([("out", False, True, False), ("docs/*.md", False, False, True)])
    assert rules.ignored("a/out", is_dir=True)
    assert not rules.ignored("a/out", is_dir=False)  # "out/" matches folders only
    assert rules.ignored("docs/x.md", is_dir=False)
    assert not rules.ignored("sub/docs/x.md", is_dir=False)  # anchored at the folder


def test_it_packs_a_symlink_that_stays_inside(src):
    os.symlink("train.py", src / "main.py")
    with pack(src, field_name="code", code=True) as archive:
        link = members(archive)["main.py"]
        assert link.issym() and link.linkname == "train.py"


def test_it_refuses_a_symlink_pointing_outside_the_folder(src, tmp_path):
    (tmp_path / "secret.txt").write_text("password")
    os.symlink(tmp_path / "secret.txt", src / "pkg" / "leak.txt")
    with pytest.raises(CliError) as error:
        pack(src, field_name="code", code=True)
    assert "code: 'pkg/leak.txt' is a symbolic link" in error.value.message
    assert "outside" in error.value.message


def test_it_refuses_a_symlinked_folder_pointing_outside(src, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", src / "data")
    with pytest.raises(CliError, match="'data' is a symbolic link"):
        pack(src, field_name="code", code=True)


def test_it_refuses_code_over_the_size_limit(src, monkeypatch):
    (src / "weights.bin").write_bytes(b"\0" * 5000)
    monkeypatch.setenv("STUDIO_CODE_MAX_BYTES", "4096")
    with pytest.raises(CliError) as error:
        pack(src, field_name="code", code=True)
    message = error.value.message
    assert message.startswith("code: ") and "5018 bytes" in message and "4096 bytes" in message
    assert "STUDIO_CODE_MAX_BYTES" in message


def test_it_explains_a_bad_size_limit(src, monkeypatch):
    monkeypatch.setenv("STUDIO_CODE_MAX_BYTES", "lots")
    with pytest.raises(CliError, match="STUDIO_CODE_MAX_BYTES must be a whole number"):
        pack(src, field_name="code", code=True)


def test_it_names_a_missing_folder(tmp_path):
    with pytest.raises(CliError) as error:
        pack(tmp_path / "nope", field_name="code", code=True)
    assert error.value.message == f"code: {tmp_path / 'nope'} does not exist"


def test_it_packs_a_single_file_under_its_own_name(tmp_path):
    data = tmp_path / "iris.csv"
    data.write_text("a,b\n")
    with pack(data, field_name="inputs.iris") as archive:
        assert list(members(archive)) == ["iris.csv"]
        assert archive.compressed_size == os.fstat(archive.file.fileno()).st_size > 0


def test_it_writes_the_archive_to_a_temporary_file_not_memory(src):
    with pack(src, field_name="code", code=True) as archive:
        assert not isinstance(archive.file, io.BytesIO)
        assert os.fstat(archive.file.fileno()).st_size == archive.compressed_size
    assert archive.file.closed
