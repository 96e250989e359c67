"""`yibao bench`: the rule calculators measured against peers in the same run.

The benchmark lives inside the package (not in a top-level ``benchmarks/`` folder) so that the
console command works from a fresh clone after ``pip install -e .``. Modules:

- :mod:`~yibao.bench.rules_view` — the slice of a region's rules the peers implement, read from
  the same policy Snapshot yibao uses;
- :mod:`~yibao.bench.data` — seeded synthetic wages and claims (``np.random.default_rng(seed)``);
- :mod:`~yibao.bench.loop` — peer: a per-row Python loop on plain ints;
- :mod:`~yibao.bench.openfisca_peer` — peer: an idiomatic OpenFisca encoding (float32 money);
- :mod:`~yibao.bench.yibao_side` — yibao's own columnar calculators, called as a user would;
- :mod:`~yibao.bench.measure` — timing and memory per row;
- :mod:`~yibao.bench.runner` — the suites, the cross-checks and the table.
"""

__all__: list[str] = []
