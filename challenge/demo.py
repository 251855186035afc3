"""A small synthetic challenge folder, so the demo and the tests run with no download.

It is built like a real catalogue, where no one field tells every class:
- most classes have words of their own in the title (a French-looking vocabulary per class, with
  shared and borrowed words);
- some pairs of classes are listed with the same words and only the photo tells them apart (a
  dining table and a garden table are both "table chaise bois"): `IMAGE_TOLD`;
- some pairs are listed with the same words and look alike, and only the description tells them
  apart (a used and a new copy of a novel): `DESCRIPTION_TOLD`. About 35% of descriptions are empty,
  as in the challenge, so these products are sometimes beyond any model;
- images are small JPEGs whose shape and colour depend on the class, with noise, and a quarter of
  them show nothing of their class (a bad photo); a few labels are wrong.
So the title models, the description-reading models and the image model are each right where the
others are not, and a stack of them beats every one. Descriptions are HTML with entity-encoded
accents.

    python -m challenge.demo --out demo_data
"""
from __future__ import annotations

import argparse
import html
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

VOCABULARY = {
    10: "roman occasion poche auteur édition chapitre lecture tome",
    40: "jeu import japonais cartouche version région manette boîte",
    50: "chargeur câble support manette volant casque protection adaptateur",
    60: "console portable pack édition limitée rétro boîtier",
    1140: "figurine statuette collection manga résine héros socle",
    1160: "carte rare booster pokémon yu-gi-oh holographique deck",
    1180: "figurine warhammer peinture plateau miniature escouade",
    1280: "peluche poupée bébé éveil doudou jouet enfant",
    1281: "jeu société plateau cartes dés famille stratégie",
    1300: "drone maquette hélicoptère télécommandé moteur hélice",
    1301: "chaussettes bébé naissance layette bonnet coton",
    1302: "trampoline balançoire toboggan jardin extérieur filet",
    1320: "poussette siège auto biberon tétine sac langer",
    1560: "table chaise armoire commode meuble bois tiroir",
    1920: "coussin housse oreiller drap couette taie linge",
    1940: "café chocolat bonbon épices thé biscuit bio",
    2060: "décoration lampe guirlande cadre bougie miroir vase",
    2220: "chien chat collier litière croquettes gamelle laisse",
    2280: "magazine revue numéro hebdomadaire journal mensuel",
    2403: "lot livres bande dessinée collection intégrale série",
    2462: "lot jeux vidéo consoles manettes occasion complet",
    2522: "cahier stylo agenda carnet classeur papeterie feutre",
    2582: "salon jardin parasol transat bain soleil hamac",
    2583: "piscine pompe filtre bâche skimmer chlore spa",
    2585: "tondeuse taille-haie sécateur outil arrosage tuyau",
    2705: "livre neuf broché guide histoire récit biographie",
    2905: "jeu pc téléchargement dvd-rom logiciel windows steam",
}
# Pairs listed with the same words (title and description); each keeps its own photo.
IMAGE_TOLD = {
    (1140, 1180): "figurine statuette collection résine peinte socle personnage",
    (1560, 2582): "table chaise banc fauteuil ensemble bois métal places",
    (1920, 2060): "coussin décoratif rideau plaid motif tissu uni",
}
# Pairs listed with the same title words and shown alike; the description (VOCABULARY's words)
# says which: "occasion, lecture" or "neuf, broché"; "import japonais" or "pc windows".
DESCRIPTION_TOLD = {
    (10, 2705): "livre roman tome auteur édition français",
    (40, 2905): "jeu vidéo édition version complète collector",
    (1160, 1281): "jeu cartes boîte extension set complet",
}
SHARED = "lot neuf pack taille couleur noir blanc rouge grand petit x2 30cm qualité".split()
SHAPES = ("ellipse", "rectangle", "triangle", "cross", "ring", "bars")
COLOURS = ((200, 30, 30), (30, 140, 40), (30, 60, 200), (220, 160, 0), (130, 40, 160))
# Class frequencies loosely like the real challenge: a few large classes, a long tail.
WEIGHTS = np.array([3, 2, 2, 1, 3, 4, 1, 4, 3, 5, 1, 3, 4, 5, 6, 1, 5, 2, 5, 5, 1, 5, 3, 12, 3, 3, 1],
                   dtype=float)
OWN_WORD_IN_TITLE = 0.15  # how often a look-alike's title still carries one word of its own class


def _title(rng, words, all_words, own_words=()) -> str:
    chosen = list(rng.choice(words, size=rng.integers(2, 5), replace=False))
    chosen += list(rng.choice(SHARED, size=rng.integers(0, 3), replace=False))
    if len(own_words) and rng.random() < OWN_WORD_IN_TITLE:
        chosen.append(str(rng.choice(own_words)))
    if rng.random() < 0.3:
        chosen.append(str(rng.choice(all_words)))
    rng.shuffle(chosen)
    return " ".join(chosen).capitalize()


def _description(rng, words) -> str:
    if rng.random() < 0.35:
        return ""
    body = " ".join(rng.choice(words + SHARED, size=rng.integers(5, 15)))
    # Half the descriptions carry entity-encoded accents, as in the real data.
    if rng.random() < 0.5:
        body = html.escape(body).replace("é", "&eacute;").replace("è", "&egrave;").replace("'", "&#39;")
    return f"<p>Très bon état. {body}</p><br /><b>Livraison rapide</b>"


