"""Offline T5/UMT5-shaped text parts for the tiny pipelines: no hub download."""


def t5_encoder(vocab_size: int, *, umt5: bool = False):
    """A two-layer T5 (or UMT5, for Wan) text encoder with 32-wide embeddings, in eval mode.

    Eval mode matters: dropout would make the same seed give different frames.
    """
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    config_cls, model_cls = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    config = config_cls(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return model_cls(config).eval()


def word_tokenizer(words, *, model_max_length: int | None = None):
    """Return a fast word-level tokenizer: pad 0, eos 1, unk 2, then `words`.

    A `</s>` ends every sequence, as with T5's own tokenizer, so the text encoder sees the
    same layout as with the real one.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    extra = {"model_max_length": model_max_length} if model_max_length else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", **extra
    )
