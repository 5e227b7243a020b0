"""Simulated data sets that several test modules fit (synthetic, seeded)."""

from __future__ import annotations

from seeding import seed

from credibility.data.spec import parse_spec
from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments
from credibility.spec import ModelSpec

#: Explicit priors of persistence and of the alliance effects, shared by the test specs
#: of several dimensions (``[priors]`` lines; add others after them).
STRONG_PRIORS = """persistence = { alpha = 8.0, beta = 2.0 }
alliance_mean_sd = 0.5
alliance_dynamics_sd = 0.3
"""


def spec_head(name: str, *, dynamics: str = "ar1",
              dimensions: str | None = '["capability", "willingness"]', model: str = "",
              types: bool = False, priors: str = "") -> str:
    """The ``[model]``, ``[hierarchy]`` and ``[priors]`` tables of a test spec, without
    region effects; the signals' tables follow it.

    ``dimensions`` is the TOML list of ``[model] dimensions`` (``None``: the key is left
    out, one latent); ``model`` holds further ``[model]`` lines, ``priors`` the
    ``[priors]`` lines (the table is left out when empty).
    """
    head = f'\n[model]\nname = "{name}"\ndynamics = "{dynamics}"\n'
    if dimensions is not None:
        head += f"dimensions = {dimensions}\n"
    head += model + f"[hierarchy]\nregion = false\ntype = {str(types).lower()}\n"
    return head + (f"[priors]\n{priors}" if priors else "")


def split_signals(intel: str = "intel_sharing") -> str:
    """Three signals of two dimensions: troops purely on capability, a binary one named
    ``intel`` purely on willingness, and spending on willingness with a cross-loading
    on capability (so both of its capability loadings exist)."""
    return f"""[[signals]]
name = "troops"
family = "amount"
dimension = "capability"
intercept = {{ mu = 6.0, sigma = 0.5 }}
loading = 1.0
noise = 0.3
[[signals]]
name = "{intel}"
family = "binary"
dimension = "willingness"
intercept = {{ mu = 0.0, sigma = 0.5 }}
loading = 1.0
[[signals]]
name = "spending"
family = "ratio"
target = 2.0
dimension = "willingness"
also = ["capability"]
intercept = {{ mu = 0.0, sigma = 0.5 }}
loading = 0.5
noise = 0.2
"""


def signal_tables(text: str, *names: str) -> str:
    """The ``[[signals]]`` tables of the spec ``text`` named ``names``, in that order."""
    tables = {table.split('name = "', 1)[1].split('"', 1)[0]: "[[signals]]" + table
              for table in text.split("[[signals]]")[1:]}
    return "".join(tables[name] for name in names)


def signal_table(name: str, family: str, **fields: object) -> str:
    """One ``[[signals]]`` table of a test spec: ``name``, ``family``, then ``fields`` in
    the order given (strings quoted, lists and mappings as TOML arrays and inline
    tables, e.g. ``intercept={"mu": 6.0, "sigma": 1.0}``)."""
    def value(item: object) -> str:
        if isinstance(item, str):
            return f'"{item}"'
        if isinstance(item, dict):
            return "{ " + ", ".join(f"{k} = {value(v)}" for k, v in item.items()) + " }"
        if isinstance(item, list):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return repr(item)

    lines = [f"{key} = {value(item)}" for key, item in
             {"name": name, "family": family, **fields}.items()]
    return "[[signals]]\n" + "\n".join(lines) + "\n"


def complete_simulation(spec: ModelSpec, alliances: int) -> Simulation:
    """SYNTHETIC: two commitments in ``alliances`` alliances over 2000-2002, every row
    kept, all starting in 2000: the data of the hand computations of a log density."""
    structure = synthetic_commitments(2, alliances, (2000, 2002), seed=0, staggered=False)
    return simulate(spec, structure, seed=seed(1), last_period=2002, missing=0.0)


#: Troops on capability, the first signal of :data:`TWO_DIMENSION_SIGNALS`.
TROOPS_CAPABILITY = signal_table("troops", "amount", dimension="capability",
                                 intercept={"mu": 6.0, "sigma": 1.0}, loading=1.0, noise=0.3)

#: Consultation (four ordered levels) on willingness, of :data:`TWO_DIMENSION_SIGNALS`.
CONSULTATION_WILLINGNESS = signal_table("consultation", "ordinal", levels=4,
                                        dimension="willingness", loading=2.0)

