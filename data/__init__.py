"""Packaged data tables (installed as ``recommender.data_files``); see SOURCES.md."""
