"""Image models: backbones, cached features, classification heads, a small CNN."""
