"""sistercity: a sister-city partner recommender for Indonesian cities.

The engine reads four size indicators (population, area, GDP per capita, HDI) for a local
Indonesian city and every foreign candidate, turns each pair into signed asymmetries, and
ranks candidates by the coupling a scenario prefers (Small-Big by default, after
Sinambela et al. 2025). See README.md for the formula and its defaults.
"""

from recommender.errors import RecommenderError

__version__ = "0.1.0"

__all__ = ["RecommenderError", "__version__"]
