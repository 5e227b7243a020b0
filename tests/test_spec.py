"""Model specifications: bundled specs load; malformed specs raise SpecError."""

from __future__ import annotations

import pytest

from credibility.errors import SpecError
from credibility.spec import load_spec, parse_spec

VALID = """
[model]
name = "t"
[[signals]]
name = "exercises"
family = "count"
"""


def test_default_spec_loads_every_declared_signal():
    spec = load_spec("default")
    assert spec.dynamics == "ar1"
    assert spec.signal_names == (
        "joint_exercises", "troops", "spending_ratio", "consultation", "intel_sharing",
        "alliance_exercises",
    )
    assert spec.signal("consultation").levels == 4
    assert spec.signal("alliance_exercises").level == "alliance"
    assert len(spec.sha256) == 64


def test_spec_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(VALID)
    assert load_spec(path).name == "t"
    assert load_spec(str(path)).signals[0].intercept is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[model\nname=1", "not valid TOML"),
        ("[model]\nname='t'\n", "at least one [[signals]]"),
        (VALID + "colour = 'red'\n", "unknown key(s) colour"),
        (VALID.replace('"count"', '"poisson"'), "family = 'poisson'"),
        (VALID + "level = 'region'\n", "level = 'region'"),
        (VALID + "direction = 2\n", "direction = 2"),
        (VALID + "levels = 3\n", "has levels but family 'count'"),
        (VALID.replace('"count"', '"ordinal"'), "needs levels"),
        (VALID + "target = 2.0\n", "has a target"),
        (VALID + "intercept = 3\n", "intercept must be"),
        (VALID + "loading = -1\n", "expected a positive number"),
        (VALID.replace('"count"', '"binary"') + "noise = 0.5\n", "has no noise"),
        (VALID + VALID.split("\n", 3)[3], "signal names must be unique"),
        (VALID.replace("[model]", "[model]\ndynamics = 'ar2'"), "dynamics = 'ar2'"),
        (VALID + "[priors]\nalliance_mean_sd = -1\n", "alliance_mean_sd = -1.0"),
        (VALID.replace("[model]", "[model]\ncentred_states = ['region']"), "centred_states"),
        (VALID.replace("[model]", "[model]\nspectral_states = 'yes'"), "expected true or false"),
        (VALID.replace("[model]", "[model]\nspectral_states = true\ndynamics = 'random_walk'"),
         "needs dynamics = 'ar1'"),
        (VALID.replace("[model]", "[model]\nspectral_states = true\ncentred_states = []"),
         "add 'commitment' to centred_states"),
        (VALID.replace("[model]", "[model]\nspectral_data_precision = 0"),
         "spectral_data_precision"),
        (VALID + "level = 'alliance'\n", "at least one signal must have level = 'commitment'"),
        (VALID.replace('"exercises"', '"two words"'), "letters, digits and underscores"),
    ],
)
def test_bad_spec_raises_spec_error_naming_the_problem(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="bad.toml")
    assert "bad.toml" in str(info.value)
    assert fragment in str(info.value)


def test_missing_spec_file_lists_bundled_specs():
    with pytest.raises(SpecError, match="bundled specifications: default"):
        load_spec("no_such_spec")


def test_spectral_states_are_off_by_default_and_parsed():
    assert not parse_spec(VALID).spectral_states
    spec = parse_spec(VALID.replace("[model]", "[model]\nspectral_states = true\n"
                                               "spectral_data_precision = 2.5"))
    assert spec.spectral_states and spec.spectral_data_precision == 2.5
