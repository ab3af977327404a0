"""Tokenizers: the embedded default's WordPiece tokenizer, and loading any tokenizer.

Tokenizers are saved and loaded in the standard ``transformers`` format
(``save_pretrained`` / ``AutoTokenizer.from_pretrained``), so the embedded default's own
tokenizer and LXMERT's (``bert-base-uncased``) load through the same code.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from tokenizers import BertWordPieceTokenizer, normalizers, pre_tokenizers
from transformers import AutoTokenizer, BertTokenizerFast

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import atomic_path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def wordpiece_vocab(texts: Sequence[str], vocab_size: int) -> list[str]:
    """A WordPiece vocabulary of ``texts``, the same list on every run.

    Written here instead of ``BertWordPieceTokenizer.train_from_iterator`` because that
    trainer assigns ids in hash-map order and breaks ties between merges by it
    (huggingface/tokenizers issue 1794), so two runs give two tokenizers and two
    pre-training courses. This vocabulary is the special tokens, every character that
    starts a word, every character that continues one (``##c``), then whole words by
    falling count (ties by spelling) up to ``vocab_size``: any text tokenises without
    [UNK], and the frequent words are single tokens.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    vocab = list(SPECIAL_TOKENS)
    vocab += sorted({w[0] for w in counts})
    vocab += sorted({f"##{c}" for w in counts for c in w[1:]})
    if len(vocab) > vocab_size:
        raise InputError(
            f"tokenizer.vocab_size {vocab_size} is below the {len(vocab)} special tokens and "
            "characters of the questions"
        )
    taken = set(vocab)
    words = sorted((w for w in counts if w not in taken), key=lambda w: (-counts[w], w))
    return vocab + words[: vocab_size - len(vocab)]


def save_wordpiece_tokenizer(
    texts: Sequence[str], out_dir: str | os.PathLike, vocab_size: int
) -> None:
    """A lower-cased WordPiece tokenizer of ``texts``, saved in the standard format."""
    vocab = wordpiece_vocab(texts, vocab_size)
    wordpiece = BertWordPieceTokenizer({t: i for i, t in enumerate(vocab)}, lowercase=True)
    tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer)
    with atomic_path(out_dir, directory=True) as tmp:
        tokenizer.save_pretrained(tmp)


def load_tokenizer(source: str | os.PathLike):
    """A tokenizer by hub id or local directory (``AutoTokenizer``)."""
    try:
        return AutoTokenizer.from_pretrained(str(source))
    except (OSError, ValueError) as err:
        raise InputError(f"{source}: cannot load the tokenizer ({err})") from None
