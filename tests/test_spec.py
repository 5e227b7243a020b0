"""Model specifications: bundled specs load; malformed specs raise SpecError."""

from __future__ import annotations

import pytest

from credibility.data.spec import load_spec, parse_spec
from credibility.errors import SpecError
from credibility.resources import models_dir

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
    with pytest.raises(SpecError, match=r"bundled specifications: .*default"):
        load_spec("no_such_spec")


def test_spectral_states_are_off_by_default_and_parsed():
    assert not parse_spec(VALID).spectral_states
    spec = parse_spec(VALID.replace("[model]", "[model]\nspectral_states = true\n"
                                               "spectral_data_precision = 2.5"))
    assert spec.spectral_states and spec.spectral_data_precision == 2.5


# Several dimensions (docs/model.md, "Several dimensions").

TWO = """
[model]
name = "two"
dimensions = ["capability", "willingness"]
[[signals]]
name = "troops"
family = "amount"
dimension = "capability"
[[signals]]
name = "consultation"
family = "ordinal"
levels = 4
dimension = "willingness"
[[signals]]
name = "exercises"
family = "count"
dimension = "willingness"
also = ["capability"]
"""


def _with_model_key(text: str, line: str) -> str:
    return text.replace("[model]", f"[model]\n{line}", 1)


def test_one_dimension_is_the_default_and_explicit_one_is_the_same_spec():
    spec = parse_spec(VALID)
    assert spec.dimensions == ("credibility",)
    assert spec.signals[0].dimension == "credibility" and spec.signals[0].also == ()
    assert spec.priors.dimension_correlation_eta == 2.0
    explicit = parse_spec(_with_model_key(VALID, 'dimensions = ["credibility"]')
                          + 'dimension = "credibility"\n')
    assert explicit == spec
    default = load_spec("default")
    assert default.dimensions == ("credibility",)
    assert {s.dimension for s in default.signals} == {"credibility"}
    assert all(s.also == () for s in default.signals)


def test_two_dimensions_parse_with_dimension_also_and_correlation_prior():
    spec = parse_spec(TWO.replace("[model]", "[priors]\ndimension_correlation_eta = 4.0\n"
                                             "[model]"))
    assert spec.dimensions == ("capability", "willingness")
    assert [(s.dimension, s.also) for s in spec.signals] == [
        ("capability", ()), ("willingness", ()), ("willingness", ("capability",))]
    assert spec.signal_dimensions("exercises") == ("willingness", "capability")
    assert spec.priors.dimension_correlation_eta == 4.0
    # A signal without `dimension` loads on the first dimension.
    first = parse_spec(TWO.replace('dimension = "capability"\n', "", 1))
    assert first.signal("troops").dimension == "capability"


def test_every_bundled_spec_parses_and_capability_willingness_is_identified():
    for path in sorted(models_dir().glob("*.toml")):
        load_spec(path)
    spec = load_spec("capability_willingness")
    assert spec.dimensions == ("capability", "willingness")
    assert spec.signal_names == load_spec("default").signal_names
    assert "their interaction" in spec.description
    assert [s.name for s in spec.signals if s.also] == ["joint_exercises"]
    for dimension in spec.dimensions:
        assert any(s.dimension == dimension and not s.also and s.level == "commitment"
                   for s in spec.signals)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_with_model_key(VALID, "dimensions = []"), "expected a non-empty list"),
        (_with_model_key(VALID, 'dimensions = "capability"'), "expected a non-empty list"),
        (_with_model_key(VALID, 'dimensions = ["two words"]'), "letters, digits and underscores"),
        (TWO.replace('"willingness"]', '"willingness", "capability"]', 1),
         "dimensions must be unique; repeated: capability"),
        (TWO.replace('dimension = "capability"', 'dimension = "resolve"', 1),
         "dimension = 'resolve' is not one of [model] dimensions (capability, willingness)"),
        (TWO.replace('also = ["capability"]', 'also = ["resolve"]'),
         "also names unknown dimension(s) 'resolve'"),
        (TWO.replace('also = ["capability"]', 'also = ["willingness"]'),
         "includes its own dimension 'willingness'"),
        (TWO.replace('also = ["capability"]', 'also = "capability"'), "expected a list"),
        (TWO.replace('also = ["capability"]', 'also = ["capability", "capability"]'),
         "also repeats capability"),
        (VALID + 'also = ["willingness"]\n',
         "signal(s) exercises set 'also' but [model] declares one dimension (credibility)"),
        (TWO.replace('"willingness"]', '"willingness", "resolve"]', 1),
         "no signal loads on dimension 'resolve'"),
        # capability's only pure signal cross-loads: no signal loads on it alone.
        (TWO.replace('dimension = "capability"', 'dimension = "capability"\n'
                     'also = ["willingness"]', 1),
         "dimension 'capability' is not identified: no commitment-level signal loads on it "
         "alone (signals loading on it: troops, exercises)"),
        # An alliance-level signal does not identify a dimension.
        (TWO.replace('dimension = "capability"', 'dimension = "capability"\n'
                     'level = "alliance"', 1),
         "dimension 'capability' is not identified"),
        (_with_model_key(TWO, "spectral_states = true"),
         "[model] spectral_states cannot be combined with 2 dimensions (capability, "
         "willingness): their coordinates are defined for one latent"),
        (_with_model_key(TWO, 'spectral_states = true\nmarker_signal = "troops"'),
         "[model] spectral_states, marker_signal cannot be combined with 2 dimensions"),
        (_with_model_key(TWO, 'residual_signal = "troops"'),
         "[model] residual_signal cannot be combined with 2 dimensions"),
        (TWO + "[priors]\ndimension_correlation_eta = 0\n", "dimension_correlation_eta = 0"),
    ],
)
def test_unidentified_or_unsupported_dimensions_raise_spec_error(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="bad.toml")
    assert "bad.toml" in str(info.value)
    assert fragment in str(info.value)
