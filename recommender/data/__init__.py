"""The data layer: packaged tables, their cache, user CSVs, name resolution, the indicator registry.

Modules: :mod:`~recommender.data.indicators` (the four size indicators and data levels),
:mod:`~recommender.data.schema` (the table contract), :mod:`~recommender.data.tables`
(loading, validation, names, user data) and :mod:`~recommender.data.access` (default tables
for the engine). Import the module you need; this ``__init__`` stays empty so that the CLI's
``--help`` path imports no pandas.
"""