def _image(rng, class_position: int, size: int) -> Image.Image:
    background = tuple(int(v) for v in rng.integers(225, 256, size=3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    shape = SHAPES[class_position % len(SHAPES)]
    colour = tuple(int(np.clip(c + rng.integers(-30, 31), 0, 255))
                   for c in COLOURS[(class_position // len(SHAPES)) % len(COLOURS)])
    s = size * rng.uniform(0.3, 0.45)
    cx, cy = size / 2 + rng.uniform(-0.12, 0.12) * size, size / 2 + rng.uniform(-0.12, 0.12) * size
    box = (cx - s, cy - s, cx + s, cy + s)
    if shape == "ellipse":
        draw.ellipse(box, fill=colour)
    elif shape == "rectangle":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - s), (cx - s, cy + s), (cx + s, cy + s)], fill=colour)
    elif shape == "cross":
        draw.rectangle((cx - s, cy - s / 4, cx + s, cy + s / 4), fill=colour)
        draw.rectangle((cx - s / 4, cy - s, cx + s / 4, cy + s), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, size // 10))
    else:
        for k in range(3):
            x = cx - s + k * s * 0.8
            draw.rectangle((x, cy - s, x + s * 0.4, cy + s), fill=colour)
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(-20, 21, size=(size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def look_alikes(codes: list[int]) -> dict[int, dict]:
    """For each class of `codes`, where its text and photo come from: its title words, its
    description words, the class whose photo it shows, and (for a look-alike) the words of its own
    that its title sometimes carries. A look-alike pair counts only when both classes are present;
    otherwise its class is listed with its own words, as every other class is."""
    sources = {c: {"title": VOCABULARY[c].split(), "description": VOCABULARY[c].split(), "photo": c,
                   "own_words": []} for c in codes}
    for (first, second), words in IMAGE_TOLD.items():
        if first in sources and second in sources:
            for code in (first, second):
                sources[code].update(title=words.split(), description=words.split(),
                                     own_words=VOCABULARY[code].split())
    for (first, second), words in DESCRIPTION_TOLD.items():
        if first in sources and second in sources:
            for code in (first, second):
                sources[code].update(title=words.split(), photo=first, own_words=VOCABULARY[code].split())
    return sources


def make_demo(out_dir: str | Path, n_train: int = 2000, n_test: int = 400, n_classes: int = 27,
              image_size: int = 64, label_noise: float = 0.04, image_noise: float = 0.25,
              seed: int = 0) -> Path:
    """Write a challenge-format folder and return its path."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    codes = list(VOCABULARY)[:n_classes]
    weights = WEIGHTS[:n_classes] / WEIGHTS[:n_classes].sum()
    sources = look_alikes(codes)
    # Words a title may borrow; for folders with no complete pair (the tests' 4 or 6 classes) the same
    # list as before the pairs existed, so those folders are unchanged byte for byte.
    all_words = [w for c in codes for w in dict.fromkeys(sources[c]["title"] + VOCABULARY[c].split())]
    n = n_train + n_test
    classes = rng.choice(n_classes, size=n, p=weights)
    # Every class gets a handful of training rows so that 5-fold stratification works.
    classes[: n_classes * 6] = np.repeat(np.arange(n_classes), 6)
    rng.shuffle(classes[:n_train])

    rows, images = [], []
    for i, c in enumerate(classes):
        source = sources[codes[c]]
        drawn_as = rng.integers(n_classes) if rng.random() < image_noise else codes.index(source["photo"])
        rows.append({
            "designation": _title(rng, source["title"], all_words, source["own_words"]),
            "description": _description(rng, source["description"]),
            "productid": int(1_000_000 + i * 7),
            "imageid": int(900_000_000 + i * 13),
        })
        images.append(drawn_as)
    frame = pd.DataFrame(rows)
    labels = np.array([codes[c] for c in classes])
    noisy = rng.random(n) < label_noise
    labels[noisy] = rng.choice(codes, size=int(noisy.sum()))

    for split in ("train", "test"):
        (out / "images" / f"image_{split}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        split = "train" if i < n_train else "test"
        name = f"image_{rows[i]['imageid']}_product_{rows[i]['productid']}.jpg"
        _image(rng, int(images[i]), image_size).save(out / "images" / f"image_{split}" / name, quality=90)

    frame.iloc[:n_train].to_csv(out / "X_train_update.csv")
    pd.DataFrame({"prdtypecode": labels[:n_train]}).to_csv(out / "Y_train_CVw08PX.csv")
    test = frame.iloc[n_train:].copy()
    test.index = range(n_train, n)  # the test index continues after train, as in the challenge
    test.to_csv(out / "X_test_update.csv")
    # Kept beside the folder for demos of scoring; nothing in the pipeline reads it.
    answers = pd.DataFrame({"prdtypecode": labels[n_train:]}, index=test.index)
    answers.to_csv(out / "demo_test_answers.csv")
    return out


def ensure_demo(out_dir: str | Path) -> Path:
    """Make the default demo folder the first time it is needed."""
    out = Path(out_dir)
    if not (out / "X_test_update.csv").is_file():
        print(f"Making the demo data in {out}/ (first use)...")
        make_demo(out)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo_data", help="folder to write (default: demo_data)")
    parser.add_argument("--train", type=int, default=2000, help="training rows (default 2000)")
    parser.add_argument("--test", type=int, default=400, help="test rows (default 400)")
    parser.add_argument("--classes", type=int, default=27, help="number of classes, at most 27")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = make_demo(args.out, args.train, args.test, args.classes, args.image_size, seed=args.seed)
    print(f"Wrote {out}/ with {args.train} training and {args.test} test products.")


if __name__ == "__main__":
    main()
