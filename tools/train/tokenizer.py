"""SentencePiece tokenizer trained on the captions with T5's settings, and the encoding
transformers' slow T5Tokenizer (legacy=True, as IF loads it) applies in the IF pipelines:
lower-case and strip the prompt, SentencePiece ids, </s> (id 1), pad with <pad> (id 0)
to 77 tokens, attention mask 1 on real tokens (and on </s>)."""
import io
import os

import numpy as np
import sentencepiece as spm

from configs import MAX_LENGTH


def train_spiece(corpus, out_path, vocab_size=512):
    """Unigram model, pad=0 eos=1 unk=2, no bos, like T5's spiece.model."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        input=corpus, model_writer=buf, model_type="unigram", vocab_size=vocab_size,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
        unk_piece="<unk>", character_coverage=1.0, hard_vocab_limit=False,
        num_threads=1, minloglevel=2)
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(buf.getvalue())


class Tokenizer:
    def __init__(self, path):
        self.sp = spm.SentencePieceProcessor(model_file=path)

    def __len__(self):
        return self.sp.get_piece_size()

    def encode(self, texts, max_length=MAX_LENGTH):
        """list of str -> input_ids (B, max_length) int64, attention_mask (B, max_length)."""
        ids = np.zeros((len(texts), max_length), dtype=np.int64)
        mask = np.zeros((len(texts), max_length), dtype=np.int64)
        for i, t in enumerate(texts):
            toks = self.sp.encode(t.lower().strip(), out_type=int)[:max_length - 1] + [1]
            ids[i, :len(toks)] = toks
            mask[i, :len(toks)] = 1
        return ids, mask
