"""The agent keeps what a node leaves in ./outputs without being turned against the studio: a link
the job made is kept as a link (never followed into the studio's files), a FIFO is not opened."""

from __future__ import annotations

import os

from jobs.runtime.agent import run_node
from tests.runtime.test_agent import Recorder, assignment


def test_it_never_follows_a_link_the_job_made_into_the_studios_files(tmp_path, sandbox_mode):
    studio_secret = tmp_path / "studio-secret.txt"
    studio_secret.write_text("the studio's own secret")
    yaml_text = (f"command: rm -rf outputs && ln -s {tmp_path} outputs && "
                 f"ln -s {studio_secret} $AZURE_ML_OUTPUT_model/weights.bin && echo ok\n"
                 "outputs:\n  model:\n    type: uri_folder\n")
    outcome = run_node(assignment(tmp_path, yaml_text, sandbox=sandbox_mode), Recorder())
    assert outcome.status == "Completed", outcome.message
    artifacts = tmp_path / "artifacts"
    assert not (artifacts / "outputs").exists()  # ./outputs itself was a link: nothing is kept
    kept = artifacts / "named-outputs" / "model" / "weights.bin"
    assert kept.is_symlink()  # kept as the link it is; the artifact server refuses links that leave
    assert "the studio's own secret" not in "".join(
        p.read_text() for p in artifacts.rglob("*") if p.is_file() and not p.is_symlink())


def test_it_skips_a_fifo_instead_of_hanging_on_it(tmp_path, sandbox_mode):
    yaml_text = "command: mkfifo outputs/pipe && echo data > outputs/real.txt\n"
    outcome = run_node(assignment(tmp_path, yaml_text, sandbox=sandbox_mode), Recorder())
    assert outcome.status == "Completed", outcome.message
    kept = tmp_path / "artifacts" / "outputs"
    assert (kept / "real.txt").read_text() == "data\n"
    assert not os.path.lexists(kept / "pipe")
