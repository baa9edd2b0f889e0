"""The engine: pair features, coupling labels, scenarios, scoring kernels, shortlist, compare, explain.

Everything here works on tables from :mod:`recommender.data`; nothing here imports the
learned models, the writers or the front ends.
"""
