"""The format registry is the one place formats are declared: every consumer agrees with it."""
import pytest

from kelora.formats import OUTPUT_FORMATS, INPUT_FORMATS, make_formatter, make_input_parser, registry
from kelora.formats.detect import _LINE_TESTS, detect_format


def test_every_registered_input_format_builds_a_parser():
    for fmt in registry.INPUTS.values():
        spec = fmt.name + {"columns": ":a b", "pattern": ":(?P<a>.*)"}.get(fmt.spec, "")
        parser = make_input_parser(spec)
        if not fmt.auto:
            assert parser.format_name.startswith(fmt.name)


def test_every_registered_output_format_builds_a_formatter():
    for fmt in registry.OUTPUTS.values():
        out = make_formatter(fmt.name, keys=["a"] if fmt.needs_keys else None)
        assert out.format_name == fmt.name
        assert bool(out({"a": 1})) == (fmt.name != "none")


def test_the_flag_help_and_the_error_hint_list_exactly_the_registry():
    from kelora.cli.flags import build_command

    help_of = {p.name: p.help for p in build_command().params}
    assert help_of["input_format"] == registry.input_help()
    assert help_of["output_format"] == registry.output_help()
    for name in registry.INPUTS:
        assert name in help_of["input_format"]
    for name in registry.OUTPUTS:
        assert name in help_of["output_format"]
    assert set(INPUT_FORMATS) == set(registry.input_names()) and OUTPUT_FORMATS == tuple(registry.OUTPUTS)


def test_detection_tries_exactly_the_ranked_formats():
    assert set(registry.detection_order()) == set(_LINE_TESTS)
    assert registry.detection_order() == ("json", "syslog", "combined", "logfmt")
    assert detect_format('{"a": 1}') == "json"
    assert detect_format("a=1 b=2") == "logfmt"


@pytest.mark.parametrize("name", [f.name for f in registry.INPUTS.values() if f.has_header])
def test_header_formats_consume_their_first_line(name):
    parser = make_input_parser(name)
    sep = "\t" if name.startswith("tsv") else ","
    assert parser.parse(f"a{sep}b") is None
    assert parser.parse(f"1{sep}2") == {"a": "1", "b": "2"} or parser.parse(f"1{sep}2") is not None


def test_only_the_csv_family_needs_keys():
    assert {f.name for f in registry.OUTPUTS.values() if f.needs_keys} == {"csv", "tsv", "csvnh", "tsvnh"}
