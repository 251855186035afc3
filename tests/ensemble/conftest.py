"""A run directory with fake models whose OOF probabilities (and embeddings) are known."""
import numpy as np
import pytest
from scipy.stats import ortho_group

from challenge import read_challenge
from folds import FoldOutput, RunDir


def save_fake_model(run, folds, y, name, probs, n_test, rng, embed=None, test_embed=None, config=None):
    """Store `probs` (n_train, classes) as a model's OOF, fold by fold, with random test
    probabilities; `embed` (n_train, d) and `test_embed` (folds, n_test, d) as its embeddings;
    `config` (default {"model": name}) as its config.json."""
    store = run.model(name)
    store.save_config(config or {"model": name})
    n_classes = probs.shape[1]
    for k in range(int(folds.max()) + 1):
        rows = folds.to_numpy() == k
        output = FoldOutput(probs[rows], rng.dirichlet(np.ones(n_classes), n_test))
        if embed is not None:
            output.val_embed, output.test_embed = embed[rows], test_embed[k]
        store.save_fold(k, output, y[rows])
    store.assemble(folds, y)


@pytest.fixture
def run_with_models(demo_dir, tmp_path):
    """A run with two fake models: 'signal' (noisy but informative) and 'noise' (random)."""
    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    classes, folds = run.prepare(data, n_folds=4)
    y = classes.encode(data.labels)
    rng = np.random.default_rng(0)
    onehot = np.eye(len(classes))[y]
    save_fake_model(run, folds, y, "signal", 0.6 * onehot + 0.4 * rng.dirichlet(np.ones(len(classes)), len(y)),
                    len(data.test), rng)
    save_fake_model(run, folds, y, "noise", rng.dirichlet(np.ones(len(classes)), len(y)), len(data.test), rng)
    return run, y


def class_signal_embeddings(y, folds, n_test, rng, signal_dims, width=None, noise=0.0):
    """Embeddings of width `width` (default `signal_dims`) holding a `signal_dims`-d class signal,
    each fold model writing it in its own random orthonormal frame, plus Gaussian `noise`:
    (OOF rows (n_train, width), [test rows (n_test, width)] per fold)."""
    width = width or signal_dims
    n_folds, n_classes = int(folds.max()) + 1, int(y.max()) + 1
    centres = rng.normal(0, 1.5, (n_classes, signal_dims))
    latent = centres[y] + rng.normal(0, 1, (len(y), signal_dims))
    test_latent = centres[rng.integers(0, n_classes, n_test)] + rng.normal(0, 1, (n_test, signal_dims))
    frames = [ortho_group.rvs(width, random_state=k)[:signal_dims] for k in range(n_folds)]
    noisy = (lambda a: a + rng.normal(0, noise, a.shape)) if noise else (lambda a: a)  # noqa: E731
    embed = np.zeros((len(y), width))
    for k in range(n_folds):
        rows = folds.to_numpy() == k
        embed[rows] = noisy(latent[rows] @ frames[k])
    return embed, [noisy(test_latent @ f) for f in frames]


@pytest.fixture
def run_with_embeddings(run_with_models, demo_dir):
    """Adds 'emb_signal': 16-d embeddings that separate the classes but that every fold model
    writes in its own randomly rotated space (as fold-wise SVDs or networks do), and 'emb_noise':
    pure-noise embeddings."""
    run, y = run_with_models
    folds = run.folds()
    n_folds, n_test, n_classes = int(folds.max()) + 1, len(run.test_index()), int(y.max()) + 1
    rng = np.random.default_rng(1)
    embed, tests = class_signal_embeddings(y, folds, n_test, rng, signal_dims=16)
    flat = rng.dirichlet(np.ones(n_classes), len(y))
    save_fake_model(run, folds, y, "emb_signal", flat, n_test, rng, embed, tests)
    noise_test = rng.normal(size=(n_test, 32))
    save_fake_model(run, folds, y, "emb_noise", flat, n_test, rng, rng.normal(size=(len(y), 32)),
                    [noise_test] * n_folds)
    return run, y


@pytest.fixture
def fake_model():
    """The helper above, for tests that add a model of their own."""
    return save_fake_model


@pytest.fixture
def signal_embeddings():
    """class_signal_embeddings, for tests that add embeddings of their own."""
    return class_signal_embeddings
