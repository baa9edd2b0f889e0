"""Learned feasibility (training, safe loading) and the held-out evaluation against baselines."""
