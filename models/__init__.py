"""The model registry. Importing this package registers every model module listed below."""
from models.core.registry import REGISTRY, FoldData, ModelSpec, get_model, register, resolve_hparams

# Each module registers its models on import; add a new module here.
from models.text import tfidf, text_rnn  # noqa: E402,F401
from models.text import text_cnn, text_transformer, pretrained_text  # noqa: E402,F401
from models.image import image_cnn, image_transfer  # noqa: E402,F401

__all__ = ["REGISTRY", "FoldData", "ModelSpec", "get_model", "register", "resolve_hparams"]
