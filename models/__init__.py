"""Trained models (installed as ``recommender.model_files``); see README.md."""
