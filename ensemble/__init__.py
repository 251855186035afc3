"""Stacking and blending over the out-of-fold predictions of a run (`python -m ensemble`)."""
