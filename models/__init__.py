"""The model registry. The first use of a name below (`from models import REGISTRY`) imports every
model module listed in MODEL_MODULES, which registers its models, and TensorFlow with them;
`models.catalogue` lists the names without that cost (for --help and argument checks)."""
from importlib import import_module

# Each module registers its models on import; add a new module here and its models to models/catalogue.py.
MODEL_MODULES = [
    "models.text.tfidf", "models.text.text_rnn",
    "models.text.text_cnn", "models.text.text_transformer", "models.text.pretrained_text", "models.text.knn_text",
    "models.image.image_cnn", "models.image.image_transfer", "models.image.knn_image",
]

__all__ = ["REGISTRY", "FoldData", "ModelSpec", "get_model", "register", "resolve_hparams"]


def __getattr__(name: str):
    """Module attributes on first use (PEP 562): importing `models.catalogue` stays light."""
    if name not in __all__:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    from models.core import rehearsal

    rehearsal.start()  # before any model module starts TensorFlow's runtime (a no-op unless rehearsing)
    for module in MODEL_MODULES:
        import_module(module)
    from models.core import registry

    return getattr(registry, name)
