import pytest

from studio.cli.main import build_parser, main


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_it_accepts_shared_options_before_or_after_the_command():
    early = parse("--output", "json", "--url", "http://s:1", "job", "list")
    late = parse("job", "list", "-o", "json", "--url", "http://s:1", "--token", "t")
    assert (early.output, early.url) == ("json", "http://s:1")
    assert (late.output, late.url, late.token) == ("json", "http://s:1", "t")


def test_it_leaves_shared_options_unset_when_not_given():
    args = parse("job", "show", "--name", "j")
    assert not hasattr(args, "output") and not hasattr(args, "url") and not hasattr(args, "token")


def test_it_collects_repeated_set_options_in_order():
    args = parse("job", "create", "-f", "job.yml", "--set", "a=1", "--set", "inputs.x=y=z", "--stream")
    assert args.sets == ["a=1", "inputs.x=y=z"] and args.stream and args.file == "job.yml"


@pytest.mark.parametrize("bad", ["novalue", "=1"])
def test_it_refuses_a_set_without_path_and_value(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse("job", "create", "-f", "job.yml", "--set", bad)
    assert exit_info.value.code == 2
    assert "expected path=value" in capsys.readouterr().err


def test_it_requires_a_name_for_job_commands(capsys):
    with pytest.raises(SystemExit):
        parse("job", "stream")
    assert "--name" in capsys.readouterr().err


def test_it_refuses_an_unknown_output_format(capsys):
    with pytest.raises(SystemExit):
        parse("job", "list", "--output", "yaml")
    assert "invalid choice" in capsys.readouterr().err


def test_it_takes_a_waiting_reason_code_to_list():
    assert parse("job", "list", "--waiting-reason", "QuotaBusy").waiting_reason == "QuotaBusy"
    assert parse("job", "list").waiting_reason is None


def test_it_takes_several_files_to_validate():
    assert parse("validate", "-f", "a.yml", "--file", "b.yml").files == ["a.yml", "b.yml"]


def test_it_refuses_a_max_results_below_one(capsys):
    with pytest.raises(SystemExit):
        parse("job", "list", "--max-results", "0")
    assert "must be 1 or more" in capsys.readouterr().err


def test_it_prints_its_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("studio ")


GROUPS = [["job"], ["quota"], ["usage"], ["compute"], ["vm-size"]]


@pytest.mark.parametrize("command", [
    [], *GROUPS, ["job", "create"], ["job", "stream"], ["job", "show"], ["job", "list"], ["job", "cancel"],
    ["job", "download"], ["job", "explain"], ["job", "evict"], ["validate"],
    ["quota", "list"], ["quota", "set"], ["usage", "list"], ["compute", "create"], ["compute", "list"],
    ["compute", "show"], ["compute", "delete"], ["compute", "list-sizes"], ["vm-size", "list"]])
def test_it_has_help_with_examples_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: studio" in out
    if command not in GROUPS:
        assert "examples:" in out
        assert f"studio {' '.join(command)}" in out.split("examples:")[1]


@pytest.mark.parametrize("group, commands", [("quota", ["list", "set"]), ("usage", ["list"]),
                                             ("compute", ["create", "list", "show", "delete", "list-sizes"]),
                                             ("vm-size", ["list"])])
def test_it_shows_a_groups_commands_when_none_is_given(run, group, commands):
    code, _, err = run(group)
    assert code == 2 and all(name in err for name in commands)


def test_it_defaults_new_computes_like_az_ml():
    args = parse("compute", "create", "-n", "c", "--size", "Standard_DS3_v2")
    assert (args.min_instances, args.max_instances, args.idle_time_before_scale_down) == (0, 1, 120)


def test_it_shows_help_when_no_command_is_given(run):
    code, out, err = run("job")
    assert code == 2 and "create" in err and "download" in err