#: The signals of the two-dimension recovery specs (tests/test_dimensions_model.py and
#: tests/test_dimensions_predictor.py): strong loadings, two pure signals on each of
#: capability and willingness (one with direction -1) and one cross-loaded signal.
TWO_DIMENSION_SIGNALS = "\n" + "".join([
    TROOPS_CAPABILITY,
    signal_table("spending", "ratio", target=2.0, dimension="capability",
                 intercept={"mu": 0.0, "sigma": 0.5}, loading=1.0, noise=0.3),
    signal_table("frictions", "count", dimension="willingness", direction=-1,
                 intercept={"mu": 1.5, "sigma": 0.5}, loading=1.0, noise=0.2),
    CONSULTATION_WILLINGNESS,
    signal_table("exercises", "amount", dimension="willingness", also=["capability"],
                 intercept={"mu": 2.0, "sigma": 1.0}, loading=1.0, noise=0.3),
])

def one_dimension_signals() -> str:
    """:data:`TWO_DIMENSION_SIGNALS` with every signal on one latent: the same signals,
    priors and directions, without their ``dimension`` and ``also`` keys."""
    return "".join(line + "\n" for line in TWO_DIMENSION_SIGNALS.splitlines()
                   if not line.startswith(("dimension =", "also =")))


def tiny_simulation() -> Simulation:
    """SYNTHETIC: 5 commitments in 2 alliances over 2000-2006, the default spec.

    The data of :func:`tiny_fit`. Tests that fit some small data set and do not need
    particular data fit these: a model of the same data compiles to the same numba
    code, which the second and later fits load from the compile cache (on an empty
    cache a new data set's model took 15-40 s to compile, a known one's about 7 s).
    """
    return simulate("default", synthetic_commitments(5, 2, (2000, 2006), seed=seed(3)),
                    seed=seed(3), last_period=2006)


#: The spec of :func:`two_dimension_outcome_simulation`: two dimensions with strong
#: loadings (two pure signals each, one cross-loaded), one covariate of the outcome and
#: no region effects.
TWO_DIMENSION_OUTCOME_SPEC = spec_head("two_dimensions_outcome",
                                       priors=STRONG_PRIORS) + """[outcome]
covariates = ["capability_ratio"]
region = false
intercept_sd = 1.5
credibility_sd = 1.0
covariate_sd = 1.0
""" + TWO_DIMENSION_SIGNALS

#: The true measurement parameters of :func:`two_dimension_outcome_simulation`.
TWO_DIMENSION_FIXED = {
    "dimension_correlation": [[1.0, 0.3], [0.3, 1.0]],
    "persistence_commitment": 0.8,
    "troops": {"loading": 0.6, "noise": 0.3}, "spending": {"loading": 0.4, "noise": 0.3},
    "frictions": {"loading": -0.5, "noise": 0.2}, "consultation": {"loading": 1.5},
    "exercises": {"loading": 0.5, "loading_also": {"capability": 0.3}, "noise": 0.3}}

#: The true outcome model of :func:`two_dimension_outcome_simulation`: slopes of
#: capability and willingness, their interaction, the covariate's effect.
TWO_DIMENSION_TRUE = {"outcome_intercept": 0.3, "capability": 1.0, "willingness": 1.0,
                      "outcome_interaction": 0.8, "capability_ratio": -0.5}


def two_dimension_outcome_simulation(cases: int = 300) -> Simulation:
    """SYNTHETIC: 20 commitments in 4 alliances over 2000-2011, two dimensions
    (:data:`TWO_DIMENSION_OUTCOME_SPEC`, :data:`TWO_DIMENSION_FIXED`), and ``cases``
    deterrence cases from :data:`TWO_DIMENSION_TRUE`: the data of the suite's shared fit
    of two dimensions (tests/conftest.py, ``two_dimension_fit``)."""
    spec = parse_spec(TWO_DIMENSION_OUTCOME_SPEC, source="two_dimensions_outcome.toml")
    structure = synthetic_commitments(20, 4, (2000, 2011), seed=seed(7), staggered=False)
    sim = simulate(spec, structure, seed=seed(7), last_period=2011, fixed=TWO_DIMENSION_FIXED)
    true = TWO_DIMENSION_TRUE
    return simulate_cases(sim, cases, seed=seed(2), intercept=true["outcome_intercept"],
                          dimensions={"capability": true["capability"],
                                      "willingness": true["willingness"]},
                          interaction=true["outcome_interaction"],
                          covariates={"capability_ratio": true["capability_ratio"]})
